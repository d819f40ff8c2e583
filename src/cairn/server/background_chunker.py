"""The server's background chunker: large files uploaded whole are cut into chunks.

A commit that names large files (``Observer.large_files``) queues them here; one daemon
thread takes them one at a time and has ``cairn.service.server_chunking.chunk_stored``
cut each stored whole into chunks and store its chunk list (a file already stored as
chunks, as a Cairn client sends it, is skipped at once). It runs off the request path: the
commit that queued a file has answered long before. The queue lives in this process's
memory: a file queued when the process stops is not chunked then; nothing is lost but the
deduplication of its next version, and it is queued again by any later commit naming it.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import TYPE_CHECKING

from cairn.service import server_chunking

if TYPE_CHECKING:
    from collections.abc import Sequence

    from cairn.service.resources import Store

log = logging.getLogger(__name__)

QUEUE_MAX = 10_000  # files waiting; more are dropped (and logged): a commit never waits


class BackgroundChunker:
    """Cuts the queued files of ``store`` from ``start()`` until ``stop()``."""

    def __init__(self) -> None:
        self._store: Store | None = None
        self._queue: queue.Queue[tuple[str, str] | None] = queue.Queue(QUEUE_MAX)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._idle = threading.Condition()
        self._busy = 0

    def queue(self, entity: str, files: Sequence[tuple[str, int]]) -> None:
        """Queue ``(base64 MD5, size)`` files of ``entity`` (never blocks)."""
        for digest, _size in files:
            try:
                with self._idle:
                    self._busy += 1
                self._queue.put_nowait((entity, digest))
            except queue.Full:
                self._done()
                log.warning("chunking queue full: %s of '%s' left whole", digest, entity)

    def start(self, store: Store) -> None:
        """Start the worker thread over ``store`` (once; nothing without a server store)."""
        if self._thread is not None or store.server_blobs is None:
            return
        self._store = store
        self._thread = threading.Thread(target=self._run, name="cairn-chunker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the worker; a file under way is given up (it stays whole)."""
        self._stopping.set()
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()

    def wait_idle(self, timeout: float) -> bool:
        """Whether every queued file was done within ``timeout`` seconds (tests, bench)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._busy == 0, timeout)

    def _done(self) -> None:
        with self._idle:
            self._busy -= 1
            self._idle.notify_all()

    def _run(self) -> None:
        assert self._store is not None
        while not self._stopping.is_set():
            item = self._queue.get()
            if item is None:
                continue
            entity, digest = item
            try:
                server_chunking.chunk_stored(self._store, entity, digest, self._stopping.is_set)
            except Exception:
                log.exception("chunking %s of '%s' failed; it stays whole", digest, entity)
            finally:
                self._done()
