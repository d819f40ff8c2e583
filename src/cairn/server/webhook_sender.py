"""The server's webhook delivery: automations' webhooks are sent off the request path.

While the app runs, ``WORKERS`` daemon threads send the due deliveries of the outbox
(``cairn.service.deliveries``). A worker is woken when its own process records
deliveries and otherwise looks every ``IDLE_SECONDS`` (or when the next retry is due,
if sooner) for deliveries recorded by other processes, due for a retry, or left behind
by a process that stopped (their lease ran out): a server killed between a change and
its webhook sends it once it runs again. On shutdown the workers finish the attempt under
way and stop.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from cairn.service import deliveries

if TYPE_CHECKING:
    from cairn.service.resources import Store

WORKERS = 2  # deliveries under way at once in one process
IDLE_SECONDS = 2.0


class WebhookSender:
    """Sends ``store``'s due webhook deliveries from ``start()`` until ``stop()``."""

    def __init__(self, store: Store, workers: int = WORKERS) -> None:
        self.store = store
        self.workers = workers
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Start the workers (once)."""
        if self._threads:
            return
        for number in range(self.workers):
            thread = threading.Thread(target=self._run, name=f"cairn-webhook-{number}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def stop(self) -> None:
        """Stop the workers once their attempts under way are done."""
        self._stopping.set()
        deliveries.wake()
        for thread in self._threads:
            thread.join()

    def _run(self) -> None:
        deliveries.send_until(self.store, self._stopping, IDLE_SECONDS)
