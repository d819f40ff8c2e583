"""The automations part of the Backend protocol: webhook integrations, automations and
their deliveries, as plain wire data, and the calls a backend answers about them
(``Backend.automations()``; embedded: ``cairn.service.automation_backend``, server: REST
``/api/v1/automations...``). Kept apart from ``cairn.protocol`` so the two evolve alone.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol

SCOPE_PROJECT = "PROJECT"
SCOPE_COLLECTION = "ARTIFACT_COLLECTION"
ACTION_WEBHOOK = "GENERIC_WEBHOOK"
ACTION_NO_OP = "NO_OP"

# W&B's event types (the wire values of wandb's ``EventType``), for every side.
CREATE_ARTIFACT = "CREATE_ARTIFACT"
LINK_ARTIFACT = "LINK_MODEL"
UNLINK_ARTIFACT = "UNLINK_ARTIFACT"
ADD_ARTIFACT_ALIAS = "ADD_ARTIFACT_ALIAS"
ADD_ARTIFACT_TAG = "ADD_ARTIFACT_TAG"
REMOVE_ARTIFACT_TAG = "REMOVE_ARTIFACT_TAG"
ADD_COLLECTION_TAG = "ADD_COLLECTION_TAG"
REMOVE_COLLECTION_TAG = "REMOVE_COLLECTION_TAG"
EVENT_TYPES = (
    CREATE_ARTIFACT,
    LINK_ARTIFACT,
    UNLINK_ARTIFACT,
    ADD_ARTIFACT_ALIAS,
    ADD_ARTIFACT_TAG,
    REMOVE_ARTIFACT_TAG,
    ADD_COLLECTION_TAG,
    REMOVE_COLLECTION_TAG,
)


@dataclasses.dataclass(frozen=True)
class IntegrationInfo:
    """A webhook integration of an entity; its secret is never shown, only whether it
    has one."""

    id: str
    entity: str
    name: str
    url: str
    has_secret: bool
    created_at: str


@dataclasses.dataclass(frozen=True)
class AutomationSpec:
    """What an automation is: on ``event_type`` in the scope (the project
    ``entity/project``, or its collection ``collection``) when ``filter`` holds, do
    ``action_type`` (send ``payload``, a JSON template, to the integration
    ``integration_id``, or nothing)."""

    name: str
    event_type: str
    entity: str
    project: str
    collection: str | None
    action_type: str
    integration_id: str | None = None
    payload: str | None = None
    filter: dict[str, Any] = dataclasses.field(default_factory=dict)
    description: str | None = None
    enabled: bool = True

    @property
    def scope_type(self) -> str:
        return SCOPE_PROJECT if self.collection is None else SCOPE_COLLECTION


@dataclasses.dataclass(frozen=True)
class AutomationInfo:
    """A saved automation: its spec, its id, owner entity, the wire id of its scope
    (a collection id, or the project's), its integration, and when it was made."""

    id: str
    owner: str
    spec: AutomationSpec
    scope_id: str
    scope_is_sequence: bool
    integration: IntegrationInfo | None
    created_by: str | None
    created_at: str
    updated_at: str


@dataclasses.dataclass(frozen=True)
class AttemptInfo:
    number: int
    started_at: str
    duration_ms: int
    status_code: int | None
    response_head: str | None
    error: str | None


@dataclasses.dataclass(frozen=True)
class DeliveryInfo:
    """One event sent by one automation: ``pending``, ``delivered`` or ``failed``."""

    id: str
    event_id: str
    event_type: str
    state: str
    body: str
    created_at: str
    next_attempt_at: str | None
    attempts: list[AttemptInfo]


class AutomationsBackend(Protocol):
    """What the SDK and the CLI may ask about automations (see the service for errors:
    ``ValueError`` for bad input, ``CommError`` subclasses for what is missing or
    refused)."""

    def create_webhook(
        self, entity: str, name: str, url: str, secret: str | None
    ) -> IntegrationInfo: ...
    def list_webhooks(self, entity: str) -> list[IntegrationInfo]: ...
    def delete_webhook(self, entity: str, name: str) -> None: ...
    def create_automation(self, spec: AutomationSpec) -> AutomationInfo: ...
    def list_automations(self, entity: str | None, name: str | None) -> list[AutomationInfo]: ...
    def update_automation(self, automation_id: str, spec: AutomationSpec) -> AutomationInfo: ...
    def delete_automation(self, automation_id: str) -> None: ...
    def list_deliveries(self, automation_id: str, limit: int) -> list[DeliveryInfo]: ...
    def deliver_pending(self) -> int: ...
