"""The server's upload check: large uploads to an S3 store are verified in the background.

While the app runs on a store whose uploads wait in a staging area (S3:
``ServerStore.staged_uploads``), ``WORKERS`` daemon threads take queued checks
(``cairn.service.upload_checks``: a completed multipart upload, hashed in full and
promoted to its blob) one at a time. A worker is woken when its own process queues a
check and otherwise looks every ``IDLE_SECONDS`` for checks queued by other processes or
left behind by one that stopped (their lease ran out); the database decides which
process takes each, so several app processes check each upload once between them.
Failed checks are forgotten after a day. On shutdown a check under way is given up
between two chunks and left queued for any process to take; ``stop`` returns once the
workers have let go.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from cairn.service import upload_checks

if TYPE_CHECKING:
    from cairn.service.resources import Store

log = logging.getLogger(__name__)

WORKERS = 2  # checks under way at once in one process
IDLE_SECONDS = 2.0  # how often an idle worker looks for checks queued elsewhere
PURGE_EVERY = 1800  # idle rounds between purges of old failed checks (about an hour)


class UploadChecker:
    """Runs the queued upload checks of ``store`` from ``start()`` until ``stop()``;
    nothing on a store without a staging area (a directory store checks at once)."""

    def __init__(self, store: Store, workers: int = WORKERS) -> None:
        self.store = store
        self.workers = workers
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def running(self) -> bool:
        """Whether any worker thread is alive."""
        return any(thread.is_alive() for thread in self._threads)

    def start(self) -> None:
        """Start the workers (once; none unless uploads to the store wait for a check)."""
        if self._threads or upload_checks.staging_of(self.store) is None:
            return
        for number in range(self.workers):
            thread = threading.Thread(
                target=self._run, name=f"cairn-upload-check-{number}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def stop(self) -> None:
        """Stop the workers; a check under way is given up and left queued."""
        self._stopping.set()
        upload_checks.wake()
        for thread in self._threads:
            thread.join()

    def _run(self) -> None:
        idle_rounds = 0
        while not self._stopping.is_set():
            try:
                job = upload_checks.claim(self.store)
                if job is not None:
                    upload_checks.run(self.store, job, self._stopping.is_set)
                    continue
                if idle_rounds % PURGE_EVERY == 0:
                    upload_checks.purge_failed(self.store)
            except upload_checks.Interrupted:
                continue
            except Exception:
                log.exception("upload check failed; trying again in %s s", IDLE_SECONDS)
            idle_rounds += 1
            upload_checks.wait_for_work(IDLE_SECONDS)
