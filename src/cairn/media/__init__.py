"""W&B value types (``Table``, ``Image``, ...) as JSON and files inside artifacts.

Modules load on first use (``import cairn`` stays fast); :func:`load_all` imports every one
so the registry knows all ``_log_type`` suffixes.
"""

from __future__ import annotations

import importlib

MODULES = ("table", "image", "audio", "video", "html", "object3d", "bokeh")

# public name -> module that defines it
EXPORTS = {
    "Table": "table",
    "JoinedTable": "table",
    "PartitionedTable": "table",
    "Image": "image",
    "ImageMask": "image",
    "BoundingBoxes2D": "image",
    "Classes": "image",
    "Audio": "audio",
    "Video": "video",
    "Html": "html",
    "Object3D": "object3d",
    "Bokeh": "bokeh",
}


def load_all() -> None:
    """Import every media module (each registers its types)."""
    for module in MODULES:
        importlib.import_module(f"cairn.media.{module}")
