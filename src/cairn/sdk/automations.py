"""``cairn.automations``: wandb's automations API (``wandb.automations``) with its names,
so ``import cairn as wandb`` code defines and saves automations unchanged::

    from cairn.automations import OnLinkArtifact, ArtifactEvent, SendWebhook

    hook = next(api.webhook_integrations(entity="acme"))
    event = OnLinkArtifact(scope=api.registry("model"), filter=ArtifactEvent.alias.eq("prod"))
    api.create_automation(event >> SendWebhook.from_integration(hook), name="deploy")

An event is a type of change in a scope (a project, a registry, or one collection: pass
the ``Api`` object itself, as with wandb) with an optional filter on the alias or tag the
change carries; ``event >> action`` is a ``NewAutomation`` for ``Api.create_automation``.
Saved automations come back as ``Automation``. The webhook is sent by the store
(docs/automations.md), signed with the integration's secret.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, ClassVar

from cairn.protocol_automations import (
    ACTION_NO_OP,
    ACTION_WEBHOOK,
    ADD_ARTIFACT_ALIAS,
    ADD_ARTIFACT_TAG,
    ADD_COLLECTION_TAG,
    CREATE_ARTIFACT,
    LINK_ARTIFACT,
    REMOVE_ARTIFACT_TAG,
    REMOVE_COLLECTION_TAG,
    UNLINK_ARTIFACT,
    AutomationInfo,
    AutomationSpec,
    IntegrationInfo,
)


@dataclasses.dataclass(frozen=True)
class Filter:
    """A condition on an event (MongoDB-like, as wandb sends it); ``&`` and ``|`` combine."""

    document: dict[str, Any]

    def __and__(self, other: Filter) -> Filter:
        return Filter({"$and": [self.document, other.document]})

    def __or__(self, other: Filter) -> Filter:
        return Filter({"$or": [self.document, other.document]})

    def __invert__(self) -> Filter:
        return Filter({"$nor": [self.document]})


@dataclasses.dataclass(frozen=True)
class FilterableField:
    """``ArtifactEvent.alias`` / ``.tag``: build a ``Filter`` on the event's field."""

    name: str

    def eq(self, value: str) -> Filter:
        return Filter({self.name: {"$eq": value}})

    def ne(self, value: str) -> Filter:
        return Filter({self.name: {"$ne": value}})

    def in_(self, values: list[str]) -> Filter:
        return Filter({self.name: {"$in": list(values)}})

    def not_in(self, values: list[str]) -> Filter:
        return Filter({self.name: {"$nin": list(values)}})

    def regex(self, pattern: str) -> Filter:
        return Filter({self.name: {"$regex": pattern}})

    matches_regex = regex

    def contains(self, text: str) -> Filter:
        return Filter({self.name: {"$contains": text}})

    def __eq__(self, value: object) -> Filter:  # type: ignore[override]
        return self.eq(str(value))

    def __hash__(self) -> int:
        return hash(self.name)


class ArtifactEvent:
    """The fields an artifact event can be filtered on."""

    alias = FilterableField("alias")
    tag = FilterableField("tag")


@dataclasses.dataclass(frozen=True)
class Scope:
    """Where an automation watches: a project (a registry is a project), or one of its
    collections."""

    entity: str
    project: str
    collection: str | None = None

    @property
    def name(self) -> str:
        return self.collection or self.project


def ProjectScope(entity: str, project: str) -> Scope:
    return Scope(entity, project)


def ArtifactCollectionScope(entity: str, project: str, collection: str) -> Scope:
    return Scope(entity, project, collection)


def RegistryScope(organization: str, name: str) -> Scope:
    prefix = "wandb-registry-"
    return Scope(organization, name if name.startswith(prefix) else prefix + name)


def scope_of(value: Any) -> Scope:
    """The scope an ``Api`` object stands for: a ``Project``, a ``Registry`` or an
    ``ArtifactCollection`` (or a ``Scope``). Raises: TypeError (anything else)."""
    if isinstance(value, Scope):
        return value
    full_name = getattr(value, "full_name", None)
    if isinstance(full_name, str) and hasattr(value, "organization"):
        return Scope(str(value.entity), full_name)
    if callable(getattr(value, "is_sequence", None)):
        return Scope(str(value.entity), str(value.project), str(value.name))
    if hasattr(value, "entity") and hasattr(value, "name"):
        return Scope(str(value.entity), str(value.name))
    raise TypeError(
        f"Cannot watch {type(value).__name__!r}: expected a project, registry or collection"
    )


@dataclasses.dataclass(frozen=True)
class WebhookIntegration:
    """A webhook integration of an entity (its secret is never shown)."""

    id: str
    name: str
    url_endpoint: str
    entity: str

    @classmethod
    def _from(cls, info: IntegrationInfo) -> WebhookIntegration:
        return cls(info.id, info.name, info.url, info.entity)


@dataclasses.dataclass
class SendWebhook:
    """Send the payload (a JSON-able template with ``${variables}``) to an integration."""

    integration_id: str
    request_payload: Any = None
    action_type: ClassVar[str] = ACTION_WEBHOOK

    @classmethod
    def from_integration(cls, integration: WebhookIntegration, *, payload: Any = None) -> Any:
        return cls(integration.id, payload)

    def _payload(self) -> str | None:
        if self.request_payload is None:
            return None
        if isinstance(self.request_payload, str):
            return self.request_payload
        return json.dumps(self.request_payload)


@dataclasses.dataclass
class DoNothing:
    """No action (an automation kept for its delivery log, or for testing)."""

    no_op: bool = True
    action_type: ClassVar[str] = ACTION_NO_OP


Action = SendWebhook | DoNothing


@dataclasses.dataclass
class _Event:
    """An event in ``scope`` (a project, registry or collection), when ``filter`` holds."""

    scope: Any
    filter: Filter | dict[str, Any] | None = None
    event_type: ClassVar[str] = ""

    def then(self, action: Action) -> NewAutomation:
        if not isinstance(action, (SendWebhook, DoNothing)):
            raise TypeError(f"Expected an action, got {type(action).__name__!r}")
        return NewAutomation(event=self, action=action)

    def __rshift__(self, action: Action) -> NewAutomation:
        return self.then(action)

    def _filter(self) -> dict[str, Any]:
        value = self.filter
        document = value.document if isinstance(value, Filter) else dict(value or {})
        return {"$or": [{"$and": [document]}]} if document else {}


class OnCreateArtifact(_Event):
    event_type = CREATE_ARTIFACT


class OnLinkArtifact(_Event):
    event_type = LINK_ARTIFACT


class OnUnlinkArtifact(_Event):
    event_type = UNLINK_ARTIFACT


class OnAddArtifactAlias(_Event):
    event_type = ADD_ARTIFACT_ALIAS


class OnAddArtifactTag(_Event):
    event_type = ADD_ARTIFACT_TAG


class OnRemoveArtifactTag(_Event):
    event_type = REMOVE_ARTIFACT_TAG


class OnAddCollectionTag(_Event):
    event_type = ADD_COLLECTION_TAG


class OnRemoveCollectionTag(_Event):
    event_type = REMOVE_COLLECTION_TAG


EVENT_CLASSES: dict[str, type[_Event]] = {
    cls.event_type: cls
    for cls in (
        OnCreateArtifact,
        OnLinkArtifact,
        OnUnlinkArtifact,
        OnAddArtifactAlias,
        OnAddArtifactTag,
        OnRemoveArtifactTag,
        OnAddCollectionTag,
        OnRemoveCollectionTag,
    )
}


@dataclasses.dataclass
class NewAutomation:
    """An automation to create (``event >> action``); ``name`` may also be given to
    ``Api.create_automation``."""

    event: _Event
    action: Action
    name: str | None = None
    description: str | None = None
    enabled: bool = True

    def _spec(self, **changes: Any) -> AutomationSpec:
        values = {
            "name": self.name,
            "description": self.description,
            "enabled": self.enabled,
            "scope": self.event.scope,
            "event": self.event,
            "action": self.action,
        }
        values.update({k: v for k, v in changes.items() if v is not None})
        event, action = values["event"], values["action"]
        scope = scope_of(values["scope"])
        if not values["name"]:
            raise ValueError("An automation needs a name")
        return AutomationSpec(
            name=str(values["name"]),
            event_type=event.event_type,
            entity=scope.entity,
            project=scope.project,
            collection=scope.collection,
            action_type=action.action_type,
            integration_id=action.integration_id if isinstance(action, SendWebhook) else None,
            payload=action._payload() if isinstance(action, SendWebhook) else None,
            filter=event._filter(),
            description=values["description"],
            enabled=bool(values["enabled"]),
        )


@dataclasses.dataclass
class Automation(NewAutomation):
    """A saved automation: edit its fields and pass it to ``Api.update_automation``."""

    id: str = ""
    created_at: str = ""
    updated_at: str = ""

    @classmethod
    def _from(cls, info: AutomationInfo) -> Automation:
        spec = info.spec
        scope = Scope(spec.entity, spec.project, spec.collection)
        event = EVENT_CLASSES[spec.event_type](scope=scope, filter=_unwrap(spec.filter))
        action: Action
        if spec.integration_id is not None:
            payload = json.loads(spec.payload) if spec.payload else None
            action = SendWebhook(spec.integration_id, payload)
        else:
            action = DoNothing()
        return cls(
            event=event,
            action=action,
            name=spec.name,
            description=spec.description,
            enabled=spec.enabled,
            id=info.id,
            created_at=info.created_at,
            updated_at=info.updated_at,
        )

    @property
    def scope(self) -> Scope:
        return scope_of(self.event.scope)


def _unwrap(document: dict[str, Any]) -> Filter | None:
    """The user's filter inside the ``{"$or": [{"$and": [...]}]}`` wandb wraps it in."""
    if not document:
        return None
    try:
        inner = document["$or"][0]["$and"]
        if len(document) == 1 and len(document["$or"]) == 1 and len(inner) == 1:
            return Filter(inner[0])
    except (KeyError, IndexError, TypeError):
        pass
    return Filter(document)


__all__ = [
    "ArtifactCollectionScope",
    "ArtifactEvent",
    "Automation",
    "DoNothing",
    "NewAutomation",
    "OnAddArtifactAlias",
    "OnAddArtifactTag",
    "OnAddCollectionTag",
    "OnCreateArtifact",
    "OnLinkArtifact",
    "OnRemoveArtifactTag",
    "OnRemoveCollectionTag",
    "OnUnlinkArtifact",
    "ProjectScope",
    "RegistryScope",
    "SendWebhook",
    "WebhookIntegration",
]
