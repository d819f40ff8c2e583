"""The automations part of ``RemoteBackend``: the REST routes of
``cairn.server.api_automations``, answered with ``cairn.protocol_automations`` models."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from cairn.protocol_automations import (
    AttemptInfo,
    AutomationInfo,
    AutomationSpec,
    DeliveryInfo,
    IntegrationInfo,
)

if TYPE_CHECKING:
    from cairn.remote.http import ApiClient


def _seg(name: str) -> str:
    return quote(name, safe="")


def _integration(data: dict[str, Any]) -> IntegrationInfo:
    return IntegrationInfo(**data)


def _automation(data: dict[str, Any]) -> AutomationInfo:
    integration = data.get("integration")
    return AutomationInfo(
        **{
            **data,
            "spec": AutomationSpec(**data["spec"]),
            "integration": None if integration is None else _integration(integration),
        }
    )


def _delivery(data: dict[str, Any]) -> DeliveryInfo:
    return DeliveryInfo(**{**data, "attempts": [AttemptInfo(**a) for a in data["attempts"]]})


def _spec_body(spec: AutomationSpec) -> dict[str, Any]:
    return dataclasses.asdict(spec)


class RemoteAutomations:
    """``AutomationsBackend`` over a server's REST API (errors: as the server answers)."""

    def __init__(self, client: ApiClient) -> None:
        self._client = client

    def _call(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        params = {k: v for k, v in params.items() if v is not None}
        response = self._client.call(method, path, json=body, params=params or None)
        return response.json() if response.content else None

    def create_webhook(
        self, entity: str, name: str, url: str, secret: str | None
    ) -> IntegrationInfo:
        body = {"name": name, "url": url, "secret": secret}
        return _integration(self._call("POST", f"/entities/{_seg(entity)}/webhooks", body))

    def list_webhooks(self, entity: str) -> list[IntegrationInfo]:
        return [_integration(d) for d in self._call("GET", f"/entities/{_seg(entity)}/webhooks")]

    def delete_webhook(self, entity: str, name: str) -> None:
        self._call("DELETE", f"/entities/{_seg(entity)}/webhooks/{_seg(name)}")

    def create_automation(self, spec: AutomationSpec) -> AutomationInfo:
        return _automation(self._call("POST", "/automations", _spec_body(spec)))

    def list_automations(self, entity: str | None, name: str | None) -> list[AutomationInfo]:
        return [_automation(d) for d in self._call("GET", "/automations", entity=entity, name=name)]

    def update_automation(self, automation_id: str, spec: AutomationSpec) -> AutomationInfo:
        path = f"/automations/{_seg(automation_id)}"
        return _automation(self._call("PUT", path, _spec_body(spec)))

    def delete_automation(self, automation_id: str) -> None:
        self._call("DELETE", f"/automations/{_seg(automation_id)}")

    def list_deliveries(self, automation_id: str, limit: int) -> list[DeliveryInfo]:
        path = f"/automations/{_seg(automation_id)}/deliveries"
        return [_delivery(d) for d in self._call("GET", path, limit=limit)]

    def deliver_pending(self) -> int:
        return int(self._call("POST", "/automations/deliver")["attempts"])
