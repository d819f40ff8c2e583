"""Copies of versions from another store (``cairn sync``, ``cairn mirror``, imports): what a
copy keeps, and the sync records that make it happen once.

A copy is a commit like any other (``commit.commit_version``: the same checks, limits and
permissions, the caller needing ``write`` on the project), with these rules on top:

- Numbers: the copy is numbered after the collection's latest version, so it keeps its
  source number when the collection is empty or holds exactly the versions before it, and
  is appended otherwise, leaving no gap for versions deleted at the source (the caller
  reports the mapping).
- ``created_at`` is the source's (a TTL counts from it).
- Aliases: an alias another version holds here is a conflict, reported and left where it
  is unless the request forces aliases; ``latest`` follows the commit as always.
- Registry links go to the registries of the same names in this store's organization; a
  registry missing here is refused (``NotFoundError``) before anything is written, as are
  runs (logger, users) that were not copied first.
- The sync record (``replica`` rows, direction "in": origin and source id → version) makes
  a repeated request change nothing; a version already copied only gets what it lacks
  (tags, aliases, links, uses) and the source's description, metadata and TTL.
  ``record_sent`` keeps the other side's record (direction "out").
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import TYPE_CHECKING

from sqlalchemy import select

from cairn.core.names import LATEST
from cairn.core.ttl import TTL_DISABLED, TTL_INHERIT
from cairn.db import repositories as repo
from cairn.db.models import STATE_COMMITTED, Collection, Replica, Version, utcnow
from cairn.protocol import AliasConflict, ReplicaRecord, ReplicaResult, RunEdit, VersionEdit
from cairn.service import facts, history, links, registries, runs
from cairn.service.authz import READ, WRITE, Gate
from cairn.service.commit import commit_version
from cairn.service.edits import edit_version
from cairn.service.lookup import collection_ref, require_project, require_run, require_version
from cairn.service.wire_models import version_infos

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.orm import Session

    from cairn.protocol import ReplicaRun, ReplicaVersion, RunInfo, VersionInfo
    from cairn.service.caller import Caller
    from cairn.service.known_blobs import KnownBlobs
    from cairn.service.resources import Store

STORE_ID = "store_id"
IN = "in"
OUT = "out"
MAX_ID = 128
CLOCK_SKEW = dt.timedelta(minutes=5)  # how far a source's clock may run ahead of ours


def store_id(store: Store) -> str:
    """The store's stable id (made once, kept in ``store_state``)."""
    with store.db.read() as session:
        found = facts.read(session, STORE_ID)
    if found is not None:
        return found
    with store.db.write() as session:
        found = facts.read(session, STORE_ID, for_update=True)
        if found is None:
            found = uuid.uuid4().hex
            facts.write(session, STORE_ID, found)
        return found


def _checked_id(value: str, what: str) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_ID:
        raise ValueError(f"Invalid {what}: expected 1 to {MAX_ID} characters")
    return value


def _checked_time(value: str) -> dt.datetime:
    """Raises ValueError for a time that is not ISO 8601, or is later than now (beyond
    ``CLOCK_SKEW``: a copy cannot be younger than its copying, nor push its TTL away)."""
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        raise ValueError(f"Invalid created_at {value!r}: expected ISO 8601") from None
    moment = moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
    if moment > utcnow() + CLOCK_SKEW:
        raise ValueError(f"Invalid created_at {value!r}: it is in the future")
    return moment


def _infos(session: Session, versions: Sequence[Version]) -> list[VersionInfo]:
    """Each version as seen through its sequence, in order (a fixed number of queries per
    collection, whatever the number of versions)."""
    by_collection: dict[int, list[Version]] = {}
    for version in versions:
        by_collection.setdefault(version.collection_id, []).append(version)
    infos: dict[int, VersionInfo] = {}
    for collection_id, members in by_collection.items():
        ref = collection_ref(session, session.get_one(Collection, collection_id))
        found = version_infos(session, ref, [(v.index, v) for v in members])
        infos.update(zip((v.id for v in members), found, strict=True))
    return [infos[version.id] for version in versions]


def replicas(
    store: Store, caller: Caller, origin: str, entity: str, project: str
) -> list[ReplicaRecord]:
    """The versions of ``entity/project`` copied from ``origin`` (deleted ones included:
    a version deleted here is not copied again).

    Raises: NotFoundError when the project does not exist or the caller cannot read it.
    """
    with store.db.read() as session:
        Gate(session, store, caller).require(READ, entity, project)
        project_row = require_project(session, entity, project)
        query = (
            select(Replica.peer_version_id, Version)
            .join(Version, Replica.version_id == Version.id)
            .join(Collection, Version.collection_id == Collection.id)
            .where(
                Replica.direction == IN,
                Replica.peer == origin,
                Collection.project_id == project_row.id,
            )
        )
        rows = [(source, version) for source, version in session.execute(query)]
        infos = _infos(session, [version for _source, version in rows])
        return [
            ReplicaRecord(origin, source, info)
            for (source, _v), info in zip(rows, infos, strict=True)
        ]


def record_sent(
    store: Store, caller: Caller, peer: str, version_id: str, peer_version_id: str
) -> None:
    """Keep the record that ``version_id`` was copied to ``peer`` as ``peer_version_id``
    (idempotent).

    The caller needs ``write`` on the version's project (a reader may copy versions out,
    but keeps no record here).

    Raises: ValueError (an empty or too long id), NotFoundError (the version does not
    exist or the caller cannot read it), AuthorizationError (the caller may only read it).
    """
    _checked_id(peer, "peer"), _checked_id(peer_version_id, "peer version id")
    with store.db.write() as session:
        version = require_version(session, version_id)
        Gate(session, store, caller).require_version(version, WRITE, version_id)
        _record(session, OUT, peer, peer_version_id, version.id)


def _record(session: Session, direction: str, peer: str, peer_id: str, version_pk: int) -> None:
    found = session.scalars(
        select(Replica).where(
            Replica.direction == direction,
            Replica.peer == peer,
            Replica.peer_version_id == peer_id,
        )
    ).one_or_none()
    if found is None:
        session.add(
            Replica(
                direction=direction,
                peer=peer,
                peer_version_id=peer_id,
                version_id=version_pk,
                created_at=utcnow(),
            )
        )
    else:
        found.version_id = version_pk


def _copied(session: Session, origin: str, source_id: str) -> Version | None:
    return session.scalars(
        select(Version)
        .join(Replica, Replica.version_id == Version.id)
        .where(
            Replica.direction == IN, Replica.peer == origin, Replica.peer_version_id == source_id
        )
    ).one_or_none()


def _check_before(store: Store, caller: Caller, request: ReplicaVersion) -> dict[str, str]:
    """Everything a copy needs that exists only here, and the caller's right to each
    write it makes: the project, the registries of its links (by name → their project),
    the runs it names (the logger in the project; the users in theirs, which the caller
    writes a use into). Raises NotFoundError for the first missing, AuthorizationError
    for the first it may not write."""
    commit = request.commit
    projects = {
        link.registry: registries.get_registry(store, caller, None, link.registry).full_name
        for link in request.links
    }
    with store.db.read() as session:
        gate = Gate(session, store, caller)
        gate.require(WRITE, commit.entity, commit.project)
        for project in projects.values():
            gate.require(WRITE, store.organization, project)
        if commit.run_id is not None:
            require_run(session, commit.entity, commit.project, commit.run_id)
        for entity, project, run_id in request.used_by:
            gate.require(WRITE, entity, project)
            require_run(session, entity, project, run_id)
    return projects


def replicate_version(
    store: Store, caller: Caller, request: ReplicaVersion, known: KnownBlobs | None = None
) -> ReplicaResult:
    """Copy one version by the rules of the module doc; its blobs must be stored already
    (the backend stores those it lacks first).

    Raises:
        ValueError: invalid ids or ``created_at``; as ``commit.commit_version``.
        NotFoundError: a registry or a run it names does not exist here (nothing written).
        AuthorizationError: the caller may not write the project or link into a registry.
        CommError, CorruptionError, NotReadyError: as ``commit.commit_version``.
    """
    _checked_id(request.origin, "origin"), _checked_id(request.source_id, "source id")
    created_at = _checked_time(request.created_at)
    projects = _check_before(store, caller, request)
    commit = dataclasses.replace(request.commit, aliases=())
    with store.db.read() as session:
        existing = _copied(session, request.origin, request.source_id)
        existing_info = _infos(session, [existing])[0] if existing is not None else None
    if existing_info is not None and existing_info.state != STATE_COMMITTED:
        return ReplicaResult(existing_info, created=False, aliases_moved=[], conflicts=[])
    if existing_info is None:
        result = commit_version(store, caller, commit, known, created_at=created_at)
        info, created = result.version, result.created
        with store.db.write() as session:
            version = require_version(session, info.id)
            _record(session, IN, request.origin, request.source_id, version.id)
    else:
        info, created = existing_info, False
    aliases, conflicts = _aliases(store, request, info)
    info = _edit(store, caller, request, info, aliases, created)
    for entity, project, run_id in request.used_by:
        runs.record_use(store, caller, entity, project, run_id, info.id)
    moved = aliases + _link(store, caller, request, info, projects)
    return ReplicaResult(info, created=created, aliases_moved=moved, conflicts=conflicts)


def _aliases(
    store: Store, request: ReplicaVersion, info: VersionInfo
) -> tuple[list[str], list[AliasConflict]]:
    """The request's aliases the version lacks that it may take, and the conflicts (an
    alias another version holds here, unless forced)."""
    wanted = [a for a in dict.fromkeys(request.aliases) if a != LATEST and a not in info.aliases]
    take: list[str] = []
    conflicts: list[AliasConflict] = []
    path = f"{info.entity}/{info.project}/{info.collection}"
    with store.db.read() as session:
        project = require_project(session, info.entity, info.project)
        collection = repo.find_collection(session, project.id, info.collection)
        for alias in wanted:
            held = None
            if collection is not None:
                held = repo.member_by_alias(session, collection.id, alias, (STATE_COMMITTED,))
            if held is not None and not request.force_aliases:
                conflicts.append(AliasConflict(path, alias, held[0]))
            else:
                take.append(alias)
    return take, conflicts


def _edit(
    store: Store,
    caller: Caller,
    request: ReplicaVersion,
    info: VersionInfo,
    aliases: list[str],
    created: bool,
) -> VersionInfo:
    """Give the copy the aliases it takes and, when it existed already, the tags it lacks
    and the source's description, metadata and TTL (one edit; none when nothing differs)."""
    commit = request.commit
    tags = [t for t in commit.tags if t not in info.tags]
    ttl = commit.ttl_duration_seconds
    same_ttl = (ttl is None and info.ttl_is_inherited) or (
        not info.ttl_is_inherited
        and (info.ttl_duration_seconds or TTL_DISABLED) == (ttl or TTL_DISABLED)
    )
    values = (commit.description, commit.metadata) != (info.description, info.metadata)
    if not aliases and (created or (not tags and same_ttl and not values)):
        return info
    edit = VersionEdit(
        entity=info.entity,
        project=info.project,
        collection=info.collection,
        description=commit.description if not created else info.description,
        metadata=commit.metadata if not created else info.metadata,
        aliases_to_add=aliases,
        tags_to_add=tags if not created else (),
        ttl_duration_seconds=None if created or same_ttl else (TTL_INHERIT if ttl is None else ttl),
    )
    return edit_version(store, caller, info.id, edit)


def _link(
    store: Store,
    caller: Caller,
    request: ReplicaVersion,
    info: VersionInfo,
    projects: dict[str, str],
) -> list[str]:
    """Link the copy into each registry of the request that it is not in with all the
    link's aliases; returns the aliases the links gained."""
    if not request.links:
        return []
    have = {
        (link.project, link.collection): set(link.aliases)
        for link in links.list_links(store, caller, info.id)
    }
    moved: list[str] = []
    for link in request.links:
        project = projects[link.registry]
        present = have.get((project, link.collection))
        # ``latest`` of a registry follows its newest link, as on any link
        new = [a for a in link.aliases if a != LATEST and (present is None or a not in present)]
        if present is not None and not new:
            continue
        links.link_version(
            store, caller, info.id, store.organization, project, link.collection, new
        )
        moved.extend(new)
    return moved


def replicate_run(store: Store, caller: Caller, run: ReplicaRun) -> RunInfo:
    """Create the run if missing, set its config and summary, add the history rows after
    its last step, and give it the source's state.

    Raises: ValueError/TypeError (values that cannot be stored), NotFoundError (the
    project cannot be read), AuthorizationError (the caller may not write it).
    """
    e, p, rid = run.entity, run.project, run.run_id
    info = runs.create_run(store, caller, e, p, rid, run.name, run.job_type, run.config, run.group)
    last = info.last_step
    for row in run.history:
        step = row.get("_step")
        if isinstance(step, int) and (last is None or step > last):
            data = {k: v for k, v in row.items() if k != "_step"}
            history.log_history(store, caller, e, p, rid, step, data)
    info = runs.get_run(store, caller, e, p, rid)
    edit = RunEdit(
        config=run.config,
        config_remove=[k for k in info.config if k not in run.config],
        summary=run.summary,
        summary_remove=[k for k in info.summary if k not in run.summary],
    )
    runs.edit_run(store, caller, e, p, rid, edit)
    if run.state != "running":
        runs.finish_run(store, caller, e, p, rid, 0 if run.state == "finished" else 1)
    return runs.get_run(store, caller, e, p, rid)
