"""Queries and row-creating helpers over the models, shared by the service use cases.

Lookups return ``None`` when nothing matches (the service turns that into the right
error). ``get_or_create_*`` helpers are safe when two writers create the same row at once
on PostgreSQL: the insert runs in a savepoint and a unique-constraint violation falls back
to reading the winner's row. Batch helpers take many ids and run one query, so listing a
page of versions costs a fixed number of round trips.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError

from cairn.db.models import (
    STATE_COMMITTED,
    Alias,
    ArtifactType,
    Base,
    Collection,
    CollectionTag,
    Entity,
    Membership,
    Organization,
    Project,
    Run,
    RunInput,
    Tag,
    Version,
    utcnow,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from sqlalchemy.orm import Session

RowT = TypeVar("RowT", bound=Base)


def _get_or_create(session: Session, query: Select[RowT], make: Callable[[], RowT]) -> RowT:
    """The row ``query`` finds, else a new row from ``make()`` (race-safe, see module doc)."""
    row = session.scalars(query).one_or_none()
    if row is not None:
        return row
    try:
        with session.begin_nested():
            row = make()
            session.add(row)
    except IntegrityError:
        return session.scalars(query).one()
    return row


def get_or_create_entity(session: Session, organization: str, entity: str) -> Entity:
    """The entity ``entity``, creating it (and the organization) if needed."""
    org = _get_or_create(
        session,
        select(Organization).where(Organization.name == organization),
        lambda: Organization(name=organization, created_at=utcnow()),
    )
    return _get_or_create(
        session,
        select(Entity).where(Entity.name == entity),
        lambda: Entity(organization_id=org.id, name=entity, created_at=utcnow()),
    )


def get_or_create_project(
    session: Session, organization: str, entity: str, project: str
) -> Project:
    """The project ``entity/project``, creating it (and the entity and organization) if needed."""
    entity_row = get_or_create_entity(session, organization, entity)
    return _get_or_create(
        session,
        select(Project).where(Project.entity_id == entity_row.id, Project.name == project),
        lambda: Project(entity_id=entity_row.id, name=project, created_at=utcnow()),
    )


def find_project(session: Session, entity: str, project: str) -> Project | None:
    """The project ``entity/project``, or None."""
    query = (
        select(Project)
        .join(Entity, Project.entity_id == Entity.id)
        .where(Entity.name == entity, Project.name == project)
    )
    return session.scalars(query).one_or_none()


def get_or_create_type(session: Session, project_id: int, name: str) -> ArtifactType:
    """The artifact type ``name`` of a project, created if needed."""
    return _get_or_create(
        session,
        select(ArtifactType).where(
            ArtifactType.project_id == project_id, ArtifactType.name == name
        ),
        lambda: ArtifactType(project_id=project_id, name=name, created_at=utcnow()),
    )


def list_types(session: Session, project_id: int) -> list[ArtifactType]:
    """The artifact types of a project, by name."""
    query = (
        select(ArtifactType)
        .where(ArtifactType.project_id == project_id)
        .order_by(ArtifactType.name)
    )
    return list(session.scalars(query))


def find_collection(
    session: Session, project_id: int, name: str, *, for_update: bool = False
) -> Collection | None:
    """The collection ``name`` of a project, or None.

    ``for_update`` locks the row until the transaction ends (PostgreSQL ``FOR UPDATE``;
    on SQLite the write transaction already holds the database lock).
    """
    query = select(Collection).where(Collection.project_id == project_id, Collection.name == name)
    if for_update:
        query = query.with_for_update()
    return session.scalars(query).one_or_none()


def get_or_create_collection(
    session: Session, project_id: int, type_id: int, name: str, kind: str
) -> Collection:
    """The collection ``name`` of a project, created empty (of ``type_id``/``kind``) if needed."""

    def make() -> Collection:
        now = utcnow()
        return Collection(
            project_id=project_id,
            type_id=type_id,
            name=name,
            kind=kind,
            next_index=0,
            created_at=now,
            updated_at=now,
        )

    return _get_or_create(
        session,
        select(Collection).where(Collection.project_id == project_id, Collection.name == name),
        make,
    )


def list_collections(session: Session, project_id: int, type_id: int | None) -> list[Collection]:
    """The collections of a project (of one type when ``type_id`` is given), by name."""
    query = select(Collection).where(Collection.project_id == project_id)
    if type_id is not None:
        query = query.where(Collection.type_id == type_id)
    return list(session.scalars(query.order_by(Collection.name)))


def find_run(session: Session, project_id: int, run_id: str) -> Run | None:
    """The run ``run_id`` of a project, or None."""
    query = select(Run).where(Run.project_id == project_id, Run.run_id == run_id)
    return session.scalars(query).one_or_none()


def member_by_index(
    session: Session, collection_id: int, index: int, states: Sequence[str]
) -> Version | None:
    """The version at ``index`` of a collection, if its state is one of ``states``."""
    query = (
        select(Version)
        .join(Membership, Membership.version_id == Version.id)
        .where(
            Membership.collection_id == collection_id,
            Membership.index == index,
            Version.state.in_(states),
        )
    )
    return session.scalars(query).one_or_none()


def latest_digests(
    session: Session, entity: str, project: str, collection: str, states: Sequence[str]
) -> tuple[str, str, str] | None:
    """``(digest, digest algorithm, manifest digest)`` of the version ``latest`` points at
    in collection ``entity/project/collection``, if there is one in ``states``: one
    statement, for the re-log check every ``log_artifact`` makes."""
    query = (
        select(Version.digest, Version.digest_algorithm, Version.manifest_digest)
        .join(Alias, Alias.version_id == Version.id)
        .join(
            Membership,
            (Membership.version_id == Version.id)
            & (Membership.collection_id == Alias.collection_id),
        )
        .join(Collection, Collection.id == Alias.collection_id)
        .join(Project, Project.id == Collection.project_id)
        .join(Entity, Entity.id == Project.entity_id)
        .where(
            Entity.name == entity,
            Project.name == project,
            Collection.name == collection,
            Alias.alias == "latest",
            Version.state.in_(states),
        )
    )
    row = session.execute(query).one_or_none()
    return None if row is None else (row[0], row[1], row[2])


def member_by_alias(
    session: Session, collection_id: int, alias: str, states: Sequence[str]
) -> tuple[int, Version] | None:
    """``(index in the collection, version)`` the alias points at, if its state fits."""
    query = (
        select(Membership.index, Version)
        .join(Version, Membership.version_id == Version.id)
        .join(
            Alias,
            (Alias.version_id == Version.id) & (Alias.collection_id == Membership.collection_id),
        )
        .where(
            Membership.collection_id == collection_id,
            Alias.alias == alias,
            Version.state.in_(states),
        )
    )
    row = session.execute(query).one_or_none()
    return None if row is None else (row[0], row[1])


def members_page(
    session: Session,
    collection_id: int,
    states: Sequence[str],
    before_index: int | None,
    limit: int,
) -> list[tuple[int, Version]]:
    """Up to ``limit`` ``(index, version)`` members, newest first, below ``before_index``."""
    query = (
        select(Membership.index, Version)
        .join(Version, Membership.version_id == Version.id)
        .where(Membership.collection_id == collection_id, Version.state.in_(states))
    )
    if before_index is not None:
        query = query.where(Membership.index < before_index)
    query = query.order_by(Membership.index.desc()).limit(limit)
    return [(index, version) for index, version in session.execute(query)]


def count_members(
    session: Session, collection_ids: Sequence[int], states: Sequence[str]
) -> dict[int, int]:
    """How many members in ``states`` each collection has (absent ids count 0)."""
    query = (
        select(Membership.collection_id, func.count())
        .join(Version, Membership.version_id == Version.id)
        .where(Membership.collection_id.in_(collection_ids), Version.state.in_(states))
        .group_by(Membership.collection_id)
    )
    counts = {cid: 0 for cid in collection_ids}
    counts.update({cid: int(n) for cid, n in session.execute(query)})
    return counts


def _grouped(rows: Iterable[Any]) -> dict[int, list[str]]:
    grouped: dict[int, list[str]] = defaultdict(list)
    for key, value in rows:
        grouped[key].append(value)
    return dict(grouped)


def aliases_by_version(
    session: Session, collection_id: int, version_ids: Sequence[int]
) -> dict[int, list[str]]:
    """The aliases each version holds in one collection, in the order they were created."""
    query = (
        select(Alias.version_id, Alias.alias)
        .where(Alias.collection_id == collection_id, Alias.version_id.in_(version_ids))
        .order_by(Alias.id)
    )
    return _grouped(session.execute(query))


def aliases_by_collection(session: Session, collection_ids: Sequence[int]) -> dict[int, list[str]]:
    """Every alias of each collection, in the order they were created."""
    query = (
        select(Alias.collection_id, Alias.alias)
        .where(Alias.collection_id.in_(collection_ids))
        .order_by(Alias.id)
    )
    return _grouped(session.execute(query))


def tags_by_version(session: Session, version_ids: Sequence[int]) -> dict[int, list[str]]:
    """The tags of each version, in the order they were added."""
    query = select(Tag.version_id, Tag.name).where(Tag.version_id.in_(version_ids)).order_by(Tag.id)
    return _grouped(session.execute(query))


def set_aliases(
    session: Session, collection_id: int, version_id: int, aliases: Sequence[str]
) -> list[str]:
    """Point each alias of a collection at ``version_id``, moving it if another version had it.

    Returns the aliases that changed (empty: nothing did).
    """
    if not aliases:
        return []
    query = select(Alias).where(Alias.collection_id == collection_id, Alias.alias.in_(aliases))
    existing = {row.alias: row for row in session.scalars(query)}
    changed: list[str] = []
    now = utcnow()
    for alias in aliases:
        row = existing.get(alias)
        if row is None:
            session.add(
                Alias(
                    collection_id=collection_id, alias=alias, version_id=version_id, created_at=now
                )
            )
            changed.append(alias)
        elif row.version_id != version_id:
            row.version_id = version_id
            row.created_at = now
            changed.append(alias)
    return changed


def add_tags(session: Session, version_id: int, tags: Sequence[str]) -> list[str]:
    """Add the tags a version does not have yet; returns those added."""
    if not tags:
        return []
    query = select(Tag.name).where(Tag.version_id == version_id, Tag.name.in_(tags))
    present = set(session.scalars(query))
    now = utcnow()
    missing = [tag for tag in tags if tag not in present]
    session.add_all(Tag(version_id=version_id, name=tag, created_at=now) for tag in missing)
    return missing


def committed_manifests(session: Session) -> list[tuple[str, int, str]]:
    """``("entity/project/collection", index, manifest blob digest)`` of every committed
    version, in commit order (fsck walks them)."""
    query = (
        select(Entity.name, Project.name, Collection.name, Version.index, Version.manifest_digest)
        .join(Collection, Version.collection_id == Collection.id)
        .join(Project, Collection.project_id == Project.id)
        .join(Entity, Project.entity_id == Entity.id)
        .where(Version.state == STATE_COMMITTED)
        .order_by(Version.id)
    )
    return [
        (f"{entity}/{project}/{name}", index, digest)
        for entity, project, name, index, digest in session.execute(query)
    ]


def find_run_input(session: Session, run_pk: int, version_id: int) -> RunInput | None:
    """The record that run ``run_pk`` used ``version_id``, or None."""
    query = select(RunInput).where(RunInput.run_id == run_pk, RunInput.version_id == version_id)
    return session.scalars(query).one_or_none()


def default_ttls(session: Session, version_ids: Sequence[int]) -> dict[int, int | None]:
    """The TTL each version would inherit: its source project's default, else its entity's."""
    if not version_ids:
        return {}
    query = (
        select(Version.id, Project.default_ttl_seconds, Entity.default_ttl_seconds)
        .join(Collection, Version.collection_id == Collection.id)
        .join(Project, Collection.project_id == Project.id)
        .join(Entity, Project.entity_id == Entity.id)
        .where(Version.id.in_(version_ids))
    )
    return {vid: (p if p is not None else e) for vid, p, e in session.execute(query)}


def collection_tags(session: Session, collection_ids: Sequence[int]) -> dict[int, list[str]]:
    """The tags of each collection, in the order they were added."""
    query = (
        select(CollectionTag.collection_id, CollectionTag.name)
        .where(CollectionTag.collection_id.in_(collection_ids))
        .order_by(CollectionTag.id)
    )
    return _grouped(session.execute(query))
