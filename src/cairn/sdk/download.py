"""Putting a logged artifact's files on disk, and checking files on disk against it.

Used by ``Artifact.download``/``checkout``/``verify`` (spec §4.14) and by entry and file
downloads. A download is one ``Backend.materialize`` call for every stored file, those
that ``wandb-artifact://`` references name included (resolved first, a metadata call per
referenced version); external references (file, http, s3, gs, azure) are fetched here
through their handler and the client cache (``_references``). Both write by the rules of
``cairn.storage.writing`` (no write through a symlink, temporary file then rename, a file
already holding its digest kept).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from cairn.core.paths import safe_join
from cairn.errors import VerificationError
from cairn.progress import ProgressCallback, ProgressEvent, TaskCounter, silent
from cairn.protocol import Backend, Placement
from cairn.sdk import _artifact_refs, _references
from cairn.storage.cache.client_cache import ClientCache
from cairn.storage.hashing import hash_file
from cairn.storage.writing import TASK, write_files

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable

    from cairn.core.manifest import ManifestEntry


class _External(NamedTuple):
    """An external reference to write: its path below root and the entry to fetch."""

    path: str
    digest: str
    algorithm: str
    size: int
    entry: ManifestEntry


def _sorted_out(
    backend: Backend,
    entity: str,
    entries: Iterable[ManifestEntry],
    allow_missing_references: bool,
) -> tuple[list[Placement], list[_External]]:
    """The stored files (``wandb-artifact://`` references resolved to the blob they name,
    in that version's entity) and the external references of ``entries``.

    Raises: ``ValueError`` (malformed or cyclic artifact reference), and
    ``MissingReferenceError`` for a vanished target unless ``allow_missing_references``
    (then a warning, and the entry is left out).
    """
    stored: list[Placement] = []
    external: list[_External] = []
    for entry in entries:
        where, target = entity, entry
        if entry.ref is not None and _artifact_refs.is_artifact_ref(entry.ref):
            try:
                version, target = _artifact_refs.resolve(backend, entry.ref)
            except FileNotFoundError as exc:  # MissingReferenceError
                if not allow_missing_references:
                    raise
                warnings.warn(f"Skipped '{entry.path}': {exc}", UserWarning, stacklevel=3)
                continue
            where = version.source_entity
        if target.ref is None:
            size = target.size or 0
            stored.append(Placement(entry.path, where, target.digest, target.algorithm(), size))
        else:
            external.append(
                _External(entry.path, target.digest, target.algorithm(), target.size or 0, target)
            )
    return stored, external


def download_entry(backend: Backend, entity: str, entry: ManifestEntry, root: Path) -> Path:
    """Write ``entry`` to its place below ``root`` (unless already there); return the path.

    Raises:
        ValueError: a symlink inside ``root`` on the destination's path; an unreadable
            reference scheme; a ``file://`` reference whose source is missing or changed
            (spec §5.5); a malformed artifact reference.
        MissingReferenceError: the target of an artifact reference is gone.
        CorruptionError: the store returned bytes that do not match the digest.
        NotADirectoryError, IsADirectoryError: a file or folder in the way.
        OSError: the destination cannot be written.
    """
    _write(backend, entity, [entry], root, False, silent, False, warn_skips=False)
    return safe_join(root, entry.path)


def download_entries(
    backend: Backend,
    entity: str,
    entries: Collection[ManifestEntry],
    root: Path,
    allow_missing_references: bool,
    progress: ProgressCallback,
    link: bool = False,
) -> None:
    """Download ``entries`` below ``root`` (spec §4.14 skip rules): every stored file in
    one ``Backend.materialize`` call, then the external references.

    ``link`` hard-links locally stored loose blobs instead of copying them, and writes
    every file read-only. A destination that is a directory, or below a file, is skipped
    with a warning; with ``allow_missing_references`` a ``FileNotFoundError`` is a warning
    too. Raises the first other error met (see :func:`download_entry`).
    """
    _write(backend, entity, entries, root, allow_missing_references, progress, link)


def _write(
    backend: Backend,
    entity: str,
    entries: Iterable[ManifestEntry],
    root: Path,
    allow_missing: bool,
    progress: ProgressCallback,
    link: bool,
    *,
    warn_skips: bool = True,
) -> None:
    stored, external = _sorted_out(backend, entity, entries, allow_missing)
    if not external:
        backend.materialize(
            root,
            stored,
            link=link,
            allow_missing=allow_missing,
            warn_skips=warn_skips,
            progress=progress,
        )
        return
    whole = TaskCounter(
        TASK,
        progress,
        len(stored) + len(external),
        sum(f.size for f in stored) + sum(f.size for f in external),
    )
    if stored:
        backend.materialize(
            root,
            stored,
            link=link,
            allow_missing=allow_missing,
            warn_skips=warn_skips,
            progress=_Part(whole, 0, 0),
        )
    settings = backend.settings
    # The client cache: pin what this download puts or uses there, and enforce the cache's
    # cap (LRU) when the download ends.
    with ClientCache.for_settings(settings).download_session():
        write_files(
            root,
            external,
            lambda file, tmp: _references.fetcher(settings, file.entry)(tmp),
            link=link,
            allow_missing=allow_missing,
            warn_skips=warn_skips,
            progress=_Part(whole, len(stored), sum(f.size for f in stored)),
        )
    whole.finish()


class _Part:
    """The progress of one part of a download, reported as the whole's (its ``done`` is
    the whole's to send): counts offset by what the parts before it did."""

    def __init__(self, whole: TaskCounter, files_before: int, bytes_before: int) -> None:
        self._whole = whole
        self._files_before = files_before
        self._bytes_before = bytes_before

    def __call__(self, event: ProgressEvent) -> None:
        if event.done:
            return
        self._whole.reach(
            self._files_before + event.files_done, self._bytes_before + event.bytes_done
        )


def remove_extraneous(root: Path, keep: Collection[str]) -> None:
    """Delete every file below ``root`` whose relative POSIX path is not in ``keep``.

    Symlinks below ``root`` are never followed: each one (to a file or a directory) is
    removed itself, since an artifact file is never a link. Directories are kept.
    Raises ``OSError`` if something cannot be deleted.
    """
    if not root.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(root):
        for dirname in list(dirnames):
            link = os.path.join(dirpath, dirname)
            if os.path.islink(link):
                os.unlink(link)
                dirnames.remove(dirname)
        for filename in filenames:
            full = os.path.join(dirpath, filename)
            relative = Path(os.path.relpath(full, start=root)).as_posix()
            if os.path.islink(full) or relative not in keep:
                os.unlink(full)


def verify_tree(
    root: Path, entries: Iterable[ManifestEntry], members: Collection[str], name: str
) -> None:
    """Check that ``root`` holds exactly the artifact's files with their digests (spec §4.14).

    Reference entries are skipped with the warning ``skipped verification of N refs``;
    empty directories are ignored.

    Raises:
        ValueError: ``"Found file <full path> which is not a member of artifact <name>"``.
        VerificationError: files of the artifact are missing or changed (every one named;
            it is a ``ValueError`` and a ``FileNotFoundError``); the message starts with
            ``"Digest mismatch for file: <path>"`` when only bytes changed, and names
            ``root`` alone when it is not a folder (every file is then missing).
    """
    absent = [] if root.is_dir() else [entry.path for entry in entries if entry.ref is None]
    if absent:
        what = "is not a folder" if root.exists() else "does not exist"
        raise VerificationError(f"Cannot verify artifact {name}: {root} {what}", absent, [])
    for dirpath, _dirnames, filenames in os.walk(root):
        for filename in filenames:
            full = os.path.join(dirpath, filename)
            relative = Path(os.path.relpath(full, start=root)).as_posix()
            if relative not in members:
                raise ValueError(f"Found file {full} which is not a member of artifact {name}")
    refs = 0
    missing: list[str] = []
    changed: list[str] = []
    for entry in entries:
        if entry.ref is not None:
            refs += 1
            continue
        try:
            digest, _size = hash_file(safe_join(root, entry.path), entry.algorithm())
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            missing.append(entry.path)
            continue
        if digest != entry.digest:
            changed.append(entry.path)
    if missing or changed:
        raise _verification_error(name, missing, changed)
    if refs:
        warnings.warn(f"skipped verification of {refs} refs", UserWarning, stacklevel=3)


def _verification_error(name: str, missing: list[str], changed: list[str]) -> VerificationError:
    """The error naming every missing and changed file of a verified folder."""
    parts = []
    if changed:
        parts.append(f"Digest mismatch for file: {_listed(changed)}")
    if missing:
        parts.append(f"missing file(s) of artifact {name}: {_listed(missing)}")
    message = "; ".join(parts)
    return VerificationError(message[0].upper() + message[1:], missing, changed)


def _listed(paths: list[str], shown: int = 20) -> str:
    text = ", ".join(paths[:shown])
    return text if len(paths) <= shown else f"{text} and {len(paths) - shown} more"
