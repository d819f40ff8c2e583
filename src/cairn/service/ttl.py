"""Time to live (spec §4.12): default TTLs per entity and project, and the expiry sweeper.

A version's TTL is its own (seconds, or disabled) or inherited: then the default of its
source project applies, else its entity's, else none. A version expires at
``created_at + ttl`` and the sweeper deletes it (soft deletion, aliases dropped, ``latest``
repaired; GC frees the bytes later). Versions linked into a registry never expire. The
embedded store runs the sweeper when it is opened, at most once an hour
(``sweep_if_due``; the last run is recorded in the database so several processes share
the hour, and checked again holding the write lock, and on PostgreSQL an advisory lock
that a process due meanwhile finds taken and skips, so two of them never sweep at once);
``run_sweep(settings)`` runs it by hand; a server runs ``sweep_if_due`` in the
background, once per ``ServerConfig.ttl_sweep_interval_seconds`` (``cairn server
--ttl-sweep-interval``, default an hour; ``cairn.server.ttl_sweeper``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from typing import TYPE_CHECKING

from sqlalchemy import select

from cairn.core.names import validate_entity_name, validate_project_name
from cairn.core.ttl import checked_ttl
from cairn.db import repositories as repo
from cairn.db.models import STATE_COMMITTED, Collection, Entity, Project, Version, utcnow
from cairn.errors import NotFoundError
from cairn.service import facts
from cairn.service.authz import READ, WRITE, Gate
from cairn.service.deletion import lock_collections, retire_version
from cairn.service.links import linked_to_registry
from cairn.service.resources import Store, open_store

if TYPE_CHECKING:
    from cairn.service.caller import Caller
    from cairn.settings import Settings

SWEEP_INTERVAL_SECONDS = 3600.0
SWEEP_LOCK = "ttl_sweep"  # the advisory lock one sweeping process holds (PostgreSQL)


@dataclasses.dataclass(frozen=True)
class SweepResult:
    """What a sweep deleted: ``entity/project/collection:vN`` of each expired version."""

    deleted: list[str]


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def set_default_ttl(
    store: Store, caller: Caller, entity: str, project: str | None, seconds: int | None
) -> None:
    """Set the TTL inherited by versions of ``entity`` (or of one of its projects).

    ``seconds`` None clears the default (a project then inherits its entity's). The
    project (and, in the embedded store, the entity) is created if it does not exist yet.

    Raises:
        ValueError: invalid names, or ``seconds`` not an integer above 0 and at most
            ``core.ttl.MAX_TTL_SECONDS``.
        NotFoundError / AuthorizationError: the caller may not write to it.
    """
    validate_entity_name(entity)
    if project is not None:
        validate_project_name(project)
    if seconds is not None:
        checked_ttl(seconds)
    with store.db.write() as session:
        Gate(session, store, caller).require(WRITE, entity, project)
        if project is None:
            repo.get_or_create_entity(
                session, store.organization, entity
            ).default_ttl_seconds = seconds
        else:
            project_row = repo.get_or_create_project(session, store.organization, entity, project)
            project_row.default_ttl_seconds = seconds


def get_default_ttl(store: Store, caller: Caller, entity: str, project: str | None) -> int | None:
    """The default TTL set on ``entity`` (or on one project, without the entity fallback).

    Raises:
        CommError: the entity or project does not exist, or the caller cannot read it.
    """
    with store.db.read() as session:
        Gate(session, store, caller).require(READ, entity, project)
        if project is None:
            row = session.scalars(select(Entity).where(Entity.name == entity)).one_or_none()
            if row is None:
                raise NotFoundError(f"entity '{entity}' not found")
            return row.default_ttl_seconds
        project_row = repo.find_project(session, entity, project)
        if project_row is None:
            raise NotFoundError(f"project '{entity}/{project}' not found")
        return project_row.default_ttl_seconds


def sweep_expired(store: Store, now: dt.datetime | None = None) -> SweepResult:
    """Delete every committed version whose TTL has passed (one write transaction). Any
    stored TTL is handled, however large (such a version never expires).

    Raises:
        sqlalchemy.exc.OperationalError: the database cannot be written.
    """
    result = _sweep(store, now, None)
    assert result is not None  # swept whenever it was last
    return result


def _due(last: str | None, interval: float) -> bool:
    return last is None or time.time() - float(last) >= interval


def _sweep(store: Store, now: dt.datetime | None, interval: float | None) -> SweepResult | None:
    """``sweep_expired``; with ``interval``, only if no sweep ran for that many seconds
    (checked with the last sweep's row locked: None when not due)."""
    deleted: list[str] = []
    with store.db.write() as session:
        # One sweep at a time: a due sweep skips while another runs, one by hand waits.
        if not facts.advisory_lock(session, SWEEP_LOCK, wait=interval is None):
            return None
        if interval is not None:
            last = facts.read(session, facts.TTL_LAST_SWEEP)
            if not _due(last, interval):
                return None
        moment = _aware(now or utcnow())
        candidates = list(
            session.scalars(
                select(Version).where(
                    Version.state == STATE_COMMITTED,
                    (Version.ttl_is_inherited.is_(True))
                    | (Version.ttl_duration_seconds.is_not(None)),
                )
            )
        )
        inherited = repo.default_ttls(session, [v.id for v in candidates if v.ttl_is_inherited])
        expired = []
        for version in candidates:
            seconds = (
                inherited.get(version.id)
                if version.ttl_is_inherited
                else version.ttl_duration_seconds
            )
            if seconds is None or seconds <= 0:
                continue
            # The age, not ``created_at + ttl``: that date may lie past the year 9999 for a
            # TTL stored before they were bounded (OverflowError), which would keep the
            # embedded store from opening.
            if (moment - _aware(version.created_at)).total_seconds() >= seconds:
                expired.append(version)
        lock_collections(session, [v.id for v in expired])
        protected = linked_to_registry(session, [v.id for v in expired])
        for version in expired:
            if version.id in protected:
                continue
            collection = session.get_one(Collection, version.collection_id)
            project = session.get_one(Project, collection.project_id)
            entity = session.get_one(Entity, project.entity_id)
            retire_version(session, version)
            deleted.append(f"{entity.name}/{project.name}/{collection.name}:v{version.index}")
        facts.write(session, facts.TTL_LAST_SWEEP, repr(time.time()))
    return SweepResult(deleted=deleted)


def sweep_if_due(store: Store, interval: float = SWEEP_INTERVAL_SECONDS) -> SweepResult | None:
    """Sweep unless a sweep ran less than ``interval`` seconds ago (in any process: asked
    first without the write lock, then again holding it, so that of several processes due
    at once one sweeps).

    Returns the sweep's result, or None when it was not due.

    Raises:
        sqlalchemy.exc.OperationalError: the database cannot be written.
    """
    with store.db.read() as session:
        last = facts.read(session, facts.TTL_LAST_SWEEP)
    if not _due(last, interval):
        return None
    return _sweep(store, None, interval)


def run_sweep(settings: Settings) -> SweepResult:
    """Sweep expired versions of the embedded store of ``settings`` now (by hand).

    Raises:
        StoreError: the store cannot be opened.
    """
    store = open_store(settings)
    try:
        return sweep_expired(store)
    finally:
        store.close()
