"""``Artifact.add`` / ``Artifact.get`` for W&B values (spec §4.5, §4.7): the sdk side of media.

``cairn.media`` turns values into JSON and files through two small ports; this module
implements them on an ``Artifact``:

- adding writes the value's files as entries, then ``<name>.<type>.json``. It is
  all-or-nothing: the manifest (and the local-path index) is snapshotted first and restored
  if anything fails, so bad input leaves the draft as it was. A value that was loaded from
  another logged artifact is stored as a ``wandb-artifact://`` reference to its entry, as
  wandb does; so are the files of loaded media.
- getting finds ``<name>.<type>.json``, downloads it (the whole artifact first for tables,
  as wandb does), parses it with ``json`` (nothing is unpickled or executed) and rebuilds
  the value; entries that reference another artifact are read from that artifact.
"""

from __future__ import annotations

import json
import os
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, Self

from cairn.core.paths import normalize_artifact_path
from cairn.media._base import WBValue, registered_types, tmp_path
from cairn.sdk import _artifact_refs
from cairn.sdk._entry import ARTIFACT_SCHEME, ArtifactManifestEntry, ParentArtifact

if TYPE_CHECKING:
    from collections.abc import Sequence

    from cairn.core.manifest import Manifest
    from cairn.protocol import Backend, VersionInfo


class MediaArtifact(ParentArtifact, Protocol):
    """What this module uses of ``cairn.sdk.artifact.Artifact`` (which imports it)."""

    @classmethod
    def _from_version(cls, info: VersionInfo, backend: Backend) -> Self: ...

    @property
    def manifest(self) -> Manifest: ...

    def add_file(
        self,
        local_path: str | os.PathLike[str],
        name: str | None = None,
        is_tmp: bool | None = False,
        skip_cache: bool | None = False,
        policy: str | None = "mutable",
        overwrite: bool = False,
    ) -> ArtifactManifestEntry: ...

    def add_reference(
        self,
        uri: ArtifactManifestEntry | str,
        name: str | None = None,
        checksum: bool = True,
        max_objects: int | None = None,
    ) -> Sequence[ArtifactManifestEntry]: ...

    def get_added_local_path_name(self, local_path: str) -> str | None: ...

    def get_entry(self, name: str | os.PathLike[str]) -> ArtifactManifestEntry: ...

    def download(
        self,
        root: str | os.PathLike[str] | None = None,
        allow_missing_references: bool = False,
        skip_cache: bool | None = None,
        path_prefix: str | None = None,
        multipart: bool | None = None,
        link: bool = False,
    ) -> str: ...


_PREFIX = f"{ARTIFACT_SCHEME}://"

# Objects already added to a draft, by id (wandb returns the first entry again).
_ADDED: weakref.WeakKeyDictionary[
    MediaArtifact, dict[int, tuple[WBValue, ArtifactManifestEntry]]
] = weakref.WeakKeyDictionary()


class _Writer:
    """``cairn.media._base.ArtifactWriter`` over a draft ``Artifact``."""

    def __init__(self, artifact: MediaArtifact) -> None:
        self.artifact = artifact

    def add_file(self, local_path: str, name: str, is_tmp: bool = False) -> str:
        return self.artifact.add_file(local_path, name=name, is_tmp=is_tmp).path

    def add_reference(self, uri: str, name: str) -> str:
        return self.artifact.add_reference(uri, name=name)[0].path

    def add_value(self, obj: WBValue, name: str) -> tuple[str, str]:
        entry = add(self.artifact, obj, name)
        return entry.path, entry.digest

    def added_name(self, local_path: str) -> str | None:
        return self.artifact.get_added_local_path_name(local_path)

    def has_entry(self, path: str) -> bool:
        return path in self.artifact.manifest.entries


class _Reader:
    """``cairn.media._base.ArtifactReader`` over a logged ``Artifact``."""

    def __init__(self, artifact: MediaArtifact) -> None:
        self.artifact = artifact

    def download(self, path: str) -> str:
        entry = self.artifact.get_entry(path)
        if entry.ref is not None and entry.ref.startswith(_PREFIX):
            target, target_path = _follow(self.artifact, entry.ref)
            return _Reader(target).download(target_path)
        return entry.download()

    def ref_url(self, path: str) -> str | None:
        entry = self.artifact.get_entry(path)
        if entry.ref is not None and entry.ref.startswith(_PREFIX):
            return entry.ref
        return entry.ref_url()

    def get(self, name: str) -> WBValue | None:
        return get(self.artifact, name)

    def list_paths(self, prefix: str) -> list[str]:
        return [path for path in self.artifact.manifest.entries if path.startswith(prefix)]


def _follow(artifact: MediaArtifact, uri: str) -> tuple[MediaArtifact, str]:
    """The logged artifact and entry path a ``wandb-artifact://`` URI finally names.

    Raises:
        ValueError: a malformed URI or a reference cycle.
        MissingReferenceError: the referenced version or entry does not exist.
    """
    backend = artifact._state.logged_backend()
    info, entry = _artifact_refs.resolve(backend, uri)
    return type(artifact)._from_version(info, backend), entry.path


def _allowed() -> tuple[type[WBValue], ...]:
    return tuple(registered_types().values())


def add(
    artifact: MediaArtifact, obj: WBValue, name: str, overwrite: bool = False
) -> ArtifactManifestEntry:
    """Add ``obj`` as ``<name>.<type>.json`` plus the files it points at; return the entry.

    Raises:
        TypeError: ``obj`` is not one of the value types
            (``"Found object of type <cls>, expected one of: (...)"``).
        ValueError: an invalid name; ``<name>.<type>.json`` already holds other content and
            ``overwrite`` is False; invalid media (each leaves the artifact unchanged).
        ArtifactFinalizedError: the artifact is finalized.
        OSError: a media file cannot be read.
    """
    allowed = _allowed()
    if not isinstance(obj, allowed):
        raise TypeError(f"Found object of type {obj.__class__}, expected one of: {allowed}")
    logical = normalize_artifact_path(str(name))
    added = _ADDED.setdefault(artifact, {})
    if id(obj) in added:
        return added[id(obj)][1]
    path = type(obj).with_suffix(logical)
    manifest = artifact.manifest
    saved_entries = dict(manifest.entries)
    saved_paths = dict(artifact._state.added_local_paths)
    try:
        if obj._source is not None:
            source, source_name = obj._source
            source_entry = _source_entry(source, source_name, type(obj))
            entry = artifact.add_reference(source_entry, name=path)[0]
        else:
            entry = _add_json(artifact, obj, logical, path, overwrite)
    except BaseException:
        manifest.entries = saved_entries
        artifact._state.added_local_paths = saved_paths
        raise
    added[id(obj)] = (obj, entry)
    return entry


def _source_entry(source: Any, name: str, cls: type[WBValue]) -> str:
    """The ``wandb-artifact://`` URL of the JSON entry a loaded value came from."""
    reader = source if isinstance(source, _Reader) else None
    assert reader is not None, "values are only loaded through _Reader"
    url = reader.ref_url(cls.with_suffix(name))
    assert url is not None
    return url


def _add_json(
    artifact: MediaArtifact, obj: WBValue, logical: str, path: str, overwrite: bool
) -> ArtifactManifestEntry:
    value = obj.to_json(_Writer(artifact))
    text = json.dumps(value, sort_keys=True)
    local = tmp_path(".json")
    Path(local).write_text(text, encoding="utf-8")
    try:
        existing = artifact.manifest.entries.get(path)
        entry = artifact.add_file(
            local, name=path, is_tmp=logical.startswith("media/tables"), overwrite=True
        )
        if existing is not None and existing.digest != entry.digest and not overwrite:
            raise ValueError(
                f"Cannot add the same path twice: '{path}' (pass overwrite=True to replace it)"
            )
    finally:
        os.remove(local)
    return ArtifactManifestEntry.adopt(entry)


def find(artifact: MediaArtifact, name: str) -> tuple[ArtifactManifestEntry, type[WBValue]] | None:
    """The entry ``<name>.<type>.json`` and its value class, trying every registered type."""
    entries = artifact.manifest.entries
    for cls in registered_types().values():
        entry = entries.get(cls.with_suffix(name))
        if entry is not None:
            return ArtifactManifestEntry.adopt(entry, artifact), cls
    return None


def get(artifact: MediaArtifact, name: str) -> WBValue | None:
    """Load the value stored as ``name``; ``None`` if no ``<name>.<type>.json`` exists.

    Raises:
        ValueError: the JSON entry is not valid JSON, or a referenced entry is malformed.
        MissingReferenceError: a referenced artifact or entry does not exist.
        CorruptionError: stored bytes do not match their digest.
    """
    found = find(artifact, str(name))
    if found is None:
        return None
    entry, cls = found
    if entry.ref is not None and entry.ref.startswith(_PREFIX):
        target, target_path = _follow(artifact, entry.ref)
        return get(target, target_path)
    from cairn.media.table import Table  # noqa: PLC0415 - the media types load on first use

    if cls is Table:
        artifact.download()
    with open(entry.download(), encoding="utf-8") as handle:
        try:
            json_obj = json.load(handle)
        except json.JSONDecodeError as exc:
            raise ValueError(f"Not valid JSON: {entry.path}: {exc}") from None
    reader = _Reader(artifact)
    value = cls.from_json(json_obj, reader)
    value._set_source(reader, str(name))
    return value
