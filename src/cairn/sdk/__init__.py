"""The W&B-compatible SDK: ``Artifact``, runs, ``Api`` and what they hand out.

Importing the package imports the modules that register, in ``cairn.sdk._upward``, what
``Artifact`` returns from the layers above it (collections, public runs, the run a draft is
saved in), so that every ``Artifact`` finds them, however it was imported.
"""

from cairn.sdk import collections, public_run, run  # noqa: F401  (register in _upward)
