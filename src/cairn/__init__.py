"""Cairn: the W&B Artifacts API on your own storage. ``import cairn as wandb`` works.

Only the public surface lives here. Heavy modules (the database, the server) are imported
when first used, so ``import cairn`` stays fast.
"""

from __future__ import annotations

from typing import Any

from cairn import connect as _connect  # registers the backends  # noqa: F401
from cairn import errors
from cairn.media import EXPORTS as _MEDIA_EXPORTS
from cairn.sdk.api import Api
from cairn.sdk.artifact import Artifact
from cairn.sdk.run import Run, finish, init, log_artifact, use_artifact

__version__ = "0.1.0"

__all__ = [
    "Api",
    "Artifact",
    "Audio",
    "Bokeh",
    "BoundingBoxes2D",
    "Classes",
    "Html",
    "Image",
    "ImageMask",
    "JoinedTable",
    "Object3D",
    "PartitionedTable",
    "Run",
    "Table",
    "Video",
    "__version__",
    "errors",
    "finish",
    "init",
    "log_artifact",
    "run",
    "use_artifact",
]


def __getattr__(name: str) -> Any:
    """``cairn.run`` is the current run (``None`` when no run is active), as ``wandb.run``;
    ``cairn.Table``, ``cairn.Image`` and the other media types are imported on first use."""
    if name == "run":
        from cairn.sdk.run import current_run

        return current_run()
    module = _MEDIA_EXPORTS.get(name)
    if module is not None:  # media types load on first use (they pull in Pillow, numpy)
        import importlib

        return getattr(importlib.import_module(f"cairn.media.{module}"), name)
    raise AttributeError(f"module 'cairn' has no attribute {name!r}")
