"""The automation outbox: events recorded in the transaction of the change causing them.

Every use case that creates, links, unlinks, aliases or tags a version, or tags a
collection, calls ``record`` with its open write session: the enabled automations whose
event, scope and filter select the change each get a ``webhook_delivery`` (its body
rendered now from the automation's template), under one ``automation_event`` row. Both
commit or roll back with the change itself, so a crash can neither lose an event of a
change that happened nor invent one for a change that did not. Once such a transaction
commits, this process's delivery workers are woken (``deliveries.wake``); the deliveries
wait in the database for any worker otherwise.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, event, or_, select
from sqlalchemy.orm import Session

from cairn.core.automation_rules import matches, render
from cairn.db.models import (
    Automation,
    AutomationEvent,
    Collection,
    Membership,
    WebhookDelivery,
    utcnow,
)
from cairn.protocol_automations import (
    ADD_ARTIFACT_ALIAS,
)
from cairn.service.caller import LOCAL, Caller
from cairn.service.run_filters import regex_compiler

if TYPE_CHECKING:
    from collections.abc import Sequence

    from cairn.protocol import VersionInfo
    from cairn.service.resources import Store


PENDING = "pending"
DELIVERED = "delivered"
NO_OP = "NO_OP"  # an automation whose action does nothing: delivered when recorded
_RECORDED = "cairn_outbox_recorded"
_listeners: list[Any] = []


@dataclasses.dataclass(frozen=True)
class Change:
    """What happened: its type, who did it, where (the collection named in the payload),
    the version (None for a collection tag), and the places whose automations may see it:
    ``(project pk, collection pk)`` pairs."""

    event_type: str
    author: str
    entity: str
    project: str
    collection: str
    places: tuple[tuple[int, int], ...]
    version: VersionInfo | None = None
    aliases: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()


def author(caller: Caller) -> str:
    """The name an event's ``event_author`` shows (the embedded store's owner: ``local``)."""
    return caller.name or "local"


def version_places(session: Session, version_pk: int) -> tuple[tuple[int, int], ...]:
    """Every ``(project pk, collection pk)`` the version is a member of (a version tag is
    seen through all of them)."""
    rows = session.execute(
        select(Collection.project_id, Collection.id)
        .join(Membership, Membership.collection_id == Collection.id)
        .where(Membership.version_id == version_pk)
    )
    return tuple((project_id, collection_id) for project_id, collection_id in rows)


def variables(change: Change, event_uid: str) -> dict[str, str]:
    """The payload variables of an event (``cairn.core.automation_rules.VARIABLES``)."""
    info = change.version
    values = {
        "event_type": change.event_type,
        "event_author": change.author,
        "event_id": event_uid,
        "artifact_collection_name": change.collection,
        "project_name": change.project,
        "entity_name": change.entity,
        "alias": ",".join(change.aliases),
        "tag": ",".join(change.tags),
        "artifact_version": "",
        "artifact_version_string": "",
    }
    if info is not None:
        values["artifact_version"] = info.id
        values["artifact_version_string"] = (
            f"{change.entity}/{change.project}/{change.collection}:v{info.version_index}"
        )
    return values


def record(session: Session, store: Store, change: Change) -> int:
    """Record ``change`` for the automations it selects, in ``session``'s transaction;
    returns how many deliveries it made (0: no automation wants it, nothing written)."""
    if not change.places:
        return 0
    projects = {p for p, _c in change.places}
    collections = {c for _p, c in change.places}
    candidates = session.scalars(
        select(Automation).where(
            Automation.enabled.is_(True),
            Automation.event_type == change.event_type,
            or_(
                Automation.collection_id.in_(collections),
                and_(Automation.collection_id.is_(None), Automation.project_id.in_(projects)),
            ),
        )
    ).all()
    fields: dict[str, Sequence[str]] = {"alias": change.aliases, "tag": change.tags}
    search = regex_compiler(LOCAL)  # RE2 when installed (patterns were checked when saved)
    chosen = [a for a in candidates if matches(a.filter or {}, fields, search)]
    if not chosen:
        return 0
    now = utcnow()
    uid = secrets.token_hex(16)
    values = variables(change, uid)
    row = AutomationEvent(uid=uid, event_type=change.event_type, data=values, created_at=now)
    session.add(row)
    session.flush()
    give_up = now + dt.timedelta(seconds=store.webhooks.give_up_seconds)
    session.add_all(
        WebhookDelivery(
            uid=secrets.token_hex(16),
            event_id=row.id,
            automation_id=automation.id,
            body=render(automation.payload, values),
            state=DELIVERED if automation.action_type == NO_OP else PENDING,
            attempts=0,
            next_attempt_at=now,
            give_up_at=give_up,
            created_at=now,
            finished_at=now if automation.action_type == NO_OP else None,
        )
        for automation in chosen
    )
    if any(automation.action_type != NO_OP for automation in chosen):
        session.info.setdefault(_RECORDED, []).append(store.notify)
    return len(chosen)


def on_recorded(listener: Any) -> None:
    """Call ``listener()`` after each commit of a transaction that recorded deliveries."""
    if listener not in _listeners:
        _listeners.append(listener)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    notify = session.info.pop(_RECORDED, None)
    if notify:
        for listener in [*_listeners, *{n for n in notify if n is not None}]:
            listener()


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_RECORDED, None)


def record_version(
    session: Session,
    store: Store,
    caller: Caller,
    event_type: str,
    info: VersionInfo,
    collection: Collection,
    aliases: Sequence[str] = (),
    tags: Sequence[str] = (),
) -> None:
    """Record one event of a version seen through ``collection`` (its creation, a link,
    an unlink), selecting the automations of that collection and its project."""
    change = Change(
        event_type=event_type,
        author=author(caller),
        entity=info.entity,
        project=info.project,
        collection=info.collection,
        places=((collection.project_id, collection.id),),
        version=info,
        aliases=tuple(aliases),
        tags=tuple(tags),
    )
    record(session, store, change)


def record_aliases(
    session: Session,
    store: Store,
    caller: Caller,
    info: VersionInfo,
    collection: Collection,
    aliases: Sequence[str],
) -> None:
    """An ``ADD_ARTIFACT_ALIAS`` event per alias newly given to the version in
    ``collection`` (``latest``, which the server moves itself, never makes one)."""
    for alias in aliases:
        if alias != "latest":
            record_version(
                session, store, caller, ADD_ARTIFACT_ALIAS, info, collection, aliases=(alias,)
            )


def record_tags(
    session: Session,
    store: Store,
    caller: Caller,
    event_type: str,
    info: VersionInfo,
    version_pk: int,
    tags: Sequence[str],
) -> None:
    """An ``ADD_ARTIFACT_TAG`` / ``REMOVE_ARTIFACT_TAG`` event per tag, seen through every
    collection the version is a member of (tags are the version's, shared by its links)."""
    if not tags:
        return
    places = version_places(session, version_pk)
    for tag in tags:
        change = Change(
            event_type=event_type,
            author=author(caller),
            entity=info.entity,
            project=info.project,
            collection=info.collection,
            places=places,
            version=info,
            tags=(tag,),
        )
        record(session, store, change)


def record_collection_tags(
    session: Session,
    store: Store,
    caller: Caller,
    event_type: str,
    path: tuple[str, str, str],
    collection: Collection,
    tags: Sequence[str],
) -> None:
    """An ``ADD_COLLECTION_TAG`` / ``REMOVE_COLLECTION_TAG`` event per tag of the
    collection at ``path`` (entity, project, name)."""
    for tag in tags:
        change = Change(
            event_type=event_type,
            author=author(caller),
            entity=path[0],
            project=path[1],
            collection=path[2],
            places=((collection.project_id, collection.id),),
            tags=(tag,),
        )
        record(session, store, change)
