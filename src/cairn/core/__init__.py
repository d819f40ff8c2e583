"""Pure domain logic shared by every layer: digests, names, metadata, paths, manifests.

Nothing here does I/O or imports any other part of Cairn except ``cairn.errors``.
"""
