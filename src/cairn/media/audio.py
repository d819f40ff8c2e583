"""``Audio``: a sound file (``media/audio/...``), from a path or from samples.

Samples (a 1-D mono or 2-D ``(frames, channels)`` array in -1..1) are written as 16-bit
PCM WAV with the standard library's ``wave`` module, which is what wandb's ``soundfile``
call produces for float data; decoded samples match even where header bytes may not.
"""

from __future__ import annotations

import re
import wave
from pathlib import Path
from typing import Any

from cairn.media import _dtypes
from cairn.media._base import ArtifactReader, Media, register, require, tmp_path

_FORMATS = ("wav", "mp3", "ogg", "flac", "m4a", "aac", "opus", "webm")
_REFERENCE = re.compile(r"^(gs|s3|https?)://")


@register
class Audio(Media):
    """Audio from a file path or from samples with ``sample_rate``.

    Raises:
        ValueError: samples without ``sample_rate``, an unknown file format, samples that
            are not 1-D or 2-D.
        ImportError: numpy is missing for sample data (``pip install 'cairn[media]'``).
    """

    _log_type = "audio-file"
    _media_subdir = "media/audio"

    def __init__(
        self, data_or_path: Any, sample_rate: int | None = None, caption: str | None = None
    ) -> None:
        super().__init__(caption=caption)
        self._sample_rate = sample_rate
        self._duration: float | None = None
        if isinstance(data_or_path, str | Path):
            path = str(data_or_path)
            if _REFERENCE.match(path):
                raise ValueError(f"Audio references are not supported: {path!r}")
            suffix = Path(path).suffix.lower().lstrip(".")
            if suffix not in _FORMATS:
                raise ValueError(f"Unknown audio format {suffix!r}; expected one of {_FORMATS}")
            self._set_file(path)
            return
        if sample_rate is None:
            raise ValueError(
                'Argument "sample_rate" is required when instantiating wandb.Audio with raw data.'
            )
        numpy = require("numpy")
        samples = numpy.asarray(data_or_path, dtype=numpy.float64)
        if samples.ndim not in (1, 2):
            raise ValueError("Audio samples must be a 1-D or (frames, channels) array")
        channels = 1 if samples.ndim == 1 else samples.shape[1]
        pcm = numpy.rint(numpy.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
        path = tmp_path(".wav")
        with wave.open(path, "wb") as out:
            out.setnchannels(channels)
            out.setsampwidth(2)
            out.setframerate(int(sample_rate))
            out.writeframes(pcm.tobytes())
        self._duration = len(samples) / float(sample_rate)
        self._set_file(path, is_tmp=True)

    def samples(self) -> tuple[Any, int]:
        """Decode a 16-bit PCM WAV file: ``(float array in -1..1, sample rate)``.

        Raises:
            ValueError: the file is not 16-bit PCM WAV.
        """
        numpy = require("numpy")
        assert self._path is not None
        try:
            with wave.open(self._path, "rb") as source:
                if source.getsampwidth() != 2:
                    raise ValueError("Only 16-bit PCM WAV can be decoded")
                raw = source.readframes(source.getnframes())
                rate, channels = source.getframerate(), source.getnchannels()
        except wave.Error as exc:
            raise ValueError(f"Not a PCM WAV file: {exc}") from None
        data = numpy.frombuffer(raw, dtype="<i2").astype(numpy.float64) / 32767
        return (data if channels == 1 else data.reshape(-1, channels)), rate

    @classmethod
    def from_json(cls, json_obj: Any, source: ArtifactReader) -> Audio:
        """The audio file as stored, with its caption."""
        audio = cls(source.download(json_obj["path"]), caption=json_obj.get("caption"))
        audio._file_ref = source.ref_url(json_obj["path"])
        return audio

    def __eq__(self, other: object) -> bool:
        return super().__eq__(other) and self._caption == getattr(other, "_caption", None)

    __hash__ = None


_dtypes.file_type("audio-file", Audio)
