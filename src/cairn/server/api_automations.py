"""Automation routes: webhook integrations of an entity, automations, their deliveries.

Each route calls one ``cairn.service.automations`` function with its caller, which checks
who may do it (integrations: an entity's admins; automations: writers of their scope).
Answers are the ``cairn.protocol_automations`` wire models; a secret is never returned.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import Field

from cairn.protocol_automations import (
    AutomationInfo,
    AutomationSpec,
    DeliveryInfo,
    IntegrationInfo,
)
from cairn.server.deps import CallerDep, StateDep
from cairn.server.strict_json import StrictJsonRoute
from cairn.server.wire import Body
from cairn.service import automations, deliveries

router = APIRouter(prefix="/api/v1", route_class=StrictJsonRoute, tags=["automations"])


class WebhookCreate(Body):
    name: str = Field(min_length=1, max_length=64)
    url: str = Field(min_length=1, max_length=2048)
    secret: str | None = Field(default=None, max_length=1024)


class SpecBody(Body):
    """An ``AutomationSpec``: what fires it (``event_type`` in the project or one of its
    collections, when ``filter`` holds) and what it does."""

    name: str = Field(min_length=1, max_length=255)
    event_type: str = Field(max_length=64)
    entity: str = Field(min_length=1, max_length=256)
    project: str = Field(min_length=1, max_length=256)
    collection: str | None = Field(default=None, max_length=256)
    action_type: str = Field(max_length=64)
    integration_id: str | None = Field(default=None, max_length=256)
    payload: str | None = Field(default=None, max_length=65536)
    filter: dict[str, Any] = Field(default_factory=dict)
    description: str | None = Field(default=None, max_length=4096)
    enabled: bool = True

    def spec(self) -> AutomationSpec:
        return AutomationSpec(**self.model_dump())


class Delivered(Body):
    attempts: int


@router.post("/entities/{entity}/webhooks", response_model=IntegrationInfo)
def create_webhook(
    entity: str, body: WebhookCreate, state: StateDep, who: CallerDep
) -> IntegrationInfo:
    return automations.create_webhook(state.store, who, entity, body.name, body.url, body.secret)


@router.get("/entities/{entity}/webhooks", response_model=list[IntegrationInfo])
def list_webhooks(entity: str, state: StateDep, who: CallerDep) -> list[IntegrationInfo]:
    return automations.list_webhooks(state.store, who, entity)


@router.delete("/entities/{entity}/webhooks/{name}", status_code=204)
def delete_webhook(entity: str, name: str, state: StateDep, who: CallerDep) -> Response:
    automations.delete_webhook(state.store, who, entity, name)
    return Response(status_code=204)


@router.post("/automations", response_model=AutomationInfo)
def create_automation(body: SpecBody, state: StateDep, who: CallerDep) -> AutomationInfo:
    return automations.create_automation(state.store, who, body.spec())


@router.get("/automations", response_model=list[AutomationInfo])
def list_automations(
    state: StateDep, who: CallerDep, entity: str | None = None, name: str | None = None
) -> list[AutomationInfo]:
    return automations.list_automations(state.store, who, entity, name)


@router.post("/automations/deliver", response_model=Delivered)
def deliver_pending(state: StateDep, who: CallerDep) -> Delivered:
    automations.require_operator(who)
    return Delivered(attempts=deliveries.deliver_pending(state.store))


@router.put("/automations/{automation_id}", response_model=AutomationInfo)
def update_automation(
    automation_id: str, body: SpecBody, state: StateDep, who: CallerDep
) -> AutomationInfo:
    return automations.update_automation(state.store, who, automation_id, body.spec())


@router.delete("/automations/{automation_id}", status_code=204)
def delete_automation(automation_id: str, state: StateDep, who: CallerDep) -> Response:
    automations.delete_automation(state.store, who, automation_id)
    return Response(status_code=204)


@router.get("/automations/{automation_id}/deliveries", response_model=list[DeliveryInfo])
def list_deliveries(
    automation_id: str, state: StateDep, who: CallerDep, limit: int = 50
) -> list[DeliveryInfo]:
    return automations.list_deliveries(state.store, who, automation_id, limit)
