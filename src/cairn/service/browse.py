"""Read queries of the web UI: projects, pages of collections and versions, search.

The protocol's listings serve the SDK (newest first, keyset cursors); a person browsing
wants other orders and jumps to page N, and a search box over names, aliases, tags and
metadata keys. Each call costs a fixed number of queries whatever the page size; results
are the protocol's wire models or small frozen dataclasses, never rows. Every call shows
only what its caller may read: a listing or a search leaves the rest out.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from sqlalchemy import String, cast, func, select

from cairn.db import repositories as repo
from cairn.db.models import (
    STATE_COMMITTED,
    Alias,
    ArtifactType,
    Collection,
    Entity,
    Membership,
    Project,
    Tag,
    Version,
)
from cairn.errors import NotFoundError
from cairn.service.authz import READ, Gate
from cairn.service.lookup import require_collection, require_project
from cairn.service.registries import scope
from cairn.service.wire_models import CollectionRef, collection_infos, iso, version_infos

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy.orm import Session

    from cairn.protocol import CollectionInfo, VersionInfo
    from cairn.service.caller import Caller
    from cairn.service.resources import Store

SORT_KEYS = ("version", "created", "size", "files")
MAX_PAGE = 500


@dataclasses.dataclass(frozen=True)
class ProjectRow:
    entity: str
    project: str
    created_at: str


@dataclasses.dataclass(frozen=True)
class VersionPage:
    """One page of a collection's committed versions and how many there are in all."""

    items: list[VersionInfo]
    total: int


@dataclasses.dataclass(frozen=True)
class SearchHit:
    """A match: ``kind`` is collection, alias, tag or metadata; ``version_index`` is None
    for a collection; ``matched`` is the name, alias, tag or metadata key that matched."""

    kind: str
    entity: str
    project: str
    type: str
    collection: str
    version_index: int | None
    matched: str


def list_projects(
    store: Store, caller: Caller, entity: str | None = None, limit: int = MAX_PAGE
) -> list[ProjectRow]:
    """Up to ``limit`` projects the caller may read (of ``entity`` only, when given), by
    entity then project name. Raises nothing."""
    query = (
        select(Entity.name, Project.name, Project.created_at)
        .join(Project, Project.entity_id == Entity.id)
        .order_by(Entity.name, Project.name)
    )
    if entity is not None:
        query = query.where(Entity.name == entity)
    found: list[ProjectRow] = []
    with store.db.read() as session:
        gate = Gate(session, store, caller)
        for e, p, created in session.execute(query):
            if gate.can(READ, e, p):
                found.append(ProjectRow(e, p, iso(created)))
                if len(found) >= limit:
                    break
    return found


def _check_page(offset: int, limit: int) -> None:
    if offset < 0 or not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"Invalid page: offset {offset}, limit {limit} (1..{MAX_PAGE})")


def version_page(
    store: Store,
    caller: Caller,
    entity: str,
    project: str,
    collection: str,
    sort: str = "version",
    descending: bool = True,
    offset: int = 0,
    limit: int = 50,
) -> VersionPage:
    """The committed versions of a collection ordered by ``sort`` (one of ``SORT_KEYS``),
    ``limit`` of them from ``offset``.

    Raises:
        CommError: the collection does not exist, or the caller cannot read it.
        ValueError: an unknown ``sort`` or a bad page.
    """
    if sort not in SORT_KEYS:
        raise ValueError(f"Invalid sort {sort!r}: expected one of {', '.join(SORT_KEYS)}")
    _check_page(offset, limit)
    column: Any = {
        "version": Membership.index,
        "created": Version.created_at,
        "size": Version.size,
        "files": Version.file_count,
    }[sort]
    order = [column.desc(), Membership.index.desc()] if descending else [column, Membership.index]
    entity = scope(store, entity, project)
    with store.db.read() as session:
        if not Gate(session, store, caller).can(READ, entity, project):
            raise NotFoundError(f"artifact collection '{entity}/{project}/{collection}' not found")
        ref = require_collection(session, entity, project, collection)
        query = (
            select(Membership.index, Version)
            .join(Version, Membership.version_id == Version.id)
            .where(Membership.collection_id == ref.row.id, Version.state == STATE_COMMITTED)
            .order_by(*order)
            .offset(offset)
            .limit(limit)
        )
        members = [(index, version) for index, version in session.execute(query)]
        total = repo.count_members(session, [ref.row.id], [STATE_COMMITTED])[ref.row.id]
        return VersionPage(items=version_infos(session, ref, members), total=total)


@dataclasses.dataclass(frozen=True)
class CollectionPage:
    """One page of a project's collections (by name) and how many there are in all."""

    items: list[CollectionInfo]
    total: int


def collection_page(
    store: Store,
    caller: Caller,
    entity: str,
    project: str,
    type_name: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> CollectionPage:
    """The collections of a project that have a committed version (only those of
    ``type_name`` when given), by name, ``limit`` of them from ``offset``.

    Raises:
        CommError: the project does not exist, or the caller cannot read it.
        ValueError: a bad page.
    """
    _check_page(offset, limit)
    entity = scope(store, entity, project)
    live = (
        select(Membership.id)
        .join(Version, Membership.version_id == Version.id)
        .where(Membership.collection_id == Collection.id, Version.state == STATE_COMMITTED)
        .exists()
    )
    with store.db.read() as session:
        if not Gate(session, store, caller).can(READ, entity, project):
            raise NotFoundError(f"project '{entity}/{project}' not found")
        project_row = require_project(session, entity, project)
        query = (
            select(Collection, ArtifactType.name)
            .join(ArtifactType, Collection.type_id == ArtifactType.id)
            .where(Collection.project_id == project_row.id, live)
        )
        if type_name is not None:
            query = query.where(ArtifactType.name == type_name)
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = session.execute(query.order_by(Collection.name).offset(offset).limit(limit))
        refs = [CollectionRef(row, entity, project, type_) for row, type_ in rows]
        return CollectionPage(items=collection_infos(session, refs), total=total)


def _names() -> Any:
    return (
        select(Entity.name, Project.name, ArtifactType.name, Collection.name)
        .join(Project, Project.entity_id == Entity.id)
        .join(Collection, Collection.project_id == Project.id)
        .join(ArtifactType, Collection.type_id == ArtifactType.id)
    )


def _metadata_keys(value: Any, prefix: str = "") -> Iterator[str]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield prefix + str(key)
            yield from _metadata_keys(inner, f"{prefix}{key}.")


def _version_hits(
    session: Session, kind: str, rows: list[tuple[int, str]], limit: int
) -> list[SearchHit]:
    """Hits for ``(version id, matched)`` rows, each seen through its source sequence."""
    if not rows:
        return []
    query = (
        _names()
        .add_columns(Version.id, Version.index)
        .join(Version, Version.collection_id == Collection.id)
        .where(Version.id.in_({vid for vid, _m in rows}), Version.state == STATE_COMMITTED)
    )
    where = {row[4]: row for row in session.execute(query)}
    hits = []
    for vid, matched in rows:
        if vid in where:
            entity, project, type_name, collection, _vid, index = where[vid]
            hits.append(SearchHit(kind, entity, project, type_name, collection, index, matched))
    return hits[:limit]


def search(store: Store, caller: Caller, text: str, limit: int = 50) -> list[SearchHit]:
    """Collections whose name, and versions whose alias, tag or metadata key contains
    ``text`` (case-insensitive), up to ``limit`` of each kind, of the projects the caller
    may read.

    Raises: ValueError for empty ``text`` or a bad ``limit``.
    """
    text = text.strip()
    if not text:
        raise ValueError("Search text must not be empty")
    _check_page(0, limit)
    lowered = text.lower()
    with store.db.read() as session:
        hits = [
            SearchHit("collection", e, p, t, c, None, c)
            for e, p, t, c in session.execute(
                _names()
                .where(Collection.name.icontains(text, autoescape=True))
                .order_by(Collection.name)
                .limit(limit)
            )
        ]
        alias_query = (
            _names()
            .add_columns(Alias.alias, Membership.index)
            .join(Alias, Alias.collection_id == Collection.id)
            .join(
                Membership,
                (Membership.collection_id == Collection.id)
                & (Membership.version_id == Alias.version_id),
            )
            .join(Version, Version.id == Alias.version_id)
            .where(Alias.alias.icontains(text, autoescape=True), Version.state == STATE_COMMITTED)
            .order_by(Alias.alias)
            .limit(limit)
        )
        hits += [
            SearchHit("alias", e, p, t, c, index, alias)
            for e, p, t, c, alias, index in session.execute(alias_query)
        ]
        tag_rows = session.execute(
            select(Tag.version_id, Tag.name)
            .where(Tag.name.icontains(text, autoescape=True))
            .order_by(Tag.name)
            .limit(limit)
        ).all()
        hits += _version_hits(session, "tag", [(vid, name) for vid, name in tag_rows], limit)
        meta_rows: list[tuple[int, str]] = []
        candidates = session.execute(
            select(Version.id, Version.metadata_)
            .where(
                cast(Version.metadata_, String).icontains(text, autoescape=True),
                Version.state == STATE_COMMITTED,
            )
            .order_by(Version.id.desc())
            .limit(limit * 4)
        )
        for vid, metadata in candidates:
            key = next((k for k in _metadata_keys(metadata) if lowered in k.lower()), None)
            if key is not None and len(meta_rows) < limit:
                meta_rows.append((vid, key))
        hits += _version_hits(session, "metadata", meta_rows, limit)
        gate = Gate(session, store, caller)
        return [hit for hit in hits if gate.can(READ, hit.entity, hit.project)]
