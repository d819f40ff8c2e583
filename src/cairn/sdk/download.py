"""Putting a logged artifact's files on disk, and checking files on disk against it.

Used by ``Artifact.download``/``checkout``/``verify`` (spec §4.14) and by entry and file
downloads. Rules that hold for every write (issue 2, "Must hold"):

- every destination comes from :func:`cairn.core.paths.safe_join`, so it stays under root;
- nothing is written or deleted *through* a symlink inside root: a destination whose path
  below root contains a symlink is refused with ``ValueError`` naming it (``checkout``
  deletes links themselves, never their targets);
- bytes go to a temporary file in the destination directory that is checked against the
  entry digest and then renamed over the final name, so an interrupted download or a full
  disk never leaves a truncated file under a final name;
- a destination that already holds the entry's digest is left untouched.

A download into a new or empty folder from a store that exports blobs in bulk is written
whole into a staging folder and renamed into place instead (``_bulk_download``), which
keeps the same guarantees with one file creation per file.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
import warnings
from collections.abc import Callable, Collection, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from cairn.core.manifest import ManifestEntry
from cairn.core.paths import safe_join
from cairn.errors import ChangedReferenceError, CorruptionError, VerificationError
from cairn.progress import ProgressCallback, ProgressEvent
from cairn.protocol import Backend, BlobRef, CheckedFetch
from cairn.sdk import _artifact_refs, _bulk_download, _references
from cairn.sdk._placing import place_local_blob
from cairn.storage.cache.client_cache import ClientCache
from cairn.storage.hashing import hash_file

DOWNLOAD_WORKERS = 8
_FILE_MODE = 0o644
_READ_ONLY_MODE = 0o444  # every file a ``link`` download writes, linked or copied


def destination(root: Path, logical_path: str) -> Path:
    """The file ``logical_path`` names below ``root``, after checking the way there.

    Raises:
        ValueError: the path is invalid, or a component below ``root`` (the destination
            included) is a symlink; the message names the symlink.
        NotADirectoryError: a parent component exists and is not a directory.
        IsADirectoryError: the destination is a directory.
    """
    dest = safe_join(root, logical_path)
    current = root
    parts = dest.relative_to(root).parts
    for index, part in enumerate(parts):
        current = current / part
        if current.is_symlink():
            raise ValueError(
                f"Refusing to write through a symlink inside the download root: '{current}'"
            )
        last = index == len(parts) - 1
        if not last and current.exists() and not current.is_dir():
            raise NotADirectoryError(f"Not a directory: '{current}'")
        if last and current.is_dir():
            raise IsADirectoryError(f"Is a directory: '{current}'")
    return dest


def has_digest(path: Path, entry: ManifestEntry) -> bool:
    """Tell whether the regular file at ``path`` already holds ``entry``'s content."""
    if not path.is_file():
        return False
    try:
        digest, _size = hash_file(path, entry.algorithm())
    except OSError:
        return False
    return digest == entry.digest


def _temp_beside(dest: Path) -> Path:
    return dest.parent / f".{dest.name}.{uuid.uuid4().hex[:12]}.cairn-tmp"


def _fetcher(
    backend: Backend, entity: str, entry: ManifestEntry, link: bool = False
) -> Callable[[Path], None]:
    """The function that writes ``entry``'s verified bytes to a fresh path.

    A stored blob is reflinked (or hard-linked with ``link``) from a local store when it
    can be (``_placing``), else copied through the backend; its digest is checked here
    unless the backend checks what it fetches (``CheckedFetch``).
    References: ``wandb-artifact://`` entries are resolved through the backend and their
    target fetched; external ones go through their handler and the client cache
    (``_references``). Raises ``ValueError`` at once for a reference whose scheme cannot be
    read (spec §5.7), ``MissingReferenceError`` for a vanished artifact reference target.
    """
    if entry.ref is None:
        algorithm = entry.algorithm()
        blob = BlobRef(entry.digest, algorithm, entry.size or 0)

        def fetch_blob(tmp: Path) -> None:
            placed = place_local_blob(backend, entity, blob, tmp, link)
            if not placed and isinstance(backend, CheckedFetch):
                backend.fetch_checked_blob(entity, blob, tmp)
                return  # checked as it was written: not read again
            if not placed:
                backend.fetch_blob(entity, blob, tmp)
            digest, _size = hash_file(tmp, algorithm)
            if digest != entry.digest:
                raise CorruptionError(
                    f"Stored bytes of '{entry.path}' do not match their digest: "
                    f"expected {entry.digest!r} but found {digest!r}"
                )

        return fetch_blob
    if _artifact_refs.is_artifact_ref(entry.ref):
        version, target = _artifact_refs.resolve(backend, entry.ref)
        return _fetcher(backend, version.source_entity, target, link)
    return _references.fetcher(backend.settings, entry)


def download_entry(
    backend: Backend, entity: str, entry: ManifestEntry, root: Path, link: bool = False
) -> Path:
    """Write ``entry`` to its place below ``root`` (unless already there); return the path.

    ``link`` hard-links a locally stored loose blob (read-only) instead of copying it, and
    makes the file read-only when it has to be a copy (a small blob is packed in the
    store, a server's blob comes through the client cache, a link is impossible): a reader
    who asked for links never gets a writable file by surprise. A copy is its own inode,
    so its mode never touches the store.

    Raises:
        ValueError: see :func:`destination`; an unreadable reference scheme; a ``file://``
            reference whose source is missing or changed (spec §5.5).
        CorruptionError: the store returned bytes that do not match the digest.
        NotADirectoryError, IsADirectoryError: see :func:`destination`.
        OSError: the destination cannot be written.
    """
    dest = destination(root, entry.path)
    if has_digest(dest, entry):
        return dest
    fetch = _fetcher(backend, entity, entry, link)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_beside(dest)
    try:
        fetch(tmp)
        if os.stat(tmp).st_nlink == 1:  # a hard link to the store keeps its read-only mode
            os.chmod(tmp, _READ_ONLY_MODE if link else _FILE_MODE)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return dest


def download_entries(
    backend: Backend,
    entity: str,
    entries: Collection[ManifestEntry],
    root: Path,
    allow_missing_references: bool,
    progress: ProgressCallback,
    link: bool = False,
) -> None:
    """Download ``entries`` below ``root`` in parallel (spec §4.14 skip rules).

    ``link`` hard-links locally stored loose blobs instead of copying them, and writes
    every file read-only (see :func:`download_entry`).

    A destination that is a directory, or below a file, is skipped with a warning; with
    ``allow_missing_references`` a ``FileNotFoundError`` is a warning too.
    Raises the first other error met (see :func:`download_entry`).
    """
    started = time.monotonic()
    if _bulk_download.try_download(backend, entity, entries, root, progress, link, started):
        return  # a new or empty root: staged whole and renamed into place
    total_files = len(entries)
    total_bytes = sum(entry.size or 0 for entry in entries)
    done_files = 0
    done_bytes = 0

    def one(entry: ManifestEntry) -> None:
        try:
            download_entry(backend, entity, entry, root, link)
        except (FileNotFoundError, ChangedReferenceError) as exc:
            if not allow_missing_references:
                raise
            warnings.warn(f"Skipped '{entry.path}': {exc}", UserWarning, stacklevel=2)
        except IsADirectoryError:
            warnings.warn(
                f"Unable to download file {entry.path!r} as there is a directory with the "
                "same path, skipping.",
                UserWarning,
                stacklevel=2,
            )
        except NotADirectoryError:
            warnings.warn(
                f"Unable to download file {entry.path!r} as there is a file with the same "
                "path as a directory this file is expected to be in, skipping.",
                UserWarning,
                stacklevel=2,
            )

    workers = max(1, min(DOWNLOAD_WORKERS, total_files))
    # References go through the client cache: pin what this download puts or uses there,
    # and enforce the cache's cap (LRU) when the download ends.
    with (
        (
            ClientCache.for_settings(backend.settings).download_session()
            if any(entry.ref is not None for entry in entries)
            else contextlib.nullcontext()
        ),
        ThreadPoolExecutor(max_workers=workers) as pool,
    ):
        futures = [(entry, pool.submit(one, entry)) for entry in entries]
        try:
            for entry, future in futures:
                future.result()
                done_files += 1
                done_bytes += entry.size or 0
                progress(
                    ProgressEvent(
                        "Downloading",
                        done_files,
                        total_files,
                        done_bytes,
                        total_bytes,
                        started=started,
                    )
                )
        except BaseException:
            for _entry, future in futures:
                future.cancel()
            raise
    progress(
        ProgressEvent(
            "Downloading", done_files, total_files, done_bytes, total_bytes, True, started=started
        )
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
