"""Adding to a draft: files, folders, references, removal (the verbs behind
``Artifact.add_file`` / ``add_dir`` / ``add_reference`` / ``new_file`` / ``remove``).

Each function takes the draft's ``ArtifactState`` and its manifest and checks everything
before it changes them. ``_adding`` does the per-file work (hashing, copying into the
store, entries), ``_references`` turns URIs into entries. The public methods, their
docstrings and their guards are on ``Artifact``.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from cairn.core.digest import b64_to_hex, entry_algorithm
from cairn.core.manifest import Manifest, ManifestEntry
from cairn.core.paths import normalize_artifact_path
from cairn.sdk import _adding, _references
from cairn.sdk._entry import ArtifactManifestEntry
from cairn.sdk._gc_pause import paused_gc
from cairn.settings import Settings

if TYPE_CHECKING:
    from collections.abc import Callable

    from cairn.protocol import Backend
    from cairn.sdk._artifact_state import ArtifactState


def new_file_path(
    state: ArtifactState, manifest: Manifest, name: str, policy: str
) -> tuple[str, str]:
    """Check ``name`` and ``policy``; return the artifact path and the local path of the
    draft's new temporary file."""
    logical = normalize_artifact_path(name)
    _adding.check_policy(policy)
    if logical not in manifest.entries:
        manifest.check_place(logical)
    if state.tmp_dir is None:
        state.tmp_dir = tempfile.TemporaryDirectory(prefix="cairn-new-file-")
    path = os.path.join(state.tmp_dir.name, logical)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return logical, path


def add_file(
    state: ArtifactState,
    manifest: Manifest,
    source: str,
    name: str | None,
    is_tmp: bool,
    skip_cache: bool,
    policy: str | None,
    overwrite: bool,
) -> ArtifactManifestEntry:
    """Hash (and with ``mutable``, copy into the store) one file and add its entry."""
    if not os.path.isfile(source):
        raise ValueError(f"Path is not a file: {source!r}")
    checked_policy = _adding.check_policy(policy)
    logical = normalize_artifact_path(name or os.path.basename(source))
    algorithm = entry_algorithm(state.digest_algorithm)
    ingested = _adding.ingest(state.draft_backend, Path(source), algorithm, checked_policy)
    if is_tmp:
        folder, file_name = os.path.split(logical)
        parts = file_name.split(".")
        parts[0] = b64_to_hex(ingested.digest)[:20]
        logical = normalize_artifact_path(os.path.join(folder, ".".join(parts)))
    entry = _adding.make_entry(logical, ingested, skip_cache)
    manifest.add_entry(entry, overwrite=overwrite)
    state.added_local_paths[source] = entry
    return entry


def add_dir(
    state: ArtifactState,
    manifest: Manifest,
    root: str,
    name: str | None,
    skip_cache: bool,
    policy: str | None,
    merge: bool,
) -> None:
    """Add every regular file below ``root`` under the prefix ``name``, all or nothing."""
    if not os.path.isdir(root):
        raise ValueError(f"Path is not a directory: {root!r}")
    started = time.monotonic()  # the progress reported covers listing the folder too
    with paused_gc():  # many small objects kept: see _gc_pause
        checked_policy = _adding.check_policy(policy)
        prefix = normalize_artifact_path(name) if name else None
        relatives, physicals, stats = _adding.scan_dir(root)
        logicals = _adding.join_logical_all(prefix, relatives)
        algorithm = entry_algorithm(state.digest_algorithm)
        ingested = _adding.ingest_many(
            state.draft_backend,
            physicals,
            algorithm,
            checked_policy,
            state.progress(),
            f"Adding directory to artifact ({root})",
            started,
            stats,
        )
        make = _adding.make_entry
        entries = [
            make(logical, item, skip_cache)
            for logical, item in zip(logicals, ingested, strict=True)
        ]
        current = manifest.entries
        if not merge and current:
            for entry in entries:
                existing = current.get(entry.path)
                if existing is not None and existing.digest != entry.digest:
                    raise ValueError(f"Cannot add the same path twice: '{entry.path}'")
        manifest.add_entries(entries, listed=True)  # the collision rule is above
        state.added_local_paths.update(zip(physicals, entries, strict=True))


def add_reference(
    state: ArtifactState,
    manifest: Manifest,
    uri: ArtifactManifestEntry | str,
    name: str | None,
    checksum: bool,
    max_objects: int | None,
) -> list[ArtifactManifestEntry]:
    """Add the entries ``uri`` stands for (an entry of a logged artifact: its
    ``ref_url()``, read through that artifact's backend); nothing on error."""
    backend: Callable[[], Backend] = state.draft_backend
    if isinstance(uri, ArtifactManifestEntry):
        parent = uri._parent
        if parent is not None and parent._state.backend is not None:
            backend = parent._state.logged_backend
        uri_str = uri.ref_url()
    else:
        uri_str = str(uri)
    logical = normalize_artifact_path(str(name)) if name is not None else None
    settings = state.backend.settings if state.backend is not None else Settings.load()
    entries = _references.reference_entries(
        uri_str, logical, checksum, max_objects, settings, backend
    )
    for entry in entries:
        existing = manifest.entries.get(entry.path)
        if existing is not None and existing.digest != entry.digest:
            raise ValueError(f"Cannot add the same path twice: '{entry.path}'")
    manifest.add_entries(entries)
    return entries


def remove(manifest: Manifest, item: str | os.PathLike[str] | ManifestEntry) -> None:
    """Remove an entry, a path, or every entry below a directory path."""
    if isinstance(item, ManifestEntry):
        manifest.remove_entry(item.path)
        return
    path = str(PurePosixPath(os.fspath(item)))
    if path in manifest.entries:
        manifest.remove_entry(path)
        return
    below = [p for p in manifest.entries if p.startswith(path.rstrip("/") + "/")]
    if not below:
        raise FileNotFoundError(f"No such file or directory: {path}")
    for p in below:
        manifest.remove_entry(p)
