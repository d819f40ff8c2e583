"""Turn rows into the protocol's wire models (``VersionInfo``, ``CollectionInfo``, ``RunInfo``).

Rows never leave the service: every answer is plain data built here. Building the
models for a page of versions or collections costs a fixed number of queries, whatever
the page size. Timestamps are ISO 8601 in UTC with a ``Z`` suffix, to the second, as
W&B's server writes them.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import select

from cairn.core.digest import b64, encode_artifact_id
from cairn.db import repositories as repo
from cairn.db.models import (
    COLLECTION_SEQUENCE,
    STATE_COMMITTED,
    ArtifactType,
    Collection,
    Entity,
    Membership,
    Project,
    Run,
    Version,
)
from cairn.protocol import CollectionInfo, RunInfo, VersionInfo

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.orm import Session


@dataclasses.dataclass(frozen=True)
class CollectionRef:
    """A collection row with the names of its entity, project and type."""

    row: Collection
    entity: str
    project: str
    type_name: str

    @property
    def path(self) -> str:
        return f"{self.entity}/{self.project}/{self.row.name}"


def iso(moment: dt.datetime) -> str:
    """``2024-05-01T12:00:00Z``; naive values (SQLite drops the zone) are taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def encode_collection_id(pk: int) -> str:
    """The wire id of a collection: base64 of ``"ArtifactCollection:<pk>"`` (W&B form)."""
    return b64(f"ArtifactCollection:{pk}".encode("ascii"))


def decode_collection_id(value: str) -> int | None:
    """The primary key an ``encode_collection_id`` id names; None for any other string."""
    try:
        kind, _, pk = base64.b64decode(value, validate=True).decode("ascii").partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    if kind != "ArtifactCollection" or not (pk.isascii() and pk.isdigit()):
        return None
    return int(pk)


def run_info(run: Run, entity: str, project: str) -> RunInfo:
    return RunInfo(
        id=run.run_id,
        entity=entity,
        project=project,
        name=run.name,
        job_type=run.job_type,
        config=dict(run.config),
        state=run.state,
        created_at=iso(run.created_at),
        summary=dict(run.summary or {}),
        last_step=run.last_step,
        finished_at=None if run.finished_at is None else iso(run.finished_at),
        project_internal_id=run.project_id,
        group=run.group_name,
        created_by=run.created_by,
    )


def _source_paths(session: Session, versions: Sequence[Version]) -> dict[int, tuple[str, str, str]]:
    """``version id -> (entity, project, collection)`` of each version's source sequence."""
    query = (
        select(Version.id, Entity.name, Project.name, Collection.name)
        .join(Collection, Version.collection_id == Collection.id)
        .join(Project, Collection.project_id == Project.id)
        .join(Entity, Project.entity_id == Entity.id)
        .where(Version.id.in_([v.id for v in versions]))
    )
    return {vid: (entity, project, name) for vid, entity, project, name in session.execute(query)}


def version_infos(
    session: Session, view: CollectionRef, members: Sequence[tuple[int, Version]]
) -> list[VersionInfo]:
    """The wire models of ``(index in view, version)`` members, as seen through ``view``."""
    if not members:
        return []
    versions = [version for _index, version in members]
    ids = [v.id for v in versions]
    sources = _source_paths(session, versions)
    type_query = select(ArtifactType.id, ArtifactType.name).where(
        ArtifactType.id.in_({v.type_id for v in versions})
    )
    type_names = {type_id: name for type_id, name in session.execute(type_query)}
    run_pks = {v.logged_by_run_id for v in versions if v.logged_by_run_id is not None}
    run_query = select(Run.id, Run.run_id).where(Run.id.in_(run_pks))
    run_ids = {pk: run_id for pk, run_id in session.execute(run_query)} if run_pks else {}
    aliases = repo.aliases_by_version(session, view.row.id, ids)
    tags = repo.tags_by_version(session, ids)
    inherited = repo.default_ttls(session, [v.id for v in versions if v.ttl_is_inherited])
    linked_at: dict[int, dt.datetime] = {}
    if view.row.kind != COLLECTION_SEQUENCE:
        link_query = select(Membership.version_id, Membership.created_at).where(
            Membership.collection_id == view.row.id, Membership.version_id.in_(ids)
        )
        linked_at = {vid: moment for vid, moment in session.execute(link_query)}
    infos = []
    for index, version in members:
        source_entity, source_project, source_collection = sources[version.id]
        infos.append(
            VersionInfo(
                id=encode_artifact_id(version.id),
                entity=view.entity,
                project=view.project,
                collection=view.row.name,
                version_index=index,
                source_entity=source_entity,
                source_project=source_project,
                source_collection=source_collection,
                source_version_index=version.index,
                type=type_names[version.type_id],
                digest=version.digest,
                digest_algorithm=version.digest_algorithm,
                description=version.description,
                metadata=dict(version.metadata_),
                aliases=aliases.get(version.id, []),
                tags=tags.get(version.id, []),
                state=version.state,
                size=version.size,
                file_count=version.file_count,
                created_at=iso(version.created_at),
                updated_at=iso(version.updated_at),
                commit_hash=version.commit_hash,
                ttl_duration_seconds=(
                    inherited.get(version.id)
                    if version.ttl_is_inherited
                    else version.ttl_duration_seconds
                ),
                ttl_is_inherited=version.ttl_is_inherited,
                history_step=version.history_step,
                logged_by_run_id=(
                    run_ids[version.logged_by_run_id]
                    if version.logged_by_run_id is not None
                    else None
                ),
                storage_region=version.storage_region,
                linked_at=iso(linked_at[version.id]) if version.id in linked_at else None,
            )
        )
    return infos


def collection_infos(session: Session, refs: Sequence[CollectionRef]) -> list[CollectionInfo]:
    """The wire models of collections (version counts and aliases in two queries)."""
    ids = [ref.row.id for ref in refs]
    counts = repo.count_members(session, ids, [STATE_COMMITTED]) if ids else {}
    aliases = repo.aliases_by_collection(session, ids) if ids else {}
    tags = repo.collection_tags(session, ids) if ids else {}
    return [
        CollectionInfo(
            id=encode_collection_id(ref.row.id),
            entity=ref.entity,
            project=ref.project,
            name=ref.row.name,
            type=ref.type_name,
            description=ref.row.description,
            tags=tags.get(ref.row.id, []),
            aliases=list(dict.fromkeys(aliases.get(ref.row.id, []))),
            is_sequence=ref.row.kind == COLLECTION_SEQUENCE,
            created_at=iso(ref.row.created_at),
            version_count=counts[ref.row.id],
        )
        for ref in refs
    ]
