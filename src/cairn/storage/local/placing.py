"""Placing a stored file at a destination without copying its bytes, when the OS allows.

``reflink`` asks the file system to share the source's extents with a new file (Linux
``FICLONE``: btrfs, XFS, bcachefs, overlayfs on those): instant, no extra space, and the
new file is independent (copy-on-write). ``hard_link`` gives the destination the source's
inode: it costs nothing at all but shares the file, so it is only offered for read-only
blobs and for readers that never write. Both report ``False`` when the file system cannot
do it, so the caller falls back to a copy; neither ever leaves a partial file.
``copy_file`` is that fallback for bytes already checked: a reflink, else a copy inside
the kernel (``copy_file_range``), else a plain read/write loop.

Every file the stores write comes through ``new_file``: created exclusively, never
through a symlink, with its mode whatever the umask, and removed if writing it fails.
"""

from __future__ import annotations

import contextlib
import errno
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

FICLONE = 0x40049409  # _IOW(0x94, 9, int), linux/fs.h
COPY_MODE = 0o644
# The errors that mean "this file system (or platform) cannot": fall back to a copy.
_UNSUPPORTED = frozenset(
    {
        errno.EXDEV,
        errno.EOPNOTSUPP,
        errno.ENOTSUP,
        errno.ENOTTY,
        errno.EINVAL,
        errno.ENOSYS,
        errno.EBADF,
        errno.EPERM,
        errno.EMLINK,
    }
)


def reflink(src: Path, dest: Path) -> bool:
    """Create ``dest`` (mode 0o644) as a copy-on-write clone of ``src``; False if unsupported.

    ``dest`` must not exist and is never followed if it is a symlink.

    Raises:
        FileNotFoundError: ``src`` does not exist.
        FileExistsError: ``dest`` exists.
        OSError: any other failure than "unsupported"; ``dest`` is removed.
    """
    try:
        import fcntl  # noqa: PLC0415 - fcntl only where a reflink is tried
    except ImportError:  # not POSIX
        return False
    created = False
    with open(src, "rb", buffering=0) as reader:
        try:
            with new_file(dest) as fd:
                created = True
                fcntl.ioctl(fd, FICLONE, reader.fileno())
        except OSError as exc:
            if created and exc.errno in _UNSUPPORTED:
                return False  # the clone was refused; ``dest`` is removed again
            raise
    return True


def hard_link(src: Path, dest: Path) -> bool:
    """Make ``dest`` a hard link to ``src`` (sharing its inode and mode); False if unsupported.

    Raises:
        FileNotFoundError: ``src`` does not exist.
        FileExistsError: ``dest`` exists.
        OSError: any other failure than "unsupported" (another device, no links here).
    """
    try:
        os.link(src, dest, follow_symlinks=False)
    except OSError as exc:
        if exc.errno in _UNSUPPORTED:
            return False
        raise
    return True


def place_loose(src: Path | None, dest: Path, link: bool) -> bool:
    """Put the loose blob file ``src`` at the fresh path ``dest`` without copying bytes:
    with ``link`` as a hard link (the read-only blob itself), else, or when that cannot
    be, as a reflink. False when neither can be (no loose file, a file system without
    them, a blob gone meanwhile): the caller copies.

    Raises:
        FileExistsError: ``dest`` exists.
        OSError: ``dest`` cannot be written for another reason than "unsupported".
    """
    if src is None:
        return False
    try:
        if link and hard_link(src, dest):
            return True
        return reflink(src, dest)
    except FileNotFoundError:
        if dest.exists():
            raise
        return False  # the blob went away (GC, repacked): copy it


_COPY_CHUNK = 1024 * 1024
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


@contextlib.contextmanager
def new_file(dest: Path | str, mode: int = COPY_MODE) -> Iterator[int]:
    """The new file ``dest`` open for writing (its descriptor), with ``mode`` whatever the
    umask; closed after the block, and removed if the block raises. Never fsynced here.

    Raises:
        FileExistsError: ``dest`` exists (left untouched), or is a symlink.
        OSError: ``dest`` cannot be created.
    """
    fd = os.open(dest, _CREATE, mode)
    try:
        os.fchmod(fd, mode)
        yield fd
    except BaseException:
        os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(dest)
        raise
    os.close(fd)


def write_all(fd: int, data: bytes | memoryview) -> None:
    """Write all of ``data`` to ``fd`` (``os.write`` may write less than asked)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def write_new_file(dest: Path, data: bytes) -> None:
    """Create ``dest`` (mode 0o644, not fsynced, never through a symlink) holding ``data``;
    remove it if the write fails.

    Raises:
        FileExistsError: ``dest`` exists (left untouched).
        OSError: ``dest`` cannot be written.
    """
    with new_file(dest) as fd:
        write_all(fd, data)


def copy_file(src: Path, dest: Path) -> None:
    """Create ``dest`` (mode 0o644, not fsynced) with the bytes of ``src``, without hashing
    them: a reflink where the file system can, else an in-kernel copy
    (``os.copy_file_range``), else a read/write loop. For a source whose digest the caller
    has just checked. ``dest`` must not exist, is never followed if it is a symlink, and is
    removed if the copy fails.

    Raises:
        FileNotFoundError: ``src`` does not exist.
        FileExistsError: ``dest`` exists (left untouched).
        OSError: ``src`` cannot be read or ``dest`` written.
    """
    if reflink(src, dest):
        return
    with open(src, "rb", buffering=0) as reader, new_file(dest) as fd:
        copy_fd(reader.fileno(), fd)


def copy_fd(src_fd: int, dest_fd: int) -> None:
    """Copy ``src_fd`` from its offset to its end into ``dest_fd``: in the kernel while it
    can, by read/write from where it cannot (another file system, an old kernel)."""
    copy_range = getattr(os, "copy_file_range", None)
    while copy_range is not None:
        try:
            if not copy_range(src_fd, dest_fd, 1 << 30):
                return
        except OSError as exc:
            if exc.errno not in _UNSUPPORTED:
                raise
            break
    while chunk := os.read(src_fd, _COPY_CHUNK):
        write_all(dest_fd, chunk)
