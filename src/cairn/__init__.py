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
    from cairn.sdk.login import login
    from cairn.sdk.run import Run, init
    from cairn.sdk.run_globals import (
        define_metric,
        finish,
        link_model,
        log,
        log_artifact,
        log_model,
        use_artifact,
        use_model,
    )

# The SDK (and what it pulls in: hashing, the blob store's client side, manifests) loads
# on first use of one of these names, so ``import cairn`` costs little more than Python.
_SDK_EXPORTS = {
    "Api": "cairn.sdk.api",
    "Artifact": "cairn.sdk.artifact",
    "Run": "cairn.sdk.run",
    "init": "cairn.sdk.run",
    "login": "cairn.sdk.login",
    "define_metric": "cairn.sdk.run_globals",
    "finish": "cairn.sdk.run_globals",
    "link_model": "cairn.sdk.run_globals",
    "log": "cairn.sdk.run_globals",
    "log_artifact": "cairn.sdk.run_globals",
    "log_model": "cairn.sdk.run_globals",
    "use_artifact": "cairn.sdk.run_globals",
    "use_model": "cairn.sdk.run_globals",
}
# Names whose value is the current run's (looked up on every use, as ``wandb.run``).
_CURRENT = ("run", "config", "summary")

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
    "config",
    "define_metric",
    "errors",
    "finish",
    "init",
    "link_model",
    "log",
    "log_artifact",
    "log_model",
    "login",
    "run",
    "summary",
    "use_artifact",
    "use_model",
]


def __getattr__(name: str) -> Any:
    """``cairn.run`` is the current run (``None`` when no run is active), as ``wandb.run``;
    ``cairn.config`` and ``cairn.summary`` are its config and summary (placeholders that
    refuse every use while no run is active, as wandb's); the SDK names (``cairn.init``,
    ``cairn.log``, ``cairn.Artifact``, ...) and ``cairn.Table``, ``cairn.Image`` and the
    other media types are imported on first use."""
    if name in _CURRENT:
        from cairn.sdk import run_globals  # noqa: PLC0415 - loaded on first use: `import cairn` stays fast
        from cairn.sdk.run import current_run  # noqa: PLC0415 - loaded on first use: `import cairn` stays fast

        if name == "run":
            return current_run()
        return run_globals.config() if name == "config" else run_globals.summary()
    sdk_module = _SDK_EXPORTS.get(name)
    if sdk_module is not None:
        value = getattr(importlib.import_module(sdk_module), name)
        globals()[name] = value  # later lookups are plain attribute reads
        return value
    module = _MEDIA_EXPORTS.get(name)
    if module is not None:  # media types load on first use (they pull in Pillow, numpy)
        return getattr(importlib.import_module(f"cairn.media.{module}"), name)
    raise AttributeError(f"module 'cairn' has no attribute {name!r}")
