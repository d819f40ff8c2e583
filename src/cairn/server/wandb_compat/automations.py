"""wandb's automations over GraphQL: ``createFilterTrigger``, ``updateFilterTrigger``,
``deleteTrigger``, ``createGenericWebhookIntegration``, ``Entity.integrations``,
``Entity.triggers``, ``Project.triggers`` and ``User.projects`` (the client's walk of the
viewer's projects). Each calls one ``cairn.service.automations`` function for the
request's caller.

A trigger's scope arrives as an id the facade gave out: a collection's (either form,
``graphql_objects.collection_by_id``), a project's (``Project:<entity>/<project>``) or a
registry's. Its filter arrives as the bare MongoDB-like document and leaves wrapped as
``{"filter": "<document>"}``, as W&B answers.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from ariadne import InterfaceType, ObjectType

from cairn.core.metadata import loads_json
from cairn.errors import NotFoundError
from cairn.protocol_automations import (
    ACTION_NO_OP,
    ACTION_WEBHOOK,
    SCOPE_COLLECTION,
    SCOPE_PROJECT,
    AutomationInfo,
    AutomationSpec,
    IntegrationInfo,
)
from cairn.server.wandb_compat import graphql_objects
from cairn.server.wandb_compat.context import Ctx, Info, ctx, gid, obj, or_none, page
from cairn.service import automations, registries

mutation = ObjectType("Mutation")
entity_type = ObjectType("Entity")
project_type = ObjectType("Project")
user_type = ObjectType("User")
interfaces = [
    InterfaceType(name, lambda value, *_: str(value["__typename"]))
    for name in ("TriggerScope", "TriggeringCondition", "TriggeredAction", "Integration")
]


def _integration_obj(found: IntegrationInfo) -> dict[str, Any]:
    return obj(
        "GenericWebhookIntegration",
        id=found.id,
        name=found.name,
        urlEndpoint=found.url,
        createdAt=found.created_at,
    )


def _trigger_obj(found: AutomationInfo) -> dict[str, Any]:
    spec = found.spec
    if spec.collection is None:
        scope = obj("Project", id=found.scope_id, name=spec.project)
    else:
        kind = "ArtifactSequence" if found.scope_is_sequence else "ArtifactPortfolio"
        scope_id = graphql_objects.collection_id(kind, spec.entity, spec.project, spec.collection)
        scope = obj(kind, id=scope_id, name=spec.collection)
    if found.integration is not None:
        action = obj(
            "GenericWebhookTriggeredAction",
            integration=_integration_obj(found.integration),
            requestPayload=spec.payload,
        )
    else:
        action = obj("NoOpTriggeredAction", noOp=True)
    return obj(
        "Trigger",
        id=found.id,
        name=spec.name,
        description=spec.description,
        enabled=spec.enabled,
        createdAt=found.created_at,
        updatedAt=found.updated_at,
        scopeType=spec.scope_type,
        scope=scope,
        triggeringCondition=obj(
            "FilterEventTriggeringCondition",
            eventType=spec.event_type,
            filter=json.dumps({"filter": json.dumps(spec.filter)}),
        ),
        triggeredAction=action,
    )


def _scope(c: Ctx, scope_type: str, scope_id: str) -> tuple[str, str, str | None]:
    """``(entity, project, collection or None)`` of a trigger's scope id.

    Raises: ValueError (an unsupported scope type); NotFoundError (an id of nothing the
    caller may read).
    """
    if scope_type == SCOPE_COLLECTION:
        found = graphql_objects.collection_by_id(c, scope_id)
        if found is None:
            raise NotFoundError(f"artifact collection '{scope_id}' not found")
        return found.entity, found.project, found.name
    if scope_type != SCOPE_PROJECT:
        raise ValueError(f"Unsupported automation scope {scope_type!r}: PROJECT or collection")
    try:
        kind, _, path = base64.b64decode(scope_id, validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        kind, path = "", ""
    entity, _, project = path.partition("/")
    if kind == "Project" and entity and project:
        return entity, project, None
    for registry in or_none(lambda: registries.list_registries(c.store, c.caller, None)) or []:
        if registry.id == scope_id:
            return registry.entity, registry.full_name, None
    raise NotFoundError(f"project '{scope_id}' not found")


def _action(config: dict[str, Any] | None, action_type: str) -> tuple[str | None, str | None]:
    """``(integration id, payload template)`` of a trigger's action config.

    Raises: ValueError (an action this server does not run).
    """
    if action_type == ACTION_NO_OP:
        return None, None
    if action_type != ACTION_WEBHOOK:
        raise ValueError(f"Unsupported automation action {action_type!r}: GENERIC_WEBHOOK")
    webhook = (config or {}).get("genericWebhookActionInput") or {}
    if not webhook.get("integrationID"):
        raise ValueError("A webhook automation needs genericWebhookActionInput.integrationID")
    return str(webhook["integrationID"]), webhook.get("requestPayload")


def _filter(text: Any) -> dict[str, Any]:
    if not text:
        return {}
    value = loads_json(text, what="eventFilter") if isinstance(text, str) else text
    if not isinstance(value, dict):
        raise ValueError("eventFilter must be a JSON object")
    return value


def _spec(c: Ctx, data: dict[str, Any], base: AutomationSpec | None = None) -> AutomationSpec:
    """The spec the input describes (on top of ``base``, for an update)."""
    if data.get("scopeID") is not None:
        entity, project, collection = _scope(c, str(data.get("scopeType")), str(data["scopeID"]))
    elif base is not None:
        entity, project, collection = base.entity, base.project, base.collection
    else:
        raise ValueError("scopeID is required")
    action_type = data.get("triggeredActionType") or (base.action_type if base else "")
    if data.get("triggeredActionConfig") is not None or base is None:
        integration, payload = _action(data.get("triggeredActionConfig"), str(action_type))
    else:
        integration, payload = base.integration_id, base.payload

    def given(key: str, default: Any) -> Any:
        value = data.get(key)
        return default if value is None else value

    return AutomationSpec(
        name=str(given("name", base.name if base else "")),
        event_type=str(given("triggeringEventType", base.event_type if base else "")),
        entity=entity,
        project=project,
        collection=collection,
        action_type=str(action_type),
        integration_id=integration,
        payload=payload,
        filter=_filter(data["eventFilter"])
        if data.get("eventFilter") is not None
        else (base.filter if base else {}),
        description=given("description", base.description if base else None),
        enabled=bool(given("enabled", base.enabled if base else True)),
    )


@mutation.field("createFilterTrigger")
def create_filter_trigger(_obj: Any, info: Info, input: dict[str, Any]) -> Any:
    c = ctx(info)
    made = automations.create_automation(c.store, c.caller, _spec(c, input))
    return {"trigger": _trigger_obj(made), "clientMutationId": input.get("clientMutationId")}


@mutation.field("updateFilterTrigger")
def update_filter_trigger(_obj: Any, info: Info, input: dict[str, Any]) -> Any:
    c = ctx(info)
    current = next(
        (a for a in automations.list_automations(c.store, c.caller) if a.id == input["id"]),
        None,
    )
    if current is None:
        raise NotFoundError(f"automation '{input['id']}' not found")
    spec = _spec(c, input, current.spec)
    changed = automations.update_automation(c.store, c.caller, current.id, spec)
    return {"trigger": _trigger_obj(changed), "clientMutationId": input.get("clientMutationId")}


@mutation.field("deleteTrigger")
def delete_trigger(_obj: Any, info: Info, input: dict[str, Any]) -> Any:
    c = ctx(info)
    automations.delete_automation(c.store, c.caller, str(input["triggerID"]))
    return {"success": True}


@mutation.field("createGenericWebhookIntegration")
def create_webhook_integration(_obj: Any, info: Info, input: dict[str, Any]) -> Any:
    """An integration without a secret (W&B names a secret it stores elsewhere, by
    reference: ``cairn admin webhook add --secret-file`` sets one)."""
    c = ctx(info)
    made = automations.create_webhook(
        c.store, c.caller, str(input["entityName"]), str(input["name"]), input["urlEndpoint"], None
    )
    return {
        "integration": _integration_obj(made),
        "clientMutationId": input.get("clientMutationId"),
    }


def _connection(c: Ctx, nodes: list[dict[str, Any]], after: str | None, first: int | None) -> Any:
    chunk, page_info = page(nodes, after, first, c.max_page)
    return {"pageInfo": page_info, "edges": [{"node": n, "cursor": None} for n in chunk]}


@entity_type.field("integrations")
def entity_integrations(
    entity: dict[str, Any], info: Info, after: str | None = None, first: int | None = None
) -> Any:
    c = ctx(info)
    found = or_none(lambda: automations.list_webhooks(c.store, c.caller, entity["name"])) or []
    return _connection(c, [_integration_obj(f) for f in found], after, first)


@entity_type.field("triggers")
def entity_triggers(
    entity: dict[str, Any],
    info: Info,
    after: str | None = None,
    first: int | None = None,
    order: str | None = None,
    filters: str | None = None,
) -> Any:
    c = ctx(info)
    wanted = loads_json(filters, what="filters") if filters else {}
    name = wanted.get("name") if isinstance(wanted, dict) else None
    found = automations.list_automations(
        c.store, c.caller, entity["name"], name if isinstance(name, str) else None
    )
    return _connection(c, [_trigger_obj(a) for a in found], after, first)


@project_type.field("triggers")
def project_triggers(project: dict[str, Any], info: Info) -> Any:
    c = ctx(info)
    found = automations.list_automations(c.store, c.caller, project.get("entityName"))
    return [_trigger_obj(a) for a in found if a.spec.project == project["name"]]


@user_type.field("projects")
def user_projects(
    _user: dict[str, Any], info: Info, after: str | None = None, first: int | None = None
) -> Any:
    """The projects holding automations the caller may see (what the client's listing of
    every automation walks)."""
    c = ctx(info)
    places = sorted(
        {(a.spec.entity, a.spec.project) for a in automations.list_automations(c.store, c.caller)}
    )
    nodes = [obj("Project", id=gid("Project", f"{e}/{p}"), name=p, entityName=e) for e, p in places]
    return _connection(c, nodes, after, first)


BINDABLES = [mutation, entity_type, project_type, user_type, *interfaces]
