"""``Video``: a video file (``gif``, ``mp4``, ``webm``, ``ogg``) under ``media/videos/``.

From a path the file is kept as is. From frames (a ``(time, channel, height, width)``
uint8 array, wandb's layout) Cairn writes an animated GIF with Pillow, which is wandb's
default format; other formats for frames need an encoder Cairn does not ship and are
refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cairn.media import _dtypes
from cairn.media._base import ArtifactReader, Media, register, require, tmp_path

EXTS = ("gif", "mp4", "webm", "ogg")


@register
class Video(Media):
    """A video from a file path or from frames.

    Raises:
        ValueError: an unknown format, frames that are not 4-D or 5-D, a frame format
            other than ``gif``.
        ImportError: Pillow or numpy is missing for frames (``pip install 'cairn[media]'``).
    """

    _log_type = "video-file"
    _media_subdir = "media/videos"

    def __init__(
        self,
        data_or_path: Any,
        caption: str | None = None,
        fps: int | None = None,
        format: str | None = None,
    ) -> None:
        super().__init__(caption=caption)
        if isinstance(data_or_path, str | Path):
            path = str(data_or_path)
            ext = Path(path).suffix.lower().lstrip(".")
            if ext not in EXTS:
                raise ValueError("wandb.Video accepts {} formats".format(", ".join(EXTS)))
            self._format = ext
            self._set_file(path)
            return
        self._format = format or "gif"
        if self._format != "gif":
            raise ValueError("Cairn encodes video frames only as gif (pass a file for others)")
        numpy = require("numpy")
        frames = numpy.asarray(data_or_path)
        if frames.ndim == 5:
            frames = frames[0]
        if frames.ndim != 4:
            raise ValueError("Video frames must be a (time, channel, height, width) array")
        frames = frames.transpose(0, 2, 3, 1).astype(numpy.uint8)
        if frames.shape[-1] == 1:
            frames = frames[..., 0]
        pil = require("PIL.Image")
        images = [pil.fromarray(frame) for frame in frames]
        path = tmp_path(".gif")
        duration = int(1000 / (fps or 4))
        images[0].save(path, save_all=True, append_images=images[1:], duration=duration, loop=0)
        self._set_file(path, is_tmp=True)

    def frames(self) -> Any:
        """Decode a GIF into a ``(time, height, width, 3)`` uint8 array.

        Raises:
            ValueError: the file is not a GIF.
        """
        if self._format != "gif" or self._path is None:
            raise ValueError("Only gif videos can be decoded")
        numpy = require("numpy")
        pil = require("PIL.Image")
        out = []
        with pil.open(self._path) as image:
            for index in range(getattr(image, "n_frames", 1)):
                image.seek(index)
                out.append(numpy.asarray(image.convert("RGB")))
        return numpy.stack(out)

    @classmethod
    def from_json(cls, json_obj: Any, source: ArtifactReader) -> Video:
        """The video file as stored, with its caption."""
        video = cls(source.download(json_obj["path"]), caption=json_obj.get("caption"))
        video._file_ref = source.ref_url(json_obj["path"])
        return video

    def __eq__(self, other: object) -> bool:
        return super().__eq__(other) and self._caption == getattr(other, "_caption", None)

    __hash__ = None


_dtypes.file_type("video-file", Video)
