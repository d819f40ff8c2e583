"""Collection and type use cases: list a project's collections and types, get one collection.

Each reads a project, so each checks that its caller may read that project first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cairn.db import repositories as repo
from cairn.db.models import Collection
from cairn.errors import NotFoundError
from cairn.protocol import CollectionInfo, TypeInfo
from cairn.service.authz import READ, Gate
from cairn.service.lookup import collection_ref, require_collection, require_project
from cairn.service.registries import scope
from cairn.service.wire_models import (
    CollectionRef,
    collection_infos,
    decode_collection_id,
    iso,
)

if TYPE_CHECKING:
    from cairn.service.caller import Caller
    from cairn.service.resources import Store


def list_collections(
    store: Store, caller: Caller, entity: str, project: str, type_name: str | None
) -> list[CollectionInfo]:
    """The collections of a project, by name; only those of ``type_name`` when given
    (an unknown type gives an empty list). Collections with no live version (all deleted)
    are not listed. A registry project is looked up in the organization's entity.

    Raises:
        CommError: ``"project '<entity>/<project>' not found"`` (also when the caller
            cannot read it).
    """
    entity = scope(store, entity, project)
    with store.db.read() as session:
        _require_readable(Gate(session, store, caller), entity, project)
        project_row = require_project(session, entity, project)
        types = {row.id: row.name for row in repo.list_types(session, project_row.id)}
        type_id = None
        if type_name is not None:
            type_id = next((tid for tid, name in types.items() if name == type_name), None)
            if type_id is None:
                return []
        refs = [
            CollectionRef(row=row, entity=entity, project=project, type_name=types[row.type_id])
            for row in repo.list_collections(session, project_row.id, type_id)
        ]
        return [info for info in collection_infos(session, refs) if info.version_count]


def get_collection(
    store: Store, caller: Caller, entity: str, project: str, name: str
) -> CollectionInfo:
    """The collection ``entity/project/name`` (hidden once every version of it is deleted).

    Raises:
        CommError: ``"artifact collection '<entity>/<project>/<name>' not found"`` (also
            when the caller cannot read the project).
    """
    entity = scope(store, entity, project)
    with store.db.read() as session:
        if not Gate(session, store, caller).can(READ, entity, project):
            raise NotFoundError(f"artifact collection '{entity}/{project}/{name}' not found")
        info = collection_infos(session, [require_collection(session, entity, project, name)])[0]
    if not info.version_count:
        raise NotFoundError(f"artifact collection '{entity}/{project}/{name}' not found")
    return info


def list_types(store: Store, caller: Caller, entity: str, project: str) -> list[TypeInfo]:
    """The artifact types of a project, by name.

    Raises:
        CommError: ``"project '<entity>/<project>' not found"`` (also when the caller
            cannot read it).
    """
    entity = scope(store, entity, project)
    with store.db.read() as session:
        _require_readable(Gate(session, store, caller), entity, project)
        project_row = require_project(session, entity, project)
        return [
            TypeInfo(entity=entity, project=project, name=row.name, created_at=iso(row.created_at))
            for row in repo.list_types(session, project_row.id)
        ]


def _require_readable(gate: Gate, entity: str, project: str) -> None:
    """Raises: NotFoundError ``"project '<entity>/<project>' not found"`` when the caller
    may not read the project (the same words as for a project that does not exist)."""
    if not gate.can(READ, entity, project):
        raise NotFoundError(f"project '{entity}/{project}' not found")


def get_collection_by_id(store: Store, caller: Caller, collection_id: str) -> CollectionInfo:
    """The collection whose wire id (``CollectionInfo.id``) is ``collection_id``; an id
    stays the collection's when it is renamed.

    Raises:
        CommError: ``"artifact collection '<id>' not found"`` (an unknown id, or one the
            caller cannot read).
    """
    not_found = NotFoundError(f"artifact collection '{collection_id}' not found")
    pk = decode_collection_id(collection_id)
    if pk is None:
        raise not_found
    with store.db.read() as session:
        row = session.get(Collection, pk)
        if row is None:
            raise not_found
        ref = collection_ref(session, row)
        if not Gate(session, store, caller).can(READ, ref.entity, ref.project):
            raise not_found
        info = collection_infos(session, [ref])[0]
    if not info.version_count:
        raise not_found
    return info
