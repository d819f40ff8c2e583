"""A download into a new or empty folder, staged whole and renamed into place at once.

The general download (``writing.write_files``) checks each destination for symlinks and
existing content, writes a temporary file beside it, re-reads it to check the digest and
renames it: right for a folder that already holds files, but five or six metadata
operations per file where ``cp -r`` does one. When the destination folder does not exist
yet (or is an empty real directory), a backend's ``materialize`` writes the whole tree of
stored blobs instead (its ``export``: the embedded store reads its packs sequentially, the
remote one asks for small blobs in batches) into a fresh hidden staging folder beside it
(``.<name>.<random>.cairn-tmp``) and renamed over the destination when every file is
written and checked. So no file ever appears under its final name before the download
is complete, nothing can lie in the way (the staging folder is new and only this code
writes there), and each file costs one creation and one write.

Anything else (references, hard links, a destination with files, path conflicts) takes
the general path; so does a destination that gains files while the staging folder is
being written (the final rename is refused and the staging folder removed).
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

from cairn.core.paths import normalize_artifact_path
from cairn.progress import ProgressCallback, ProgressEvent
from cairn.storage.writing import TASK as _TASK
from cairn.storage.writing import Fetch, W, write_files

# Writes each file's checked bytes to its new path (parents exist); reports
# ``on_progress(files_done, bytes_done)``.
Export = Callable[[list[tuple[W, Path]], Callable[[int, int], None]], None]


def write_tree(
    root: Path,
    files: Sequence[W],
    fetch: Fetch[W],
    export: Export[W],
    *,
    link: bool,
    allow_missing: bool,
    warn_skips: bool,
    progress: ProgressCallback,
) -> None:
    """A backend's ``materialize``: ``files`` staged whole through ``export`` into a new or
    empty ``root`` (never with ``link``: only the file-by-file path hard-links), else
    written one by one through ``fetch`` (``writing.write_files``).

    Raises: as :func:`try_staged` and ``writing.write_files``.
    """
    started = time.monotonic()
    if not link and try_staged(root, files, export, progress, started):
        return
    write_files(
        root,
        files,
        fetch,
        link=link,
        allow_missing=allow_missing,
        warn_skips=warn_skips,
        progress=progress,
        started=started,
    )


def try_staged(
    root: Path,
    files: Sequence[W],
    export: Export[W],
    progress: ProgressCallback,
    started: float,
) -> bool:
    """Write ``files`` into ``root`` by staging them whole through ``export``; False
    (nothing done) if this download does not qualify (see the module doc). ``progress``
    hears of the download, begun at ``started`` (monotonic), only if it is done here.

    Raises:
        ValueError: an invalid path.
        FileNotFoundError: a blob is not stored.
        CorruptionError: stored bytes do not match their digest.
        OSError: the staging folder cannot be written or renamed; what ``export`` raises.
    """
    if not files:
        return False
    empty, mode = _empty_or_missing(root)
    if not empty:
        return False
    relative = [normalize_artifact_path(wanted.path) for wanted in files]
    folders = _folders(relative)
    if folders is None or len(set(relative)) != len(relative):
        return False  # clashing paths: the general path warns, skips or overwrites
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = root.parent / f".{root.name}.{uuid.uuid4().hex[:12]}.cairn-tmp"
    os.mkdir(staging)
    try:
        if mode is not None:  # an existing empty root: the folder keeps its permissions
            os.chmod(staging, mode)
        for folder in folders:
            os.mkdir(staging / folder)
        total_files = len(relative)
        total_bytes = sum(wanted.size for wanted in files)
        step = max(1, total_files // 100)

        def on_progress(done_files: int, done_bytes: int) -> None:
            if done_files % step == 0 and done_files < total_files:
                progress(
                    ProgressEvent(
                        _TASK, done_files, total_files, done_bytes, total_bytes, started=started
                    )
                )

        export(
            [(wanted, staging / path) for wanted, path in zip(files, relative, strict=True)],
            on_progress,
        )
        try:
            os.rename(staging, root)  # replaces root only if it is still an empty directory
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR, errno.EISDIR):
                raise
            return False  # root changed meanwhile: the general path takes over
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    progress(
        ProgressEvent(
            _TASK, total_files, total_files, total_bytes, total_bytes, True, started=started
        )
    )
    return True


def _empty_or_missing(root: Path) -> tuple[bool, int | None]:
    """``(True, None)`` if nothing is at ``root``, ``(True, its permission bits)`` if it is a
    real (not symlinked) empty directory, else ``(False, None)``."""
    try:
        info = os.lstat(root)
    except FileNotFoundError:
        return True, None
    except OSError:
        return False, None
    if not stat.S_ISDIR(info.st_mode):
        return False, None
    try:
        with os.scandir(root) as listing:
            empty = next(listing, None) is None
    except OSError:
        return False, None
    return (True, stat.S_IMODE(info.st_mode)) if empty else (False, None)


def _folders(paths: list[str]) -> list[str] | None:
    """Every folder the files at ``paths`` need, parents first; None if a file's path is
    also a folder's (the general path warns about and skips such entries)."""
    folders: set[str] = set()
    for path in paths:
        parent = path.rpartition("/")[0]
        while parent and parent not in folders:
            folders.add(parent)
            parent = parent.rpartition("/")[0]
    if not folders.isdisjoint(paths):
        return None
    return sorted(folders, key=lambda folder: (folder.count("/"), folder))
