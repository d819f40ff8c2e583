"""Find what a call names, or raise ``NotFoundError`` saying exactly what was not found.

Every use case resolves its ``entity/project/...`` arguments through these helpers, so
"not found" reads the same everywhere (and over HTTP, where the server maps it to 404).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from cairn.core.digest import decode_artifact_id
from cairn.db import repositories as repo
from cairn.db.models import ArtifactType, Collection, Entity, Project, Run, Version
from cairn.errors import NotFoundError
from cairn.service.wire_models import CollectionRef

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def require_project(session: Session, entity: str, project: str) -> Project:
    """Raises: NotFoundError ``"project '<entity>/<project>' not found"``."""
    row = repo.find_project(session, entity, project)
    if row is None:
        raise NotFoundError(f"project '{entity}/{project}' not found")
    return row


def collection_ref(session: Session, collection: Collection) -> CollectionRef:
    """The names around a collection row (entity, project, type)."""
    project = session.get_one(Project, collection.project_id)
    entity = session.get_one(Entity, project.entity_id)
    type_row = session.get_one(ArtifactType, collection.type_id)
    return CollectionRef(
        row=collection, entity=entity.name, project=project.name, type_name=type_row.name
    )


def require_collection(session: Session, entity: str, project: str, name: str) -> CollectionRef:
    """Raises: NotFoundError ``"artifact collection '<entity>/<project>/<name>' not found"``."""
    project_row = repo.find_project(session, entity, project)
    row = None if project_row is None else repo.find_collection(session, project_row.id, name)
    if project_row is None or row is None:
        raise NotFoundError(f"artifact collection '{entity}/{project}/{name}' not found")
    return collection_ref(session, row)


def require_run(session: Session, entity: str, project: str, run_id: str) -> Run:
    """Raises: NotFoundError ``"run '<entity>/<project>/<run_id>' not found"``."""
    project_row = repo.find_project(session, entity, project)
    row = None if project_row is None else repo.find_run(session, project_row.id, run_id)
    if row is None:
        raise NotFoundError(f"run '{entity}/{project}/{run_id}' not found")
    return row


def require_version(session: Session, version_id: str) -> Version:
    """The version with wire id ``version_id`` (any state).

    Raises: NotFoundError ``"artifact '<id>' not found"`` (also for ids that do not decode).
    """
    try:
        pk = decode_artifact_id(version_id)
    except ValueError:
        raise NotFoundError(f"artifact '{version_id}' not found") from None
    row = session.get(Version, pk)
    if row is None:
        raise NotFoundError(f"artifact '{version_id}' not found")
    return row


def source_entity(session: Session, version: Version) -> str:
    """The name of the entity whose sequence the version was logged into (its bytes live
    in that entity's blob area on a server)."""
    return session.scalars(
        select(Entity.name)
        .join(Project, Project.entity_id == Entity.id)
        .join(Collection, Collection.project_id == Project.id)
        .where(Collection.id == version.collection_id)
    ).one()


def entity_exists(session: Session, name: str) -> bool:
    """Whether an entity of that name exists (whoever may read it)."""
    return session.scalars(select(Entity.id).where(Entity.name == name)).first() is not None
