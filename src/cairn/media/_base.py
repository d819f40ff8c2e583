"""The base of every W&B value type, the registry of types, and the artifact ports.

A value (``Table``, ``Image``, ...) turns into JSON plus files and back (spec §4.5, §4.7).
It never touches an artifact directly: ``to_json`` writes through an :class:`ArtifactWriter`
and ``from_json`` reads through an :class:`ArtifactReader`, two small protocols the sdk
implements on top of ``Artifact``. That keeps ``media`` below ``sdk`` (layer rule) and lets
the sdk make ``Artifact.add`` all-or-nothing.

The registry maps each ``_log_type`` (the ``<type>`` of ``<name>.<type>.json``) to its class,
so ``Artifact.get`` can find ``<name>.<type>.json`` and rebuild the value. Heavy libraries
(Pillow, numpy, pandas, bokeh) are imported on first use through :func:`require`.
"""

from __future__ import annotations

import atexit
import hashlib
import importlib
import os
import shutil
import tempfile
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

if TYPE_CHECKING:
    from types import ModuleType

MEDIA_EXTRA = "pip install 'cairn[media]'"

_REGISTRY: dict[str, type[WBValue]] = {}
_tmp_dir: str | None = None


class ArtifactWriter(Protocol):
    """What a value may do to the artifact it is being added to."""

    def add_file(self, local_path: str, name: str, is_tmp: bool = False) -> str:
        """Add a local file as ``name``; return the entry path it got."""

    def add_reference(self, uri: str, name: str) -> str:
        """Add a reference as ``name``; return the entry path."""

    def add_value(self, obj: WBValue, name: str) -> tuple[str, str]:
        """Add a nested value as ``name`` (suffixed); return ``(entry path, digest)``."""

    def added_name(self, local_path: str) -> str | None:
        """The entry path a local file was already added under, if any."""

    def has_entry(self, path: str) -> bool:
        """Whether the artifact has an entry at ``path``."""


class ArtifactReader(Protocol):
    """What a value may read from the logged artifact it is being loaded from."""

    def download(self, path: str) -> str:
        """Download the entry at ``path``; return the local file path."""

    def ref_url(self, path: str) -> str | None:
        """The ``wandb-artifact://`` URL of the entry at ``path`` (None if not available)."""

    def get(self, name: str) -> WBValue | None:
        """Load the value stored as ``name`` (``<name>.<type>.json``)."""

    def list_paths(self, prefix: str) -> list[str]:
        """The entry paths starting with ``prefix``, in manifest order."""


def require(module: str) -> ModuleType:
    """Import ``module`` (``PIL.Image``, ``numpy``, ...) or say which extra provides it.

    Raises:
        ImportError: the module is missing; the message names ``cairn[media]``.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.split(".", maxsplit=1)[0]
        raise ImportError(
            f"This media type needs the {top!r} package, which is not installed: {MEDIA_EXTRA}"
        ) from exc


def media_tmp_dir() -> str:
    """A per-process directory for generated media files (removed at exit)."""
    global _tmp_dir  # noqa: PLW0603 - the media types load on first use
    if _tmp_dir is None:
        _tmp_dir = tempfile.mkdtemp(prefix="cairn-media-")
        atexit.register(shutil.rmtree, _tmp_dir, True)
    return _tmp_dir


def tmp_path(suffix: str) -> str:
    """A fresh file name in :func:`media_tmp_dir` ending with ``suffix``."""
    handle, path = tempfile.mkstemp(suffix=suffix, dir=media_tmp_dir())
    os.close(handle)
    return path


def register(cls: type[WBValue]) -> type[WBValue]:
    """Class decorator: make ``cls`` findable by its ``_log_type``."""
    assert cls._log_type is not None
    _REGISTRY[cls._log_type] = cls
    return cls


def registered_types() -> dict[str, type[WBValue]]:
    """Every registered value class by log type (imports all media modules first)."""
    from cairn.media import load_all  # noqa: PLC0415 - the media types load on first use

    load_all()
    return dict(_REGISTRY)


class WBValue:
    """A value that serialises to JSON (and files) inside an artifact (``wandb.WBValue``).

    ``_source`` is set on values loaded by ``Artifact.get``: ``(reader, name)``; adding such a
    value to another artifact stores a reference to its entry instead of a copy.
    """

    _log_type: ClassVar[str | None] = None

    def __init__(self) -> None:
        self._source: tuple[ArtifactReader, str] | None = None

    @classmethod
    def with_suffix(cls, name: str, filetype: str = "json") -> str:
        """``name.<log type>.<filetype>`` (the entry path ``Artifact.add`` uses)."""
        suffix = f"{cls._log_type}.{filetype}" if cls._log_type else filetype
        return name if name.endswith(suffix) else f"{name}.{suffix}"

    def to_json(self, artifact: ArtifactWriter) -> Any:
        """The JSON form, adding the files it points at to ``artifact``."""
        raise NotImplementedError(type(self).__name__)

    @classmethod
    def from_json(cls, json_obj: Any, source: ArtifactReader) -> WBValue:
        """Rebuild a value from its JSON form, downloading files from ``source``."""
        raise NotImplementedError(cls.__name__)

    def _set_source(self, source: ArtifactReader, name: str) -> None:
        self._source = (source, name)


class Media(WBValue):
    """A value backed by one file (``wandb.data_types.Media``).

    Generated files (``is_tmp``) are stored as ``<subdir>/<md5[:20]><ext>``; files the user
    named as ``<subdir>/<sha256[:20]>/<basename>`` (spec §4.5). A file that came from another
    logged artifact is stored as a reference to that artifact's entry.
    """

    _media_subdir: ClassVar[str] = "media"

    def __init__(self, caption: str | None = None) -> None:
        super().__init__()
        self._caption = caption
        self._path: str | None = None
        self._is_tmp = False
        self._sha256: str | None = None
        self._size: int | None = None
        self._file_ref: str | None = None

    def _set_file(self, path: str, is_tmp: bool = False) -> None:
        with open(path, "rb") as handle:
            self._sha256 = hashlib.sha256(handle.read()).hexdigest()
        self._path = path
        self._is_tmp = is_tmp
        self._size = os.path.getsize(path)

    def _load_file(self, json_obj: dict[str, Any], source: ArtifactReader) -> str:
        """Download the file ``json_obj["path"]`` names and remember where it came from."""
        path = str(json_obj["path"])
        local = source.download(path)
        self._set_file(local)
        self._file_ref = source.ref_url(path)
        return local

    def to_json(self, artifact: ArtifactWriter) -> dict[str, Any]:
        """``caption``, ``path``, ``sha256`` and ``_type`` (wandb ``Media.to_json``)."""
        json_obj: dict[str, Any] = {}
        if self._caption is not None:
            json_obj["caption"] = self._caption
        if self._path is not None and self._sha256 is not None:
            name = artifact.added_name(self._path)
            if name is None:
                base = os.path.basename(self._path)
                if self._is_tmp:
                    name = f"{self._media_subdir}/{base}"
                else:
                    name = f"{self._media_subdir}/{self._sha256[:20]}/{base}"
                if self._file_ref is not None:
                    name = artifact.add_reference(self._file_ref, name)
                else:
                    name = artifact.add_file(self._path, name, self._is_tmp)
            json_obj["path"] = name
            json_obj["sha256"] = self._sha256
        json_obj["_type"] = self._log_type
        return json_obj

    def __eq__(self, other: object) -> bool:
        return isinstance(other, type(self)) and self._sha256 == other._sha256

    __hash__ = None  # type: ignore[assignment]
