"""Cairn: the W&B Artifacts API on your own storage. ``import cairn as wandb`` works.

Only the public surface lives here. Everything behind it (the SDK, the database, the
server) is imported when first used, so ``import cairn`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from cairn import connect as _connect  # registers the backends  # noqa: F401
from cairn import errors
from cairn.media import EXPORTS as _MEDIA_EXPORTS

if TYPE_CHECKING:
    from cairn.sdk.api import Api
    from cairn.sdk.artifact import Artifact
    from cairn.sdk.run import Run, finish, init, log_artifact, use_artifact

# The SDK (and what it pulls in: hashing, the blob store's client side, manifests) loads
# on first use of one of these names, so ``import cairn`` costs little more than Python.
_SDK_EXPORTS = {
    "Api": "cairn.sdk.api",
    "Artifact": "cairn.sdk.artifact",
    "Run": "cairn.sdk.run",
    "finish": "cairn.sdk.run",
    "init": "cairn.sdk.run",
    "log_artifact": "cairn.sdk.run",
    "use_artifact": "cairn.sdk.run",
}

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
    the SDK names (``cairn.init``, ``cairn.Artifact``, ...) and ``cairn.Table``,
    ``cairn.Image`` and the other media types are imported on first use."""
    if name == "run":
        from cairn.sdk.run import current_run

        return current_run()
    sdk_module = _SDK_EXPORTS.get(name)
    if sdk_module is not None:
        value = getattr(importlib.import_module(sdk_module), name)
        globals()[name] = value  # later lookups are plain attribute reads
        return value
    module = _MEDIA_EXPORTS.get(name)
    if module is not None:  # media types load on first use (they pull in Pillow, numpy)
        return getattr(importlib.import_module(f"cairn.media.{module}"), name)
    raise AttributeError(f"module 'cairn' has no attribute {name!r}")
