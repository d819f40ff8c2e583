"""Links (spec §4.13): a version's membership in a portfolio, with its own index and aliases.

``link_version`` puts a committed version into the portfolio ``entity/project/collection``
(a registry collection when the project is ``wandb-registry-<name>``, scoped to the
organization's entity; a plain project's portfolio otherwise), creating the portfolio on
first use. The link gets the portfolio's next index (never reused) and ``latest`` moves to
it, as W&B moves ``latest`` to the most recently linked version. Linking a version that is
already a member keeps its index and only applies the aliases. Versions linked into a
registry never expire: their TTL is disabled (W&B forbids TTLs on them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from cairn.core.names import (
    LATEST,
    validate_artifact_name,
    validate_entity_name,
    validate_project_name,
)
from cairn.core.registry import REGISTRY_PREFIX, is_registry_project
from cairn.db import repositories as repo
from cairn.db.models import (
    COLLECTION_PORTFOLIO,
    COLLECTION_SEQUENCE,
    STATE_COMMITTED,
    Alias,
    ArtifactType,
    Collection,
    Membership,
    Project,
    utcnow,
)
from cairn.errors import CommError, NotFoundError
from cairn.protocol_automations import LINK_ARTIFACT, UNLINK_ARTIFACT
from cairn.service import fields, outbox
from cairn.service.authz import READ, WRITE, Gate
from cairn.service.deletion import restore_latest
from cairn.service.lookup import collection_ref, require_collection, require_version
from cairn.service.registries import check_type_allowed, require_registry, scope
from cairn.service.wire_models import CollectionRef, version_infos

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.orm import Session

    from cairn.protocol import VersionInfo
    from cairn.service.caller import Caller
    from cairn.service.resources import Store

MAX_LINKS = 500


def link_version(
    store: Store,
    caller: Caller,
    version_id: str,
    entity: str,
    project: str,
    collection: str,
    aliases: Sequence[str],
) -> VersionInfo:
    """Link a committed version into a portfolio; returns the link as seen through it.

    The caller must be able to read the version and write to the target (for a registry,
    the ``member`` role there).

    Raises:
        ValueError: invalid names or aliases (too many included); the target is a
            sequence, or a portfolio of another type; the registry does not accept the
            version's type.
        CommError: the version does not exist, is deleted, or the caller cannot read it;
            the registry does not exist or the caller cannot read it.
        AuthorizationError: the caller may not write to the target.
    """
    entity = scope(store, validate_entity_name(entity), validate_project_name(project))
    validate_artifact_name(collection)
    wanted = fields.user_aliases(aliases, store.limits)
    with store.db.write() as session:
        gate = Gate(session, store, caller)
        version = require_version(session, version_id)
        gate.require_version(version, READ, version_id)
        if version.state != STATE_COMMITTED:
            raise NotFoundError(f"artifact '{version_id}' not found")
        gate.require(WRITE, entity, project)
        type_name = session.get_one(ArtifactType, version.type_id).name
        if is_registry_project(project):
            registry_name = project[len(REGISTRY_PREFIX) :]
            _project, registry = require_registry(session, store, registry_name)
            check_type_allowed(registry, registry_name, type_name)
            version.ttl_duration_seconds, version.ttl_is_inherited = None, False
        project_row = repo.get_or_create_project(session, store.organization, entity, project)
        row = repo.find_collection(session, project_row.id, collection, for_update=True)
        if row is None:
            type_row = repo.get_or_create_type(session, project_row.id, type_name)
            row = repo.get_or_create_collection(
                session, project_row.id, type_row.id, collection, COLLECTION_PORTFOLIO
            )
            session.refresh(row, with_for_update=True)
        if row.kind == COLLECTION_SEQUENCE:
            raise ValueError(
                f"Cannot link into '{entity}/{project}/{collection}': it is a collection "
                "artifacts are logged into, not a portfolio"
            )
        portfolio_type = session.get_one(ArtifactType, row.type_id).name
        if portfolio_type != type_name:
            raise ValueError(
                f"Cannot link an artifact of type '{type_name}' into collection "
                f"'{collection}' of type '{portfolio_type}'"
            )
        member = session.scalars(
            select(Membership).where(
                Membership.collection_id == row.id, Membership.version_id == version.id
            )
        ).one_or_none()
        now = utcnow()
        linked = member is None
        if member is None:
            member = Membership(
                collection_id=row.id, index=row.next_index, version_id=version.id, created_at=now
            )
            row.next_index += 1
            session.add(member)
        row.updated_at = now
        aliased = repo.set_aliases(session, row.id, version.id, [LATEST, *wanted])
        fields.check_totals(session, row.id, version.id, store.limits)
        ref = CollectionRef(row=row, entity=entity, project=project, type_name=type_name)
        info = version_infos(session, ref, [(member.index, version)])[0]
        if linked:  # a version linked again only gains aliases
            outbox.record_version(session, store, caller, LINK_ARTIFACT, info, row, aliases=wanted)
        outbox.record_aliases(session, store, caller, info, row, aliased)
        return info


def unlink_version(
    store: Store, caller: Caller, version_id: str, entity: str, project: str, name: str
) -> None:
    """Remove a version's membership and aliases in a portfolio; nothing else changes.

    Raises:
        ValueError: the collection is a sequence (the version's own), not a portfolio.
        CommError: no such collection (or the caller cannot read it), or the version is
            not linked into it.
        AuthorizationError: the caller may not write to the portfolio.
    """
    entity = scope(store, entity, project)
    with store.db.write() as session:
        Gate(session, store, caller).require(WRITE, entity, project)
        version = require_version(session, version_id)
        ref = require_collection(session, entity, project, name)
        session.refresh(ref.row, with_for_update=True)  # its aliases change (service.deletion)
        if ref.row.kind == COLLECTION_SEQUENCE:
            raise ValueError(
                f"Artifact '{ref.path}' is not a linked artifact and cannot be unlinked.  "
                "To delete it, use 'Artifact.delete' instead."
            )
        member = session.scalars(
            select(Membership).where(
                Membership.collection_id == ref.row.id, Membership.version_id == version.id
            )
        ).one_or_none()
        if member is None:
            raise CommError(f"artifact '{version_id}' is not linked into '{ref.path}'")
        info = version_infos(session, ref, [(member.index, version)])[0]
        for alias in session.scalars(
            select(Alias).where(Alias.collection_id == ref.row.id, Alias.version_id == version.id)
        ):
            session.delete(alias)
        session.delete(member)
        restore_latest(session, {ref.row.id})
        outbox.record_version(session, store, caller, UNLINK_ARTIFACT, info, ref.row)


def list_links(
    store: Store, caller: Caller, version_id: str, limit: int = MAX_LINKS
) -> list[VersionInfo]:
    """The version as seen through each portfolio it is linked into that the caller may
    read, oldest link first.

    Raises:
        CommError: the version does not exist, or the caller cannot read it.
    """
    with store.db.read() as session:
        gate = Gate(session, store, caller)
        version = require_version(session, version_id)
        gate.require_version(version, READ, version_id)
        if version.state != STATE_COMMITTED:
            return []
        query = (
            select(Membership.index, Collection)
            .join(Collection, Membership.collection_id == Collection.id)
            .where(Membership.version_id == version.id, Collection.kind == COLLECTION_PORTFOLIO)
            .order_by(Membership.id)
            .limit(min(limit, MAX_LINKS))
        )
        infos = []
        for index, collection in session.execute(query).all():
            ref = collection_ref(session, collection)
            if not gate.can(READ, ref.entity, ref.project):
                continue
            infos.extend(version_infos(session, ref, [(index, version)]))
        return infos


def linked_to_registry(session: Session, version_ids: Sequence[int]) -> set[int]:
    """Which of the version primary keys are linked into a registry collection."""
    if not version_ids:
        return set()
    query = (
        select(Membership.version_id)
        .join(Collection, Membership.collection_id == Collection.id)
        .join(Project, Collection.project_id == Project.id)
        .where(
            Membership.version_id.in_(version_ids),
            Project.name.like(REGISTRY_PREFIX + "%"),
        )
    )
    return set(session.scalars(query))
