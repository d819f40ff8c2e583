"""Making a batch of new files durable with a few file-system syncs, not an fsync each.

A blob becomes visible under its final name only once its bytes are on disk (DESIGN §4).
One ``fsync`` per file does that, but each is a journal commit and a disk cache flush:
200 files of 1 MiB took 0.8 s here against 0.45 s for the same bytes synced together.
``DurableBatch`` lets the copies be written without a sync; every ``step_bytes`` written, a
helper thread runs ``syncfs`` on the store's file system (Linux) and then publishes the
files written before that sync began, so the disk writes while the next files are copied.
``finish`` syncs and publishes the rest. Where ``syncfs`` is not available (not Linux),
``available()`` is False and callers keep one ``fsync`` per file. The price: ``syncfs``
also writes what other programs left unwritten on that file system, so a batch can wait
for them; only batches of several loose blobs use it.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

STEP_BYTES = 16 * 1024 * 1024  # written between two syncs (measured: 16 MiB beat 32 and 64)

Publish = Callable[[Path, Path], None]  # (temporary file, final name)


@functools.cache
def _syncfs() -> Callable[[int], int] | None:
    """libc's ``syncfs``, or None where it does not exist."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes  # noqa: PLC0415 - only for a batch of loose blobs: keeps ``import cairn`` light

    try:
        function = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int]
    function.restype = ctypes.c_int
    return function


def available() -> bool:
    """Whether batches can be synced together on this system."""
    return _syncfs() is not None


class DurableBatch:
    """Files written without a sync, published (``publish(tmp, final)``) once a file-system
    sync that began after they were written has completed. Thread-safe. Used as a context
    manager: leaving the block normally syncs and publishes the rest (``finish``); leaving
    it on an error removes the files not yet published.

    Raises (from ``add`` for an earlier background sync, and from ``finish``):
        OSError: the file system reported a write error, or a file could not be published.
    """

    def __init__(self, directory: Path, publish: Publish, step_bytes: int | None = None) -> None:
        """Sync the file system of ``directory`` (which must exist) every ``step_bytes``
        (default ``STEP_BYTES``) added."""
        function = _syncfs()
        if function is None:
            raise OSError("syncfs is not available on this system")
        self._syncfs = function
        self._publish = publish
        self._step = STEP_BYTES if step_bytes is None else step_bytes
        self._fd = os.open(directory, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        self._lock = threading.Lock()
        self._pending: list[tuple[Path, Path]] = []
        self._pending_bytes = 0
        self._running: Future[None] | None = None
        self._helper = ThreadPoolExecutor(max_workers=1)

    def add(self, tmp: Path, final: Path, size: int) -> None:
        """Note the written file ``tmp`` (``size`` bytes), to be published as ``final``."""
        with self._lock:
            self._pending.append((tmp, final))
            self._pending_bytes += size
            running = self._running
            if self._pending_bytes < self._step or (running is not None and not running.done()):
                return
            if running is not None:
                running.result()  # an earlier sync's error surfaces here
            batch, self._pending, self._pending_bytes = self._pending, [], 0
            self._running = self._helper.submit(self._sync_and_publish, batch)

    def finish(self) -> None:
        """Sync once more and publish every file added."""
        with self._lock:
            running, self._running = self._running, None
            batch, self._pending, self._pending_bytes = self._pending, [], 0
        if running is not None:
            running.result()
        self._sync_and_publish(batch)

    def _sync_and_publish(self, batch: list[tuple[Path, Path]]) -> None:
        """Sync, then publish ``batch``; if the sync fails, remove its files instead. Where
        ``syncfs`` is refused (a sandbox's system-call filter), each file is fsynced."""
        if self._syncfs(self._fd) != 0:
            import ctypes  # noqa: PLC0415 - ctypes only for a batch of loose blobs

            error = ctypes.get_errno()
            if error not in (errno.ENOSYS, errno.EPERM):
                _remove(batch)
                raise OSError(error, f"Cannot sync the blob store to disk: {os.strerror(error)}")
            try:
                for tmp, _final in batch:
                    _fsync(tmp)
            except BaseException:
                _remove(batch)
                raise
        for tmp, final in batch:
            self._publish(tmp, final)

    def __enter__(self) -> DurableBatch:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_rest: object) -> None:
        try:
            if kind is None:
                self.finish()
        finally:
            with self._lock:
                running, self._running = self._running, None
                left, self._pending = self._pending, []
            if running is not None:
                with contextlib.suppress(BaseException):
                    running.result()  # its error, if any, is not the one on its way
            self._helper.shutdown(wait=True)
            os.close(self._fd)
            _remove(left)  # written, never to be published


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove(batch: list[tuple[Path, Path]]) -> None:
    for tmp, _final in batch:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
