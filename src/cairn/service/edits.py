"""Edits after logging: a version's description, metadata, aliases, tags and TTL; a
collection's description and tags; deleting a whole collection (spec §4.8, §4.9, §4.12).

Everything is validated before the one write transaction starts, so a refused edit
changes nothing. Aliases are edited in the collection the version was fetched through and
move when another version of that collection held them; ``vN`` aliases are ignored, and
so is ``latest`` for any version but the collection's newest (the server manages it, as
W&B's does: a caller sees it was not added); it may be removed by hand. Tags, description,
metadata and TTL belong to the version and so are shared by all its links. A version
linked into a registry cannot be given a TTL (W&B's rule).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, select

from cairn.core.names import LATEST, validate_artifact_name, validate_artifact_type
from cairn.core.ttl import ttl_of_edit
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
from cairn.protocol_automations import (
    ADD_ARTIFACT_TAG,
    ADD_COLLECTION_TAG,
    REMOVE_ARTIFACT_TAG,
    REMOVE_COLLECTION_TAG,
)
from cairn.service import fields, outbox
from cairn.service.authz import READ, WRITE, Gate
from cairn.service.deletion import retire_version
from cairn.service.links import linked_to_registry
from cairn.service.lookup import require_collection, require_version
from cairn.service.registries import scope
from cairn.service.wire_models import CollectionRef, collection_infos, version_infos

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.orm import Session

    from cairn.protocol import CollectionInfo, VersionEdit, VersionInfo
    from cairn.service.caller import Caller
    from cairn.service.resources import Store


def _newest_index(session: Session, collection_id: int) -> int | None:
    """The index of the collection's newest committed member."""
    return session.scalar(
        select(func.max(Membership.index))
        .join(Version, Membership.version_id == Version.id)
        .where(Membership.collection_id == collection_id, Version.state == STATE_COMMITTED)
    )


def edit_version(store: Store, caller: Caller, version_id: str, edit: VersionEdit) -> VersionInfo:
    """Apply ``edit`` to a committed version; return it as seen through the edit's collection.

    The caller must be able to read the version and write to the collection it edits it
    through (its aliases there; the description, metadata, tags and TTL it shares with
    all its links).

    Raises:
        ValueError: invalid metadata (or not a JSON object), tags, aliases, description or
            TTL (over a limit of ``store.limits`` included, a TTL over
            ``core.ttl.MAX_TTL_SECONDS``); a TTL on a version linked into a registry. Nothing
            is changed.
        CommError: the version or the collection does not exist (or the caller cannot
            read it), or the version is not a member of that collection.
        AuthorizationError: the caller may not write to the collection.
    """
    limits = store.limits
    metadata = fields.metadata(edit.metadata, limits)
    fields.description(edit.description, limits)
    tags_add = fields.tags(edit.tags_to_add, limits)
    tags_remove = fields.bounded(edit.tags_to_remove, limits.max_tags, "tags")
    add = list(dict.fromkeys(a for a in edit.aliases_to_add if a == LATEST))
    add += fields.user_aliases([a for a in edit.aliases_to_add if a != LATEST], limits)
    remove = fields.user_aliases([a for a in edit.aliases_to_remove if a != LATEST], limits)
    if LATEST in edit.aliases_to_remove:
        remove.append(LATEST)
    ttl = ttl_of_edit(edit.ttl_duration_seconds)
    entity = scope(store, edit.entity, edit.project)
    with store.db.write() as session:
        gate = Gate(session, store, caller)
        version = require_version(session, version_id)
        gate.require_version(version, READ, version_id)
        if version.state != STATE_COMMITTED:
            raise NotFoundError(f"artifact '{version_id}' not found")
        gate.require(WRITE, entity, edit.project)
        ref = require_collection(session, entity, edit.project, edit.collection)
        # Aliases move one transaction at a time per collection (see service.deletion).
        session.refresh(ref.row, with_for_update=True)
        session.refresh(version)
        if version.state != STATE_COMMITTED:
            raise NotFoundError(f"artifact '{version_id}' not found")
        index = session.scalars(
            select(Membership.index).where(
                Membership.collection_id == ref.row.id, Membership.version_id == version.id
            )
        ).one_or_none()
        if index is None:
            raise CommError(f"artifact '{version_id}' is not a member of '{ref.path}'")
        if LATEST in add and index != _newest_index(session, ref.row.id):
            add.remove(LATEST)  # the server keeps ``latest`` on the newest version
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
        aliased = repo.set_aliases(session, ref.row.id, version.id, add)
        tagged = repo.add_tags(session, version.id, tags_add)
        untagged = []
        if tags_remove:
            for tag in session.scalars(
                select(Tag).where(Tag.version_id == version.id, Tag.name.in_(tags_remove))
            ):
                untagged.append(tag.name)
                session.delete(tag)
        version.description = edit.description
        version.metadata_ = metadata
        if ttl is not None:
            version.ttl_duration_seconds, version.ttl_is_inherited = ttl
        version.updated_at = utcnow()
        fields.check_totals(session, ref.row.id, version.id, limits)
        info = version_infos(session, ref, [(index, version)])[0]
        outbox.record_aliases(session, store, caller, info, ref.row, aliased)
        outbox.record_tags(session, store, caller, ADD_ARTIFACT_TAG, info, version.id, tagged)
        outbox.record_tags(session, store, caller, REMOVE_ARTIFACT_TAG, info, version.id, untagged)
        return info


def edit_collection(
    store: Store,
    caller: Caller,
    entity: str,
    project: str,
    name: str,
    description: str | None,
    tags: Sequence[str],
    new_name: str | None = None,
    new_type: str | None = None,
) -> CollectionInfo:
    """Replace a collection's description and tags; rename it (``new_name``) and, for a
    sequence, change the type of it and of all its versions (``new_type``). Its versions,
    aliases and links stay as they are.

    Raises:
        ValueError: an invalid tag, description, name or type, or too many tags; the new
            name is taken in the project; a type change of a portfolio, or of a sequence
            whose versions are linked somewhere (unlink them first). Nothing is changed.
        CommError: the collection does not exist (or the caller cannot read it);
            AuthorizationError: the caller may not write to it.
    """
    wanted = fields.tags(tags, store.limits)
    fields.description(description, store.limits)
    if new_name is not None:
        validate_artifact_name(new_name)
    if new_type is not None:
        validate_artifact_type(new_type, new_name or name)
    entity = scope(store, entity, project)
    with store.db.write() as session:
        Gate(session, store, caller).require(WRITE, entity, project)
        ref = require_collection(session, entity, project, name)
        current = {
            row.name: row
            for row in session.scalars(
                select(CollectionTag).where(CollectionTag.collection_id == ref.row.id)
            )
        }
        removed = [tag for tag in current if tag not in wanted]
        for tag_name in removed:
            session.delete(current[tag_name])
        now = utcnow()
        added = [tag for tag in wanted if tag not in current]
        session.add_all(
            CollectionTag(collection_id=ref.row.id, name=tag, created_at=now) for tag in added
        )
        path = (ref.entity, ref.project, ref.row.name)
        for event_type, changed in (
            (ADD_COLLECTION_TAG, added),
            (REMOVE_COLLECTION_TAG, removed),
        ):
            outbox.record_collection_tags(
                session, store, caller, event_type, path, ref.row, changed
            )
        ref.row.description = description
        ref.row.updated_at = now
        if new_name is not None and new_name != ref.row.name:
            _rename(session, ref, new_name)
        if new_type is not None and new_type != ref.type_name:
            ref = _retype(session, ref, new_type)
        session.flush()
        return collection_infos(session, [ref])[0]


def _rename(session: Session, ref: CollectionRef, new_name: str) -> None:
    """Raises: ValueError (the project has a collection of that name)."""
    if repo.find_collection(session, ref.row.project_id, new_name) is not None:
        raise ValueError(f"Artifact collection '{ref.entity}/{ref.project}/{new_name}' exists")
    ref.row.name = new_name


def _retype(session: Session, ref: CollectionRef, new_type: str) -> CollectionRef:
    """Give a sequence and all its versions the type ``new_type``.

    Raises: ValueError (a portfolio, or a sequence with linked versions).
    """
    collection = ref.row
    if collection.kind != COLLECTION_SEQUENCE:
        raise ValueError("Only a sequence's type can be changed, not a linked collection's")
    linked = session.scalars(
        select(Membership.id)
        .join(Version, Membership.version_id == Version.id)
        .where(Version.collection_id == collection.id, Membership.collection_id != collection.id)
        .limit(1)
    ).first()
    if linked is not None:
        raise ValueError(
            f"Cannot change the type of '{ref.path}': some of its versions are linked "
            "into other collections; unlink them first"
        )
    type_row = repo.get_or_create_type(session, collection.project_id, new_type)
    collection.type_id = type_row.id
    for version in session.scalars(select(Version).where(Version.collection_id == collection.id)):
        version.type_id = type_row.id
    return CollectionRef(row=collection, entity=ref.entity, project=ref.project, type_name=new_type)


def delete_collection(store: Store, caller: Caller, entity: str, project: str, name: str) -> None:
    """Delete a collection: a sequence's versions are deleted (and so their links); a
    portfolio loses its links only. Its indices are never reused.

    Raises:
        CommError: the collection does not exist (or the caller cannot read it);
            AuthorizationError: the caller may not write to it.
    """
    entity = scope(store, entity, project)
    with store.db.write() as session:
        Gate(session, store, caller).require(WRITE, entity, project)
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
