"""``Object3D``: a point cloud stored as ``media/object3D/<md5[:20]>.pts.json``.

wandb 0.31 accepts only point clouds in artifacts (``Non-point cloud 3D objects are not yet
supported with Artifacts``); Cairn refuses other 3-D files when they are added to an
artifact, before any file is added.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cairn.media import _dtypes
from cairn.media._base import ArtifactReader, ArtifactWriter, Media, register, require, tmp_path

SUPPORTED_TYPES = ("obj", "gltf", "glb", "babylon", "stl", "pts.json")


@register
class Object3D(Media):
    """A 3-D object from an ``(n, 3|4|6)`` numpy array of points or a ``.pts.json`` file.

    Raises:
        ValueError: an array of another shape, a file of an unsupported type, or (in
            ``to_json``) a non-point-cloud file, which wandb does not store in artifacts.
        ImportError: numpy is missing for arrays (``pip install 'cairn[media]'``).
    """

    _log_type = "object3D-file"
    _media_subdir = "media/object3D"

    def __init__(self, data_or_path: Any, caption: str | None = None) -> None:
        super().__init__(caption=caption)
        if isinstance(data_or_path, str | Path):
            path = str(data_or_path)
            if not any(path.endswith("." + ext) for ext in SUPPORTED_TYPES):
                raise ValueError(
                    "Object 3D only supports numpy arrays or files of the type: "
                    + ", ".join(SUPPORTED_TYPES)
                )
            self._set_file(path)
            return
        numpy = require("numpy")
        points = numpy.asarray(data_or_path)
        if points.ndim != 2 or points.shape[1] not in (3, 4, 6):
            raise ValueError("The shape of the numpy array must be nx3, nx4 or nx6")
        path = tmp_path(".pts.json")
        Path(path).write_text(json.dumps(points.tolist(), separators=(",", ":")), "utf-8")
        self._set_file(path, is_tmp=True)

    def points(self) -> Any:
        """The points as a numpy array (parsed from the JSON file, never executed)."""
        assert self._path is not None
        return require("numpy").asarray(json.loads(Path(self._path).read_text("utf-8")))

    def to_json(self, artifact: ArtifactWriter) -> dict[str, Any]:
        """Media JSON of the ``.pts.json`` file.

        Raises:
            ValueError: not a point cloud (checked before anything is added).
        """
        if self._path is None or not self._path.endswith(".pts.json"):
            raise ValueError("Non-point cloud 3D objects are not yet supported with Artifacts")
        return super().to_json(artifact)

    @classmethod
    def from_json(cls, json_obj: Any, source: ArtifactReader) -> Object3D:
        """The point cloud file as stored."""
        obj = cls(source.download(json_obj["path"]))
        obj._file_ref = source.ref_url(json_obj["path"])
        return obj


_dtypes.file_type("object3D-file", Object3D)
