"""Edits after logging: a version's description, metadata, aliases, tags and TTL; a
collection's description and tags; deleting a whole collection (spec §4.8, §4.9, §4.12).

Everything is validated before the one write transaction starts, so a refused edit
changes nothing. Aliases are edited in the collection the version was fetched through and
move when another version of that collection held them; ``vN`` aliases are ignored and
``latest`` may be added (it moves) or removed by hand, as in W&B. Tags, description,
metadata and TTL belong to the version and so are shared by all its links. A version
linked into a registry cannot be given a TTL (W&B's rule).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from cairn.core.metadata import validate_metadata
from cairn.core.names import validate_tags
from cairn.db import repositories as repo
from cairn.db.models import (
    COLLECTION_SEQUENCE,
    STATE_COMMITTED,
    Alias,
    CollectionTag,
    Membership,
    Tag,
    Version,
    utcnow,
)
from cairn.errors import CommError, NotFoundError
from cairn.protocol import CollectionInfo, VersionEdit, VersionInfo
from cairn.service.commit import LATEST, user_aliases
from cairn.service.deletion import retire_version
from cairn.service.links import linked_to_registry
from cairn.service.lookup import require_collection, require_version
from cairn.service.registries import scope
from cairn.service.store import Store
from cairn.service.views import collection_infos, version_infos

TTL_INHERIT = -1
TTL_DISABLED = -2


def _checked_ttl(seconds: int | None) -> tuple[int | None, bool] | None:
    """``(ttl_duration_seconds, ttl_is_inherited)`` to store, or None for "unchanged"."""
    if seconds is None:
        return None
    if seconds == TTL_INHERIT:
        return None, True
    if seconds == TTL_DISABLED:
        return None, False
    if seconds <= 0:
        raise ValueError(f"Artifact TTL Duration has to be positive. ttl: {seconds}")
    return seconds, False


def edit_version(store: Store, version_id: str, edit: VersionEdit) -> VersionInfo:
    """Apply ``edit`` to a committed version; return it as seen through the edit's collection.

    Raises:
        ValueError: invalid metadata, tags, aliases or TTL; a TTL on a version linked into
            a registry. Nothing is changed.
        TypeError: metadata of an unsupported type.
        CommError: the version or the collection does not exist, or the version is not a
            member of that collection.
    """
    metadata = validate_metadata(edit.metadata)
    tags_add = validate_tags(list(edit.tags_to_add))
    tags_remove = list(edit.tags_to_remove)
    add = list(dict.fromkeys(a for a in edit.aliases_to_add if a == LATEST))
    add += user_aliases([a for a in edit.aliases_to_add if a != LATEST])
    remove = [a for a in user_aliases([a for a in edit.aliases_to_remove if a != LATEST])]
    if LATEST in edit.aliases_to_remove:
        remove.append(LATEST)
    ttl = _checked_ttl(edit.ttl_duration_seconds)
    entity = scope(store, edit.entity, edit.project)
    with store.db.write() as session:
        version = require_version(session, version_id)
        if version.state != STATE_COMMITTED:
            raise NotFoundError(f"artifact '{version_id}' not found")
        ref = require_collection(session, entity, edit.project, edit.collection)
        index = session.scalars(
            select(Membership.index).where(
                Membership.collection_id == ref.row.id, Membership.version_id == version.id
            )
        ).one_or_none()
        if index is None:
            raise CommError(f"artifact '{version_id}' is not a member of '{ref.path}'")
        sets_ttl = ttl is not None and (ttl[0] is not None or ttl[1])
        if sets_ttl and linked_to_registry(session, [version.id]):
            raise ValueError(
                "Cannot set a TTL on an artifact linked to a registry: registry "
                "artifacts must not expire"
            )
        for alias in session.scalars(
            select(Alias).where(
                Alias.collection_id == ref.row.id,
                Alias.version_id == version.id,
                Alias.alias.in_([a for a in remove if a not in add]),
            )
        ):
            session.delete(alias)
        repo.set_aliases(session, ref.row.id, version.id, add)
        repo.add_tags(session, version.id, tags_add)
        if tags_remove:
            for tag in session.scalars(
                select(Tag).where(Tag.version_id == version.id, Tag.name.in_(tags_remove))
            ):
                session.delete(tag)
        version.description = edit.description
        version.metadata_ = metadata
        if ttl is not None:
            version.ttl_duration_seconds, version.ttl_is_inherited = ttl
        version.updated_at = utcnow()
        session.flush()
        return version_infos(session, ref, [(index, version)])[0]


def edit_collection(
    store: Store,
    entity: str,
    project: str,
    name: str,
    description: str | None,
    tags: Sequence[str],
) -> CollectionInfo:
    """Replace a collection's description and tags.

    Raises:
        ValueError: an invalid tag (nothing changed).
        CommError: the collection does not exist.
    """
    wanted = validate_tags(list(tags))
    entity = scope(store, entity, project)
    with store.db.write() as session:
        ref = require_collection(session, entity, project, name)
        current = {
            row.name: row
            for row in session.scalars(
                select(CollectionTag).where(CollectionTag.collection_id == ref.row.id)
            )
        }
        for tag_name, row in current.items():
            if tag_name not in wanted:
                session.delete(row)
        now = utcnow()
        session.add_all(
            CollectionTag(collection_id=ref.row.id, name=tag, created_at=now)
            for tag in wanted
            if tag not in current
        )
        ref.row.description = description
        ref.row.updated_at = now
        session.flush()
        return collection_infos(session, [ref])[0]


def delete_collection(store: Store, entity: str, project: str, name: str) -> None:
    """Delete a collection: a sequence's versions are deleted (and so their links); a
    portfolio loses its links only. Its indices are never reused.

    Raises:
        CommError: the collection does not exist.
    """
    entity = scope(store, entity, project)
    with store.db.write() as session:
        ref = require_collection(session, entity, project, name)
        collection = ref.row
        if collection.kind == COLLECTION_SEQUENCE:
            versions = session.scalars(
                select(Version).where(
                    Version.collection_id == collection.id, Version.state == STATE_COMMITTED
                )
            )
            for version in versions:
                retire_version(session, version)
        else:
            for model in (Alias, Membership):
                for item in session.scalars(
                    select(model).where(model.collection_id == collection.id)
                ):
                    session.delete(item)
        for tag in session.scalars(
            select(CollectionTag).where(CollectionTag.collection_id == collection.id)
        ):
            session.delete(tag)
        collection.description = None
        collection.updated_at = utcnow()
