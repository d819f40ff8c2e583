"""Placing a stored file at a destination without copying its bytes, when the OS allows.

``reflink`` asks the file system to share the source's extents with a new file (Linux
``FICLONE``: btrfs, XFS, bcachefs, overlayfs on those): instant, no extra space, and the
new file is independent (copy-on-write). ``hard_link`` gives the destination the source's
inode: it costs nothing at all but shares the file, so it is only offered for read-only
blobs and for readers that never write. Both report ``False`` when the file system cannot
do it, so the caller falls back to a copy; neither ever leaves a partial file.
``copy_file`` is that fallback for bytes already checked: a reflink, else a copy inside
the kernel (``copy_file_range``), else a plain read/write loop.
"""

from __future__ import annotations

import contextlib
import errno
import os
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
        import fcntl
    except ImportError:  # not POSIX
        return False
    with open(src, "rb", buffering=0) as reader:
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, COPY_MODE)
        try:
            fcntl.ioctl(fd, FICLONE, reader.fileno())
            os.fchmod(fd, COPY_MODE)
        except OSError as exc:
            os.close(fd)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(dest)
            if exc.errno in _UNSUPPORTED:
                return False
            raise
        except BaseException:
            os.close(fd)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(dest)
            raise
        os.close(fd)
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


_COPY_CHUNK = 1024 * 1024
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def write_new_file(dest: Path, data: bytes) -> None:
    """Create ``dest`` (mode 0o644, not fsynced, never through a symlink) holding ``data``;
    remove it if the write fails.

    Raises:
        FileExistsError: ``dest`` exists (left untouched).
        OSError: ``dest`` cannot be written.
    """
    fd = os.open(dest, _CREATE, COPY_MODE)
    try:
        os.fchmod(fd, COPY_MODE)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    except BaseException:
        os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(dest)
        raise
    os.close(fd)


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
    with open(src, "rb", buffering=0) as reader:
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, COPY_MODE)
        try:
            os.fchmod(fd, COPY_MODE)
            copy_fd(reader.fileno(), fd)
        except BaseException:
            os.close(fd)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(dest)
            raise
        os.close(fd)


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
        view = memoryview(chunk)
        while view:
            view = view[os.write(dest_fd, view) :]
