"""Writing an artifact's files below a download root safely: the one place that does it.

Both backends' ``materialize`` (stored blobs) and the SDK's reference downloads write
through here, so these rules (issue 2, "Must hold") hold for every file a download writes:

- every destination comes from :func:`cairn.core.paths.safe_join`, so it stays under root;
- nothing is written or deleted *through* a symlink inside root: a destination whose path
  below root contains a symlink is refused with ``ValueError`` naming it;
- bytes go to a temporary file in the destination directory that is checked against the
  digest and then renamed over the final name, so an interrupted download or a full disk
  never leaves a truncated file under a final name;
- a destination that already holds the file's digest is left untouched;
- a destination that is a directory, or below a file, is skipped with a warning (or raised,
  for a one-file download); with ``allow_missing`` a missing source is a warning too.

A download into a new or empty folder can be staged whole instead (``staged_writing``).
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol, TypeVar

from cairn.core.paths import safe_join
from cairn.errors import ChangedReferenceError, CorruptionError
from cairn.progress import ProgressCallback, TaskCounter
from cairn.storage.hashing import hash_file

WRITE_WORKERS = 8
TASK = "Downloading"
_FILE_MODE = 0o644
_READ_ONLY_MODE = 0o444  # every file a ``link`` download writes, linked or copied


class Wanted(Protocol):
    """A file to write: its logical path below root and the content it must hold."""

    @property
    def path(self) -> str: ...
    @property
    def digest(self) -> str: ...
    @property
    def algorithm(self) -> str: ...
    @property
    def size(self) -> int: ...


W = TypeVar("W", bound=Wanted)
# Writes the file's bytes to a fresh path (raising if they are not the expected ones).
Fetch = Callable[[W, Path], None]


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


def has_digest(path: Path, digest: str, algorithm: str) -> bool:
    """Tell whether the regular file at ``path`` already holds the content ``digest``."""
    if not path.is_file():
        return False
    try:
        found, _size = hash_file(path, algorithm)
    except OSError:
        return False
    return found == digest


def check_digest(path: Path, wanted: Wanted) -> None:
    """Raise ``CorruptionError`` unless the file at ``path`` holds ``wanted``'s content."""
    digest, _size = hash_file(path, wanted.algorithm)
    if digest != wanted.digest:
        raise CorruptionError(
            f"Stored bytes of '{wanted.path}' do not match their digest: "
            f"expected {wanted.digest!r} but found {digest!r}"
        )


def temp_beside(dest: Path) -> Path:
    """A fresh hidden name in ``dest``'s folder for the bytes on their way to ``dest``."""
    return dest.parent / f".{dest.name}.{uuid.uuid4().hex[:12]}.cairn-tmp"


def write_file(root: Path, wanted: W, fetch: Fetch[W], link: bool = False) -> Path:
    """Write ``wanted`` to its place below ``root`` (unless already there); return the path.

    ``fetch`` writes the bytes to a fresh temporary path beside the destination. With
    ``link`` the file ends read-only: a hard link ``fetch`` made keeps the store's mode, a
    copy is made read-only (a reader who asked for links never gets a writable file).

    Raises:
        ValueError, NotADirectoryError, IsADirectoryError: see :func:`destination`.
        OSError: the destination cannot be written; and what ``fetch`` raises.
    """
    dest = destination(root, wanted.path)
    if has_digest(dest, wanted.digest, wanted.algorithm):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_beside(dest)
    try:
        fetch(wanted, tmp)
        if os.stat(tmp).st_nlink == 1:  # a hard link to the store keeps its read-only mode
            os.chmod(tmp, _READ_ONLY_MODE if link else _FILE_MODE)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return dest


def write_files(
    root: Path,
    files: Sequence[W],
    fetch: Fetch[W],
    *,
    link: bool = False,
    allow_missing: bool = False,
    warn_skips: bool = True,
    progress: ProgressCallback,
    started: float | None = None,
) -> None:
    """:func:`write_file` for each of ``files``, in parallel; ``progress`` hears of each.

    ``warn_skips``: a destination that is a directory, or below a file, is skipped with a
    warning (else raised); ``allow_missing``: a ``FileNotFoundError`` or
    ``ChangedReferenceError`` of ``fetch`` is a warning too.
    Raises the first other error met (see :func:`write_file`).
    """
    counter = TaskCounter(
        TASK,
        progress,
        len(files),
        sum(wanted.size for wanted in files),
        started if started is not None else time.monotonic(),
    )

    def one(wanted: W) -> None:
        try:
            write_file(root, wanted, fetch, link)
        except (FileNotFoundError, ChangedReferenceError) as exc:
            if not allow_missing:
                raise
            warnings.warn(f"Skipped '{wanted.path}': {exc}", UserWarning, stacklevel=2)
        except IsADirectoryError:
            if not warn_skips:
                raise
            warnings.warn(
                f"Unable to download file {wanted.path!r} as there is a directory with the "
                "same path, skipping.",
                UserWarning,
                stacklevel=2,
            )
        except NotADirectoryError:
            if not warn_skips:
                raise
            warnings.warn(
                f"Unable to download file {wanted.path!r} as there is a file with the same "
                "path as a directory this file is expected to be in, skipping.",
                UserWarning,
                stacklevel=2,
            )

    if len(files) == 1:  # one file (an entry's download): no thread needed
        one(files[0])
        counter.add(1, files[0].size)
        counter.finish()
        return
    with ThreadPoolExecutor(max_workers=max(1, min(WRITE_WORKERS, len(files)))) as pool:
        futures = [(wanted, pool.submit(one, wanted)) for wanted in files]
        try:
            for wanted, future in futures:
                future.result()
                counter.add(1, wanted.size)
        except BaseException:
            for _wanted, future in futures:
                future.cancel()
            raise
    counter.finish()
