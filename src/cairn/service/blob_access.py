"""Who may move a server's blobs: grants checked per entity, at the moment of each transfer.

A server keeps each entity's blobs in an area of its own (``cairn.storage.blobstores.interface``).
Transports never reach an area by themselves: they ask for a ``BlobGrant``, which checks
the caller's role on the entity first (``read`` to download, ``write`` to upload), so no
request reaches — or creates — the area of an entity its caller may not use. Signed
transfer URLs carry the key they were issued to, and the transfer asks for a grant again
when it happens (``grant_for_key``), so a URL stops working once its key is revoked or
its user loses the role.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from cairn.errors import NotFoundError
from cairn.service.accounts import caller_for_key_id
from cairn.service.authz import READ, WRITE, Gate
from cairn.service.limits import MAX_BLOB_BYTES, MAX_UPLOAD_PARTS, checked_size
from cairn.service.lookup import require_version, source_entity

if TYPE_CHECKING:
    from collections.abc import Sequence

    from cairn.service.caller import Caller
    from cairn.service.resources import Store
    from cairn.storage.blobstores.interface import BlobArea, ServerStore

__all__ = [
    "READ",
    "WRITE",
    "BlobGrant",
    "check_upload_size",
    "grant",
    "grant_for_key",
    "missing",
    "version_grant",
    "version_grant_for_key",
]


@dataclasses.dataclass(frozen=True)
class BlobGrant:
    """Leave, checked just now, for ``key_id``'s user to ``action`` the blobs of ``entity``
    (its ``area``) through the server's blob store ``server``; or, with ``version_id``, to
    read the files of that one version, which are in ``entity``'s area."""

    entity: str
    action: str
    key_id: str
    area: BlobArea
    server: ServerStore
    version_id: str = ""


def grant(store: Store, caller: Caller, entity: str, action: str, count: int = 1) -> BlobGrant:
    """A grant for ``caller`` to ``action`` (read or write) the blobs of ``entity``, for a
    request that names ``count`` blobs.

    Raises: ValueError (``count`` over ``limits.max_blob_list``), NotFoundError (the caller
    cannot read the entity, or it does not exist; also a store that is not a server's),
    AuthorizationError (its role does not allow it).
    """
    if count > store.limits.max_blob_list:
        raise ValueError(
            f"Too many blobs in one request: {count}, the limit is {store.limits.max_blob_list}"
        )
    with store.db.read() as session:
        Gate(session, store, caller).require(action, entity)
    if store.server_blobs is None:
        raise NotFoundError("this store moves no blobs for clients")
    return BlobGrant(entity, action, caller.key_id, store.blobs_of(entity), store.server_blobs)


def check_upload_size(size: int, part_size: int, single_below: int = 0) -> int:
    """``size``, if a blob that large may be uploaded to a server whose multipart uploads
    have parts of ``part_size`` bytes: blobs below ``single_below`` bytes go up in one
    request, larger ones in at most ``limits.MAX_UPLOAD_PARTS`` parts; none may pass
    ``limits.MAX_BLOB_BYTES``. Checked before a URL is signed or an upload begins.

    Raises: ValueError (``size`` not an integer from 0 to 2^63-1, or larger than the
    server takes: the message names its largest size).
    """
    checked_size(size)
    largest = min(MAX_BLOB_BYTES, max(part_size * MAX_UPLOAD_PARTS, single_below - 1))
    if size > largest:
        raise ValueError(
            f"A blob of {size} bytes is larger than this server takes: at most {largest} "
            f"bytes ({MAX_UPLOAD_PARTS} parts of {part_size} bytes, at most {MAX_BLOB_BYTES})"
        )
    return size


def grant_for_key(store: Store, key_id: str, entity: str, action: str) -> BlobGrant:
    """``grant`` for the user of the API key a signed URL was issued to, if that key is
    still live and its user still holds the role.

    Raises: AuthenticationError (revoked or unknown key), NotFoundError,
    AuthorizationError (as ``grant``).
    """
    return grant(store, caller_for_key_id(store, key_id), entity, action)


def version_grant(store: Store, caller: Caller, version_id: str) -> BlobGrant:
    """A grant to read the files of one version, for whoever may read the version (a
    registry's reader may read what is linked there, not the rest of the source entity).

    Raises: NotFoundError ("artifact '<id>' not found": unknown, or not readable; also a
    store that is not a server's).
    """
    with store.db.read() as session:
        version = require_version(session, version_id)
        Gate(session, store, caller).require_version(version, READ, version_id)
        entity = source_entity(session, version)
    if store.server_blobs is None:
        raise NotFoundError("this store moves no blobs for clients")
    area = store.blobs_of(entity)
    return BlobGrant(entity, READ, caller.key_id, area, store.server_blobs, version_id)


def version_grant_for_key(store: Store, key_id: str, version_id: str, entity: str) -> BlobGrant:
    """``version_grant`` for the user of the API key a download URL was issued to, if the
    version's files are ``entity``'s.

    Raises: AuthenticationError (revoked or unknown key), NotFoundError.
    """
    found = version_grant(store, caller_for_key_id(store, key_id), version_id)
    if found.entity != entity:
        raise NotFoundError("blob not found")
    return found


def missing(
    store: Store, caller: Caller, entity: str, blobs: Sequence[tuple[str, str]]
) -> set[tuple[str, str]]:
    """The ``(digest, algorithm)`` pairs of ``blobs`` a client should upload for ``entity``.

    Raises: ValueError (more than ``limits.max_blob_list`` blobs, an invalid digest),
    NotFoundError / AuthorizationError (the caller may not write to the entity).
    """
    allowed = grant(store, caller, entity, WRITE, len(blobs))
    return allowed.server.to_upload(entity, blobs)
