"""Webhook integrations and automations: who may make, see, change and remove them.

- A webhook integration belongs to an entity (a user, a team, the organization) and is
  made and removed by an admin of it (``manage``). Whoever may read the entity sees it
  (never its secret) and may use it in automations; the organization's are everyone's.
- An automation watches a project (a registry is the organization's
  ``wandb-registry-<name>`` project) or one collection of it: creating, changing or
  removing one needs ``write`` there, seeing one ``read``. It belongs to its scope's
  entity, where its name is unique.

Every URL is checked against the webhook policy when saved (``webhook_targets``), and
again before each delivery. Deliveries and attempts are read through the automation.
"""

from __future__ import annotations

import base64
import re
from typing import TYPE_CHECKING

from sqlalchemy import delete, select

from cairn.core.automation_rules import check_filter, check_template
from cairn.core.digest import b64
from cairn.core.names import validate_entity_name, validate_project_name
from cairn.db import repositories as repo
from cairn.db.models import (
    Automation,
    AutomationEvent,
    Collection,
    Entity,
    Project,
    WebhookAttempt,
    WebhookDelivery,
    WebhookIntegration,
    utcnow,
)
from cairn.errors import AuthorizationError, CommError, NotFoundError
from cairn.protocol_automations import (
    ACTION_NO_OP,
    ACTION_WEBHOOK,
    EVENT_TYPES,
    AttemptInfo,
    AutomationInfo,
    AutomationSpec,
    DeliveryInfo,
    IntegrationInfo,
)
from cairn.service.authz import MANAGE, READ, WRITE, Gate
from cairn.service.lookup import require_collection, require_project
from cairn.service.registries import scope
from cairn.service.run_filters import regex_compiler
from cairn.service.webhook_targets import check_url
from cairn.service.wire_models import encode_collection_id, iso

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.orm import Session

    from cairn.service.caller import Caller
    from cairn.service.resources import Store

_INTEGRATION_NAME = re.compile(r"^[-\w]+( +[-\w]+)*$")
MAX_SECRET = 1024
MAX_DESCRIPTION = 4096
MAX_DELIVERIES = 500


def _encode(kind: str, pk: int) -> str:
    return b64(f"{kind}:{pk}".encode("ascii"))


def _decode(kind: str, value: str) -> int | None:
    try:
        found, _, pk = base64.b64decode(value, validate=True).decode("ascii").partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return int(pk) if found == kind and pk.isascii() and pk.isdigit() else None


def integration_id(pk: int) -> str:
    return _encode("Integration", pk)


def automation_id(pk: int) -> str:
    return _encode("Trigger", pk)


def _readable(gate: Gate, store: Store, entity: str) -> bool:
    """Whether the caller may see (and use) ``entity``'s integrations."""
    return entity == store.organization or gate.can(READ, entity)


def _integration_info(row: WebhookIntegration, entity: str) -> IntegrationInfo:
    return IntegrationInfo(
        id=integration_id(row.id),
        entity=entity,
        name=row.name,
        url=row.url,
        has_secret=bool(row.secret),
        created_at=iso(row.created_at),
    )


def create_webhook(
    store: Store, caller: Caller, entity: str, name: str, url: str, secret: str | None
) -> IntegrationInfo:
    """Save a webhook integration of ``entity``; the secret signs its bodies and is never
    shown again.

    Raises:
        ValueError: a bad name (letters, digits, ``-``, ``_``, single spaces; at most 64),
            a secret over 1024 characters, a URL the webhook policy refuses.
        NotFoundError: no such entity (or the caller cannot read it).
        AuthorizationError: the caller is not an admin of the entity.
        CommError: the entity has an integration of that name.
    """
    validate_entity_name(entity)
    if not isinstance(name, str) or len(name) > 64 or not _INTEGRATION_NAME.match(name):
        raise ValueError(f"Invalid integration name {name!r}: letters, digits, - and _")
    if secret is not None and (not isinstance(secret, str) or len(secret) > MAX_SECRET):
        raise ValueError("Invalid webhook secret: at most 1024 characters")
    with store.db.read() as session:  # the gate first: an outsider learns nothing of a URL
        Gate(session, store, caller).require(MANAGE, entity)
    check_url(url, store.webhooks)  # resolves the host: outside the write transaction
    with store.db.write() as session:
        Gate(session, store, caller).require(MANAGE, entity)
        entity_row = repo.get_or_create_entity(session, store.organization, entity)
        taken = session.scalars(
            select(WebhookIntegration.id).where(
                WebhookIntegration.entity_id == entity_row.id, WebhookIntegration.name == name
            )
        ).first()
        if taken is not None:
            raise CommError(f"Integration {name!r} of '{entity}' exists")
        row = WebhookIntegration(
            entity_id=entity_row.id,
            name=name,
            url=url.strip(),
            secret=secret or None,
            created_by=caller.name or None,
            created_at=utcnow(),
        )
        session.add(row)
        session.flush()
        return _integration_info(row, entity)


def list_webhooks(store: Store, caller: Caller, entity: str) -> list[IntegrationInfo]:
    """The webhook integrations of ``entity``, by name.

    Raises: NotFoundError (the caller cannot read the entity).
    """
    with store.db.read() as session:
        gate = Gate(session, store, caller)
        if not _readable(gate, store, entity):
            raise NotFoundError(f"'{entity}' not found")
        rows = session.scalars(
            select(WebhookIntegration)
            .join(Entity, WebhookIntegration.entity_id == Entity.id)
            .where(Entity.name == entity)
            .order_by(WebhookIntegration.name)
        )
        return [_integration_info(row, entity) for row in rows]


def delete_webhook(store: Store, caller: Caller, entity: str, name: str) -> None:
    """Remove an integration of ``entity``.

    Raises: NotFoundError (no such integration, or the caller cannot read the entity);
    AuthorizationError (not an admin of it); CommError (automations still use it: remove
    them first).
    """
    with store.db.write() as session:
        Gate(session, store, caller).require(MANAGE, entity)
        row = session.scalars(
            select(WebhookIntegration)
            .join(Entity, WebhookIntegration.entity_id == Entity.id)
            .where(Entity.name == entity, WebhookIntegration.name == name)
        ).one_or_none()
        if row is None:
            raise NotFoundError(f"integration {name!r} of '{entity}' not found")
        users = session.scalars(
            select(Automation.name).where(Automation.integration_id == row.id)
        ).all()
        if users:
            raise CommError(
                f"Integration {name!r} is used by automation(s) {', '.join(sorted(users))}: "
                "remove them first"
            )
        session.delete(row)


def _checked(spec: AutomationSpec, caller: Caller) -> tuple[dict[str, object], str | None]:
    """Validate a spec before any transaction: its filter (``$regex`` compiled as the
    caller's run filters are: RE2 on a server) and payload template.

    Raises: ValueError.
    """
    if not isinstance(spec.name, str) or not spec.name.strip() or len(spec.name) > 255:
        raise ValueError("Invalid automation name: 1 to 255 characters")
    if spec.description is not None and len(spec.description) > MAX_DESCRIPTION:
        raise ValueError("Invalid automation description: at most 4096 characters")
    if spec.event_type not in EVENT_TYPES:
        raise ValueError(
            f"Unsupported automation event {spec.event_type!r}: expected one of "
            f"{', '.join(EVENT_TYPES)}"
        )
    if spec.action_type not in (ACTION_WEBHOOK, ACTION_NO_OP):
        raise ValueError(f"Unsupported automation action {spec.action_type!r}")
    if spec.action_type == ACTION_WEBHOOK and not spec.integration_id:
        raise ValueError("A webhook automation needs a webhook integration")
    validate_entity_name(spec.entity)
    validate_project_name(spec.project)
    return check_filter(spec.filter, regex_compiler(caller)), check_template(spec.payload)


def _place(
    session: Session, gate: Gate, store: Store, spec: AutomationSpec
) -> tuple[Entity, Project, Collection | None]:
    """The scope's entity, project and collection rows, write access checked.

    Raises: NotFoundError, AuthorizationError.
    """
    owner = scope(store, spec.entity, spec.project)
    gate.require(WRITE, owner, spec.project)
    project = require_project(session, owner, spec.project)
    collection = None
    if spec.collection is not None:
        collection = require_collection(session, owner, spec.project, spec.collection).row
    return session.get_one(Entity, project.entity_id), project, collection


def _integration(
    session: Session, gate: Gate, store: Store, spec: AutomationSpec
) -> WebhookIntegration | None:
    """Raises: NotFoundError (no such integration, or not one the caller may use)."""
    if spec.action_type != ACTION_WEBHOOK or spec.integration_id is None:
        return None
    pk = _decode("Integration", spec.integration_id)
    row = None if pk is None else session.get(WebhookIntegration, pk)
    if row is None or not _readable(gate, store, session.get_one(Entity, row.entity_id).name):
        raise NotFoundError(f"integration '{spec.integration_id}' not found")
    return row


def _info(session: Session, row: Automation) -> AutomationInfo:
    project = session.get_one(Project, row.project_id)
    entity = session.get_one(Entity, project.entity_id)
    collection = None if row.collection_id is None else session.get(Collection, row.collection_id)
    integration = None
    if row.integration_id is not None:
        found = session.get_one(WebhookIntegration, row.integration_id)
        integration = _integration_info(found, session.get_one(Entity, found.entity_id).name)
    spec = AutomationSpec(
        name=row.name,
        event_type=row.event_type,
        entity=entity.name,
        project=project.name,
        collection=None if collection is None else collection.name,
        action_type=row.action_type,
        integration_id=None if integration is None else integration.id,
        payload=row.payload,
        filter=dict(row.filter or {}),
        description=row.description,
        enabled=row.enabled,
    )
    if collection is None:
        scope_id = base64.b64encode(f"Project:{entity.name}/{project.name}".encode()).decode()
    else:
        scope_id = encode_collection_id(collection.id)
    return AutomationInfo(
        id=automation_id(row.id),
        owner=entity.name,
        spec=spec,
        scope_id=scope_id,
        scope_is_sequence=collection is not None and collection.kind == "sequence",
        integration=integration,
        created_by=row.created_by,
        created_at=iso(row.created_at),
        updated_at=iso(row.updated_at),
    )


def _name_taken(session: Session, entity_id: int, name: str, but: int | None = None) -> bool:
    query = select(Automation.id).where(Automation.entity_id == entity_id, Automation.name == name)
    if but is not None:
        query = query.where(Automation.id != but)
    return session.scalars(query).first() is not None


def create_automation(store: Store, caller: Caller, spec: AutomationSpec) -> AutomationInfo:
    """Save an automation.

    Raises:
        ValueError: an unsupported event or action, a bad name, filter or payload
            template, a webhook action without an integration.
        NotFoundError: the scope or the integration does not exist (or the caller cannot
            read it).
        AuthorizationError: the caller may not write to the scope.
        CommError: the scope's entity has an automation of that name.
    """
    filter_, payload = _checked(spec, caller)
    with store.db.write() as session:
        gate = Gate(session, store, caller)
        entity, project, collection = _place(session, gate, store, spec)
        integration = _integration(session, gate, store, spec)
        if _name_taken(session, entity.id, spec.name):
            raise CommError(f"Automation {spec.name!r} exists")
        now = utcnow()
        row = Automation(
            entity_id=entity.id,
            name=spec.name,
            description=spec.description,
            enabled=bool(spec.enabled),
            event_type=spec.event_type,
            scope_type=spec.scope_type,
            project_id=project.id,
            collection_id=None if collection is None else collection.id,
            filter=filter_,
            action_type=spec.action_type,
            integration_id=None if integration is None else integration.id,
            payload=payload,
            created_by=caller.name or None,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        session.flush()
        return _info(session, row)


def _require_automation(session: Session, gate: Gate, value: str, action: str) -> Automation:
    """Raises: NotFoundError (unknown, or the caller cannot read its scope);
    AuthorizationError (it can read but not ``action``)."""
    pk = _decode("Trigger", value)
    row = None if pk is None else session.get(Automation, pk)
    if row is None:
        raise NotFoundError(f"automation '{value}' not found")
    project = session.get_one(Project, row.project_id)
    entity = session.get_one(Entity, project.entity_id).name
    if not gate.can(READ, entity, project.name):
        raise NotFoundError(f"automation '{value}' not found")
    if action != READ and not gate.can(action, entity, project.name):
        raise AuthorizationError(f"you may not change automation '{row.name}'")
    return row


def list_automations(
    store: Store, caller: Caller, entity: str | None = None, name: str | None = None
) -> list[AutomationInfo]:
    """The automations the caller may read (of ``entity``'s scopes, named ``name``, when
    given), by entity and name."""
    with store.db.read() as session:
        gate = Gate(session, store, caller)
        query = (
            select(Automation, Entity.name, Project.name)
            .join(Project, Automation.project_id == Project.id)
            .join(Entity, Project.entity_id == Entity.id)
            .order_by(Entity.name, Automation.name)
        )
        if entity is not None:
            query = query.where(Entity.name == entity)
        if name is not None:
            query = query.where(Automation.name == name)
        return [
            _info(session, row)
            for row, owner, project in session.execute(query).all()
            if gate.can(READ, owner, project)
        ]


def update_automation(
    store: Store, caller: Caller, value: str, spec: AutomationSpec
) -> AutomationInfo:
    """Replace an automation's spec (its id and creation stay).

    Raises: as ``create_automation``; NotFoundError also for an unknown id.
    """
    filter_, payload = _checked(spec, caller)
    with store.db.write() as session:
        gate = Gate(session, store, caller)
        row = _require_automation(session, gate, value, WRITE)
        entity, project, collection = _place(session, gate, store, spec)
        integration = _integration(session, gate, store, spec)
        if _name_taken(session, entity.id, spec.name, but=row.id):
            raise CommError(f"Automation {spec.name!r} exists")
        row.entity_id, row.name, row.description = entity.id, spec.name, spec.description
        row.enabled, row.event_type, row.scope_type = (
            bool(spec.enabled),
            spec.event_type,
            spec.scope_type,
        )
        row.project_id = project.id
        row.collection_id = None if collection is None else collection.id
        row.filter, row.payload, row.action_type = filter_, payload, spec.action_type
        row.integration_id = None if integration is None else integration.id
        row.updated_at = utcnow()
        session.flush()
        return _info(session, row)


def delete_automation(store: Store, caller: Caller, value: str) -> None:
    """Remove an automation with its deliveries and their attempts.

    Raises: NotFoundError, AuthorizationError (see ``_require_automation``).
    """
    with store.db.write() as session:
        row = _require_automation(session, Gate(session, store, caller), value, WRITE)
        deliveries = select(WebhookDelivery.id).where(WebhookDelivery.automation_id == row.id)
        session.execute(delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(deliveries)))
        session.execute(delete(WebhookDelivery).where(WebhookDelivery.automation_id == row.id))
        session.delete(row)


def list_deliveries(
    store: Store, caller: Caller, value: str, limit: int = 50
) -> list[DeliveryInfo]:
    """An automation's deliveries, newest first, each with its attempts.

    Raises: NotFoundError (unknown, or the caller cannot read its scope).
    """
    limit = max(1, min(int(limit), MAX_DELIVERIES))
    with store.db.read() as session:
        row = _require_automation(session, Gate(session, store, caller), value, READ)
        found = session.execute(
            select(WebhookDelivery, AutomationEvent)
            .join(AutomationEvent, WebhookDelivery.event_id == AutomationEvent.id)
            .where(WebhookDelivery.automation_id == row.id)
            .order_by(WebhookDelivery.id.desc())
            .limit(limit)
        ).all()
        attempts = _attempts(session, [delivery.id for delivery, _event in found])
        return [
            DeliveryInfo(
                id=delivery.uid,
                event_id=event.uid,
                event_type=event.event_type,
                state=delivery.state,
                body=delivery.body,
                created_at=iso(delivery.created_at),
                next_attempt_at=iso(delivery.next_attempt_at)
                if delivery.state == "pending"
                else None,
                attempts=attempts.get(delivery.id, []),
            )
            for delivery, event in found
        ]


def _attempts(session: Session, ids: Sequence[int]) -> dict[int, list[AttemptInfo]]:
    grouped: dict[int, list[AttemptInfo]] = {}
    if not ids:
        return grouped
    for row in session.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id.in_(ids))
        .order_by(WebhookAttempt.number)
    ):
        grouped.setdefault(row.delivery_id, []).append(
            AttemptInfo(
                number=row.number,
                started_at=iso(row.started_at),
                duration_ms=row.duration_ms,
                status_code=row.status_code,
                response_head=row.response_head,
                error=row.error,
            )
        )
    return grouped


def require_operator(caller: Caller) -> None:
    """Sending every pending delivery now is the store owner's or a server admin's.

    Raises: AuthorizationError.
    """
    if not (caller.local or caller.is_admin):
        raise AuthorizationError("only a server admin may send pending deliveries")
