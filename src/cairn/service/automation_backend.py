"""Automations in the embedded store: the ``AutomationsBackend`` over the service, run as
the store's owner, and the delivery of its webhooks by the process that made the change.

``LocalDelivery`` starts one daemon thread the first time this process records deliveries
(``Store.notify``); it sends what is due, sleeps until the next retry is due, and at exit
makes one last pass over what is due then. Whatever is still pending (a retry later, or a
process that was killed) waits in the SQLite outbox for the next process that changes the
store, or for ``cairn automation deliver``.
"""

from __future__ import annotations

import atexit
import logging
import threading
from typing import TYPE_CHECKING

from cairn.service import automations, deliveries
from cairn.service.caller import LOCAL, Caller

if TYPE_CHECKING:
    from cairn.protocol_automations import (
        AutomationInfo,
        AutomationSpec,
        DeliveryInfo,
        IntegrationInfo,
    )
    from cairn.service.resources import Store

log = logging.getLogger(__name__)

IDLE_SECONDS = 5.0  # how often the thread looks for deliveries due when it knows of none


class LocalDelivery:
    """Sends a store's due deliveries in this process (see module doc)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    def wake(self) -> None:
        """Deliveries were recorded: start the thread if needed, and wake it."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="cairn-webhooks", daemon=True
                )
                self._thread.start()
                atexit.register(self.stop)
        deliveries.wake()

    def _run(self) -> None:
        deliveries.send_until(self.store, self._stopping, IDLE_SECONDS)

    def stop(self) -> None:
        """Stop the thread, then send what is due now (once)."""
        self._stopping.set()
        deliveries.wake()
        thread = self._thread
        if thread is not None:
            thread.join(self.store.webhooks.timeout_seconds + 1.0)
        try:
            deliveries.deliver_due(self.store)
        except Exception:
            log.exception("sending webhooks at exit failed; `cairn automation deliver` retries")


class ServiceAutomations:
    """``AutomationsBackend`` calling the service in-process for ``caller``."""

    def __init__(self, store: Store, caller: Caller = LOCAL) -> None:
        self.store = store
        self.caller = caller

    def create_webhook(
        self, entity: str, name: str, url: str, secret: str | None
    ) -> IntegrationInfo:
        return automations.create_webhook(self.store, self.caller, entity, name, url, secret)

    def list_webhooks(self, entity: str) -> list[IntegrationInfo]:
        return automations.list_webhooks(self.store, self.caller, entity)

    def delete_webhook(self, entity: str, name: str) -> None:
        automations.delete_webhook(self.store, self.caller, entity, name)

    def create_automation(self, spec: AutomationSpec) -> AutomationInfo:
        return automations.create_automation(self.store, self.caller, spec)

    def list_automations(self, entity: str | None, name: str | None) -> list[AutomationInfo]:
        return automations.list_automations(self.store, self.caller, entity, name)

    def update_automation(self, automation_id: str, spec: AutomationSpec) -> AutomationInfo:
        return automations.update_automation(self.store, self.caller, automation_id, spec)

    def delete_automation(self, automation_id: str) -> None:
        automations.delete_automation(self.store, self.caller, automation_id)

    def list_deliveries(self, automation_id: str, limit: int) -> list[DeliveryInfo]:
        return automations.list_deliveries(self.store, self.caller, automation_id, limit)

    def deliver_pending(self) -> int:
        """Try every pending delivery once now; returns the attempts made."""
        automations.require_operator(self.caller)
        return deliveries.deliver_pending(self.store)
