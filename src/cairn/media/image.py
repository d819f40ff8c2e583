"""``Image`` with its helpers ``ImageMask``, ``BoundingBoxes2D`` and ``Classes``.

An image is one file: a file the user named is stored as
``media/images/<sha256[:20]>/<basename>``, an image built from pixels (numpy array or PIL
image) is saved as PNG (or ``file_type``) and stored as ``media/images/<md5[:20]>.png``
(spec §4.5). Its JSON holds ``format``, ``width``, ``height``, ``path``, ``sha256`` and the
optional ``caption``, ``masks`` (mask PNGs under ``media/images/mask/``), ``boxes`` (box
lists) and ``classes`` (a ``Classes`` entry under ``media/classes/``). Pixels are converted
as wandb 0.31 does: arrays are squeezed and cast to ``uint8`` (no rescaling).
"""

from __future__ import annotations

import hashlib
import numbers
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cairn.media import _dtypes
from cairn.media._base import ArtifactReader, ArtifactWriter, Media, register, require, tmp_path

if TYPE_CHECKING:
    from collections.abc import Sequence

_DATA_FORMATS = ("png", "jpg", "jpeg", "bmp")
_REFERENCE = re.compile(r"^(gs|s3|https?)://")


def _labels_ok(labels: Any) -> None:
    if not isinstance(labels, dict) or not all(
        isinstance(k, numbers.Number) and isinstance(v, str) for k, v in labels.items()
    ):
        raise TypeError("Class labels must be a dictionary of numbers to strings")


@register
class Classes(Media):
    """The class set of an image's masks and boxes: ``[{"id": 1, "name": "cat"}, ...]``.

    Raises:
        TypeError: an item without ``id`` and ``name``.
    """

    _log_type = "classes"

    def __init__(self, class_set: Sequence[dict[str, Any]]) -> None:
        super().__init__()
        for item in class_set:
            if not isinstance(item, dict) or "id" not in item or "name" not in item:
                raise TypeError("Each class needs an 'id' and a 'name'")
        self._class_set = list(class_set)

    def to_json(self, artifact: ArtifactWriter) -> dict[str, Any]:
        """``{"_type": "classes", "class_set": [...]}``."""
        return {"_type": self._log_type, "class_set": self._class_set}

    @classmethod
    def from_json(cls, json_obj: Any, source: ArtifactReader) -> Classes:
        """Rebuild from ``class_set``."""
        return cls(json_obj.get("class_set") or [])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Classes) and self._class_set == other._class_set

    __hash__ = None


@register
class ImageMask(Media):
    """A segmentation mask: ``{"mask_data": 2-D array, "class_labels": {id: name}}`` or
    ``{"path": png}``.

    Raises:
        TypeError: no ``mask_data``, not 2-D, values outside 0..255, bad class labels.
    """

    _log_type = "mask"
    _media_subdir = "media/images/mask"

    def __init__(self, val: dict[str, Any], key: str) -> None:
        super().__init__()
        self._key = key
        self._val: dict[str, Any] = {}
        if "path" in val:
            self._set_file(str(val["path"]))
            return
        numpy = require("numpy")
        if "mask_data" not in val:
            raise TypeError('Missing key "mask_data": An image mask requires mask data')
        data = numpy.asarray(val["mask_data"])
        if data.ndim != 2:
            raise TypeError("mask_data must be a 2D array")
        if not ((data >= 0).all() and (data <= 255).all()):
            raise TypeError("Mask data must be integers between 0 and 255")
        labels = val.get("class_labels")
        if labels is None:
            labels = {c: f"class_{c}" for c in numpy.unique(data).astype(numpy.int32).tolist()}
        _labels_ok(labels)
        self._val = {**val, "class_labels": labels}
        pil = require("PIL.Image")
        path = tmp_path(".mask.png")
        pil.fromarray(data.astype(numpy.int8)).convert("L").save(path, transparency=None)
        self._set_file(path, is_tmp=True)

    @classmethod
    def from_json(cls, json_obj: Any, source: ArtifactReader) -> ImageMask:
        """A mask backed by the downloaded PNG (class labels are not stored, as in wandb)."""
        mask = cls({"path": source.download(json_obj["path"])}, key="")
        mask._file_ref = source.ref_url(json_obj["path"])
        return mask


def _box_ok(box: Any) -> None:
    message = (
        "Each box must contain a position with: middle, width, and height or "
        "minX, maxX, minY, maxY."
    )
    position = box.get("position") if isinstance(box, dict) else None
    if not isinstance(position, dict):
        raise TypeError(message)

    def num(key: str) -> bool:
        return isinstance(position.get(key), numbers.Number)

    centred = len(position.get("middle") or []) == 2 and num("width") and num("height")
    if not (centred or all(num(k) for k in ("minX", "maxX", "minY", "maxY"))):
        raise TypeError(message)
    scores = box.get("scores", {})
    if not isinstance(scores, dict) or not all(
        isinstance(k, str) and isinstance(v, numbers.Number) for k, v in scores.items()
    ):
        raise TypeError("Box scores must be a dictionary of strings to numbers")
    if "class_id" in box and not isinstance(box["class_id"], int):
        raise TypeError("A box's class_id must be an integer")
    if "box_caption" in box and not isinstance(box["box_caption"], str):
        raise TypeError("A box's caption must be a string")


@register
class BoundingBoxes2D(Media):
    """Boxes on an image: ``{"box_data": [...], "class_labels": {id: name}}``.

    Raises:
        TypeError: boxes that are not a list, a box without a valid position, bad scores,
            class ids or captions, bad class labels.
    """

    _log_type = "bounding-boxes"

    def __init__(self, val: dict[str, Any], key: str) -> None:
        super().__init__()
        boxes = val.get("box_data")
        if not isinstance(boxes, list):
            raise TypeError("Boxes must be a list")
        for box in boxes:
            _box_ok(box)
        labels = val.get("class_labels")
        if labels is None:
            labels = {c: f"class_{c}" for c in sorted({int(b["class_id"]) for b in boxes})}
        _labels_ok(labels)
        self._val = boxes
        self._key = key
        self._class_labels: dict[Any, str] = labels

    def to_json(self, artifact: ArtifactWriter) -> Any:
        """The list of boxes (wandb writes only ``box_data`` into artifacts)."""
        return self._val

    @classmethod
    def from_json(cls, json_obj: Any, source: ArtifactReader) -> BoundingBoxes2D:
        """Rebuild from the list of boxes."""
        return cls({"box_data": json_obj}, "")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BoundingBoxes2D) and self._val == other._val

    __hash__ = None


def _guess_mode(data: Any, file_type: str | None) -> str:
    channels = data.shape[-1]
    if data.ndim == 2 or channels == 1:
        return "L"
    if channels == 3:
        return "RGB"
    if channels == 4:
        return "RGB" if file_type in ("jpg", "jpeg") else "RGBA"
    raise ValueError(f"Un-supported shape for image conversion {list(data.shape)}")


@register
class Image(Media):
    """An image (``wandb.Image``) from a path, a PIL image, or a numpy array.

    Args:
        data_or_path: file path (``png``, ``jpg``, ...; ``gs://``/``s3://``/``http(s)://``
            URLs are stored as references), ``PIL.Image.Image``, numpy array (H, W[, C]),
            or another ``Image`` (copied without masks and boxes).
        mode: PIL mode for arrays (guessed from the channel count).
        caption, grouping: shown with the image.
        classes, boxes, masks: see ``Classes``, ``BoundingBoxes2D``, ``ImageMask``.
        file_type: ``png`` (default), ``jpg``, ``jpeg`` or ``bmp`` for pixel data.

    Raises:
        ValueError: an unknown ``file_type``, a file Pillow cannot read, a bad shape,
            ``boxes``/``masks`` that are not dicts.
        TypeError: bad masks, boxes or classes.
        ImportError: Pillow (or numpy) is missing (``pip install 'cairn[media]'``).
    """

    _log_type = "image-file"
    _media_subdir = "media/images"

    def __init__(
        self,
        data_or_path: Any,
        mode: str | None = None,
        caption: str | None = None,
        grouping: int | None = None,
        classes: Classes | Sequence[dict[str, Any]] | None = None,
        boxes: dict[str, Any] | None = None,
        masks: dict[str, Any] | None = None,
        file_type: str | None = None,
    ) -> None:
        super().__init__(caption=caption)
        self._grouping = grouping
        self._width: int | None = None
        self._height: int | None = None
        self._classes: Classes | None = None
        self._boxes: dict[str, BoundingBoxes2D] | None = None
        self._masks: dict[str, ImageMask] | None = None
        self._image: Any = None
        self.format: str | None = None
        if isinstance(data_or_path, Image):
            self._copy(data_or_path)
        elif isinstance(data_or_path, str | Path):
            path = str(data_or_path)
            if _REFERENCE.match(path):
                self._path, self._sha256 = path, hashlib.sha256(path.encode()).hexdigest()
                self.format = path.split("?", maxsplit=1)[0].rsplit("/", 1)[-1].rsplit(".", 1)[-1]
            else:
                self._from_path(path)
        else:
            self._from_data(data_or_path, mode, file_type)
        self._set_meta(caption, classes, boxes, masks)

    def _copy(self, other: Image) -> None:
        self._grouping, self._caption = other._grouping, other._caption
        self._width, self._height = other._width, other._height
        self._classes, self._path, self._is_tmp = other._classes, other._path, other._is_tmp
        self._sha256, self._size, self.format = other._sha256, other._size, other.format
        self._file_ref = other._file_ref

    def _from_path(self, path: str) -> None:
        pil = require("PIL.Image")
        try:
            with pil.open(path) as image:
                image.load()
                self._width, self._height = image.size
        except (OSError, SyntaxError, ValueError) as exc:
            raise ValueError(f"Not an image file Pillow can read: {path!r} ({exc})") from None
        self._set_file(path)
        self.format = os.path.splitext(path)[1][1:]

    def _from_data(self, data: Any, mode: str | None, file_type: str | None) -> None:
        pil = require("PIL.Image")
        self.format = file_type or "png"
        if self.format not in _DATA_FORMATS:
            raise ValueError(f"file_type must be one of {list(_DATA_FORMATS)}")
        if isinstance(data, pil.Image):
            image = data
        else:
            numpy = require("numpy")
            if hasattr(data, "numpy") and not isinstance(data, numpy.ndarray):
                data = data.numpy()
            if not isinstance(data, numpy.ndarray) and not isinstance(data, list):
                raise ValueError(
                    f"Cannot make an image from {type(data).__name__}: pass a path, a PIL "
                    "image or a numpy array"
                )
            data = numpy.asarray(data)
            if data.ndim > 2:
                data = data.squeeze()
            if data.ndim not in (2, 3):
                raise ValueError(f"Un-supported shape for image conversion {list(data.shape)}")
            mode = mode or _guess_mode(data, file_type)
            image = pil.fromarray(data.astype(numpy.uint8)).convert(mode)
        path = tmp_path("." + self.format)
        image.save(path, transparency=None)
        self._width, self._height = image.size
        self._set_file(path, is_tmp=True)

    def _set_meta(
        self,
        caption: str | None,
        classes: Classes | Sequence[dict[str, Any]] | None,
        boxes: dict[str, Any] | None,
        masks: dict[str, Any] | None,
    ) -> None:
        if caption is not None:
            self._caption = caption
        total: dict[Any, str] = {}
        if boxes:
            if not isinstance(boxes, dict):
                raise ValueError('Images "boxes" argument must be a dictionary')
            self._boxes = {
                k: v if isinstance(v, BoundingBoxes2D) else BoundingBoxes2D(v, k)
                for k, v in boxes.items()
            }
            for box in self._boxes.values():
                total.update(box._class_labels)
        if masks:
            if not isinstance(masks, dict):
                raise ValueError('Images "masks" argument must be a dictionary')
            self._masks = {
                k: v if isinstance(v, ImageMask) else ImageMask(v, k) for k, v in masks.items()
            }
            for mask in self._masks.values():
                total.update(mask._val.get("class_labels", {}))
        if classes is not None:
            items = classes._class_set if isinstance(classes, Classes) else classes
            total.update({item["id"]: item["name"] for item in items})
        if total:
            self._classes = Classes([{"id": k, "name": v} for k, v in total.items()])

    @property
    def image(self) -> Any:
        """The pixels as a ``PIL.Image.Image`` (read from the file when needed)."""
        if self._image is None and self._path is not None and not _REFERENCE.match(self._path):
            pil = require("PIL.Image")
            with pil.open(self._path) as image:
                image.load()
                self._image = image.copy()
        return self._image

    def to_json(self, artifact: ArtifactWriter) -> dict[str, Any]:
        """The image JSON; masks, boxes and classes are added as entries first.

        Raises:
            ValueError: masks or boxes without classes.
        """
        if (self._masks is not None or self._boxes is not None) and self._classes is None:
            raise ValueError(
                "classes must be passed to wandb.Image which have masks or bounding boxes "
                "when adding to artifacts"
            )
        if self._path is not None and _REFERENCE.match(self._path):
            json_obj: dict[str, Any] = {"_type": self._log_type}
            if self._caption is not None:
                json_obj["caption"] = self._caption
            assert self._sha256 is not None
            name = f"{self._media_subdir}/{self._sha256[:20]}/{os.path.basename(self._path)}"
            json_obj["path"] = artifact.add_reference(self._path, name)
            json_obj["sha256"] = self._sha256
        else:
            json_obj = super().to_json(artifact)
        json_obj["format"] = self.format
        if self._width is not None:
            json_obj["width"] = self._width
        if self._height is not None:
            json_obj["height"] = self._height
        if self._grouping:
            json_obj["grouping"] = self._grouping
        if self._classes is not None:
            class_id = hashlib.md5(str(self._classes._class_set).encode()).hexdigest()
            path, digest = artifact.add_value(self._classes, f"media/classes/{class_id}_cls")
            json_obj["classes"] = {"type": "classes-file", "path": path, "digest": digest}
        if self._boxes:
            json_obj["boxes"] = {k: v.to_json(artifact) for k, v in self._boxes.items()}
        if self._masks:
            json_obj["masks"] = {k: v.to_json(artifact) for k, v in self._masks.items()}
        return json_obj

    @classmethod
    def from_json(cls, json_obj: Any, source: ArtifactReader) -> Image:
        """Rebuild the image, its classes, masks and boxes from the artifact."""
        classes = None
        if json_obj.get("classes") is not None:
            found = source.get(json_obj["classes"]["path"])
            classes = found if isinstance(found, Classes) else None
        masks = {
            key: ImageMask.from_json(value, source)
            for key, value in (json_obj.get("masks") or {}).items()
        }
        boxes = {
            key: BoundingBoxes2D.from_json(value, source)
            for key, value in (json_obj.get("boxes") or {}).items()
        }
        image = cls(
            source.download(json_obj["path"]),
            caption=json_obj.get("caption"),
            grouping=json_obj.get("grouping"),
            classes=classes,
            boxes=boxes or None,
            masks=masks or None,
        )
        image._file_ref = source.ref_url(json_obj["path"])
        return image

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Image):
            return False
        if self._path and other._path and _REFERENCE.match(self._path):
            return self._path == other._path
        mine, theirs = self.image, other.image
        return (
            self._grouping == other._grouping
            and self._caption == other._caption
            and self._width == other._width
            and self._height == other._height
            and (mine is None) == (theirs is None)
            and (mine is None or _same_pixels(mine, theirs))
            and self._classes == other._classes
        )

    __hash__ = None


def _same_pixels(mine: Any, theirs: Any) -> bool:
    """Whether two PIL images hold the same pixels (same mode, size and bytes)."""
    return bool(
        mine.mode == theirs.mode and mine.size == theirs.size and mine.tobytes() == theirs.tobytes()
    )


def _const(value: Any) -> Any:
    return value.params["val"] if isinstance(value, _dtypes.ConstType) else value


class _ImageFileType(_dtypes.Type):
    """The column type of image cells: which box/mask layers and classes appear."""

    name = "image-file"
    legacy_names = ["wandb.Image"]  # noqa: RUF012 - mirrors the base class attribute
    types = [Image]  # noqa: RUF012

    def __init__(
        self,
        box_layers: Any = None,
        box_score_keys: Any = None,
        mask_layers: Any = None,
        box_class_maps: Any = None,
        mask_class_maps: Any = None,
        class_map: Any = None,
    ) -> None:
        super().__init__()
        box_layers = _const(box_layers) or {}
        mask_layers = _const(mask_layers) or {}
        box_class_maps = _const(box_class_maps) or {}
        mask_class_maps = _const(mask_class_maps) or {}

        def class_maps(maps: dict[Any, Any]) -> dict[str, dict[str, Any]]:
            return {str(k): {str(i): n for i, n in v.items()} for k, v in maps.items()}

        self.params.update(
            {
                "box_layers": _dtypes.ConstType({k: set(v) for k, v in box_layers.items()}),
                "box_score_keys": _dtypes.ConstType(set(_const(box_score_keys) or [])),
                "mask_layers": _dtypes.ConstType({k: set(v) for k, v in mask_layers.items()}),
                "box_class_maps": _dtypes.ConstType(class_maps(box_class_maps)),
                "mask_class_maps": _dtypes.ConstType(class_maps(mask_class_maps)),
                "class_map": _dtypes.ConstType(dict(_const(class_map) or {})),
            }
        )

    def _val(self, key: str) -> Any:
        return self.params[key].params["val"] or {}

    def assign_type(self, other: _dtypes.Type) -> _dtypes.Type:
        if not isinstance(other, _ImageFileType):
            return _dtypes.InvalidType()

        def layers(key: str) -> dict[str, set[Any]]:
            mine, theirs = self._val(key), other._val(key)
            return {str(k): set(mine.get(k, ())) | set(theirs.get(k, ())) for k in {*mine, *theirs}}

        def maps(key: str) -> dict[str, dict[str, Any]]:
            mine, theirs = self._val(key), other._val(key)
            return {str(k): {**theirs.get(k, {}), **mine.get(k, {})} for k in {*mine, *theirs}}

        mine_map, their_map = self._val("class_map"), other._val("class_map")
        return _ImageFileType(
            layers("box_layers"),
            set(self._val("box_score_keys")) | set(other._val("box_score_keys")),
            layers("mask_layers"),
            maps("box_class_maps"),
            maps("mask_class_maps"),
            {str(k): mine_map.get(k, their_map.get(k)) for k in {*mine_map, *their_map}},
        )

    @classmethod
    def from_obj(cls, obj: Any) -> _dtypes.Type:
        boxes = obj._boxes or {}
        masks = obj._masks or {}
        return cls(
            {str(k): set(v._class_labels) for k, v in boxes.items()},
            {key for v in boxes.values() for box in v._val for key in box.get("scores", {})},
            {str(k): set(v._val.get("class_labels", {})) for k, v in masks.items()},
            {str(k): v._class_labels for k, v in boxes.items()},
            {
                str(k): v._val["class_labels"]
                for k, v in masks.items()
                if v._val.get("class_labels")
            },
            {str(i["id"]): i["name"] for i in obj._classes._class_set} if obj._classes else {},
        )


_dtypes.add(_ImageFileType)
