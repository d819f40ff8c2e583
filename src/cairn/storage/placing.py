"""Placing a stored file at a destination without copying its bytes, when the OS allows.

``reflink`` asks the file system to share the source's extents with a new file (Linux
``FICLONE``: btrfs, XFS, bcachefs, overlayfs on those): instant, no extra space, and the
new file is independent (copy-on-write). ``hard_link`` gives the destination the source's
inode: it costs nothing at all but shares the file, so it is only offered for read-only
blobs and for readers that never write. Both report ``False`` when the file system cannot
do it, so the caller falls back to a copy; neither ever leaves a partial file.
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
