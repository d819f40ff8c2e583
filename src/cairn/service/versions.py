"""Read use cases on versions: resolve a selector, fetch by id, read a manifest, list a page.

Only committed versions are visible through selectors and listings. Listing is newest
first, paged with a keyset cursor (the index of the last version returned), so versions
committed while a caller pages through never shift or repeat items. Each call checks its
caller: a collection is read through its project, a version by id through any collection
the caller may read it in; what the caller cannot read is "not found".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cairn.core.names import is_version_alias
from cairn.db import repositories as repo
from cairn.db.models import STATE_COMMITTED, Collection
from cairn.errors import CommError, NotFoundError
from cairn.protocol import Page, VersionInfo
from cairn.service.authz import READ, Gate
from cairn.service.lookup import (
    collection_ref,
    require_collection,
    require_version,
    source_entity,
)
from cairn.service.registries import scope
from cairn.service.resources import MANIFEST_ALGORITHM, Store
from cairn.service.wire_models import version_infos

if TYPE_CHECKING:
    from cairn.service.caller import Caller

_VISIBLE = (STATE_COMMITTED,)


def _index_of(selector: str) -> int | None:
    """The index a ``vN`` selector names (None for an alias)."""
    rest = selector[1:]
    if is_version_alias(selector) and rest.isascii() and rest.isdigit():
        return int(rest)
    return None


def latest_digest(
    store: Store, caller: Caller, entity: str, project: str, collection: str
) -> tuple[str, str] | None:
    """``(digest, digest algorithm)`` of the collection's ``latest`` version, or None if
    the collection does not exist or has none.

    Raises: NotFoundError (the caller cannot read the project).
    """
    entity = scope(store, entity, project)
    with store.db.read() as session:
        Gate(session, store, caller).require(READ, entity, project)
        found = repo.latest_digests(session, entity, project, collection, _VISIBLE)
    return None if found is None else (found[0], found[1])


def resolve_version(
    store: Store, caller: Caller, entity: str, project: str, collection: str, selector: str
) -> VersionInfo:
    """The version ``selector`` (``vN``, ``latest`` or a user alias) names in a collection.

    Raises:
        CommError: ``"artifact '<entity>/<project>/<collection>:<selector>' not found"``
            when the collection or the version does not exist, or the caller cannot read
            the project.
    """
    entity = scope(store, entity, project)
    not_found = NotFoundError(f"artifact '{entity}/{project}/{collection}:{selector}' not found")
    with store.db.read() as session:
        if not Gate(session, store, caller).can(READ, entity, project):
            raise not_found
        try:
            ref = require_collection(session, entity, project, collection)
        except CommError:
            raise not_found from None
        index = _index_of(selector)
        if index is not None:
            version = repo.member_by_index(session, ref.row.id, index, _VISIBLE)
            member = None if version is None else (index, version)
        else:
            member = repo.member_by_alias(session, ref.row.id, selector, _VISIBLE)
        if member is None:
            raise not_found
        return version_infos(session, ref, [member])[0]


def get_version(store: Store, caller: Caller, version_id: str) -> VersionInfo:
    """The version with wire id ``version_id``, seen through its source sequence.

    Raises:
        CommError: ``"artifact '<id>' not found"`` (also when the caller cannot read it).
    """
    with store.db.read() as session:
        version = require_version(session, version_id)
        Gate(session, store, caller).require_version(version, READ, version_id)
        ref = collection_ref(session, session.get_one(Collection, version.collection_id))
        return version_infos(session, ref, [(version.index, version)])[0]


def read_manifest(store: Store, caller: Caller, version_id: str) -> bytes:
    """The manifest JSON bytes of a version, exactly as committed.

    Raises:
        CommError: the version does not exist (or the caller cannot read it), or its
            manifest blob is missing from the store.
    """
    with store.db.read() as session:
        version = require_version(session, version_id)
        Gate(session, store, caller).require_version(version, READ, version_id)
        digest = version.manifest_digest
        source = source_entity(session, version)
    try:
        return store.blobs_of(source).read_bytes(digest, MANIFEST_ALGORITHM)
    except FileNotFoundError:
        raise CommError(
            f"manifest {digest} of artifact '{version_id}' is missing from the store "
            "(run `cairn fsck`)"
        ) from None


def list_versions(
    store: Store,
    caller: Caller,
    entity: str,
    project: str,
    collection: str,
    cursor: str | None,
    per_page: int,
) -> Page:
    """A page of ``VersionInfo``, newest first; pass ``next_cursor`` back for the next page.
    A page holds at most ``store.limits.max_page`` versions.

    Raises:
        CommError: the collection does not exist, or the caller cannot read its project.
        ValueError: ``per_page`` is below 1 or ``cursor`` is not one this function returned.
    """
    if per_page < 1:
        raise ValueError(f"per_page must be at least 1, got {per_page}")
    per_page = min(per_page, store.limits.max_page)
    before: int | None = None
    if cursor is not None:
        if not (cursor.isascii() and cursor.isdigit()):
            raise ValueError(f"Invalid cursor: {cursor!r}")
        before = int(cursor)
    entity = scope(store, entity, project)
    with store.db.read() as session:
        if not Gate(session, store, caller).can(READ, entity, project):
            raise NotFoundError(f"artifact collection '{entity}/{project}/{collection}' not found")
        ref = require_collection(session, entity, project, collection)
        members = repo.members_page(session, ref.row.id, _VISIBLE, before, per_page + 1)
        total = repo.count_members(session, [ref.row.id], _VISIBLE)[ref.row.id]
        page = members[:per_page]
        next_cursor = str(page[-1][0]) if len(members) > per_page else None
        return Page(items=version_infos(session, ref, page), next_cursor=next_cursor, total=total)
