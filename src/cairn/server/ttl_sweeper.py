"""The server's TTL sweep: expired versions are deleted in the background (spec §4.12).

While the app runs, a daemon thread calls ``cairn.service.ttl.sweep_if_due`` once when
it starts and then every ``ServerConfig.ttl_sweep_interval_seconds`` (``cairn server
--ttl-sweep-interval``; 0 turns it off). The last sweep is recorded in the database and
checked under its write lock (and, on PostgreSQL, an advisory lock: a process due while
another sweeps skips its turn), so several app processes of one server sweep about once
per interval between them, never two at once; ``cairn server sweep`` sweeps by hand. A
sweep that fails (the database unreachable for a while) is logged and tried again at the
next interval. Sweeps run, failed and the versions they deleted are counted in the app's
``Metrics``. The app's shutdown stops the thread, waiting for a sweep under way to
finish.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from cairn.service import ttl

if TYPE_CHECKING:
    from cairn.server.metrics import Metrics
    from cairn.service.resources import Store

log = logging.getLogger(__name__)


class TtlSweeper:
    """Sweeps ``store`` every ``interval`` seconds from ``start()`` until ``stop()``,
    counting into ``metrics``; an ``interval`` of 0 or less never sweeps."""

    def __init__(self, store: Store, interval: float, metrics: Metrics) -> None:
        self.store = store
        self.interval = interval
        self.metrics = metrics
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """Whether the sweeping thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start sweeping in the background (once; nothing when the interval is 0)."""
        if self.interval <= 0 or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="cairn-ttl-sweeper", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop sweeping; return once a sweep under way has finished."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        while not self._stopping.is_set():
            started = time.monotonic()
            try:
                result = ttl.sweep_if_due(self.store, self.interval)
            except Exception:
                self.metrics.sweep_failed()
                log.exception("TTL sweep failed; trying again in %s s", self.interval)
            else:
                if result is not None:  # None: another process swept within the interval
                    self.metrics.swept(time.monotonic() - started, len(result.deleted))
                if result is not None and result.deleted:
                    log.info(
                        "TTL sweep deleted %d expired versions: %s",
                        len(result.deleted),
                        ", ".join(result.deleted[:20]),
                    )
            self._stopping.wait(self.interval)
