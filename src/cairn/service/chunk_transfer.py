"""Chunk transfers with a server (issue 24): only the chunks an entity lacks travel.

A Cairn client logging a large file asks which of its chunks the entity's store lacks
(``lacking``), sends those in batches (``put_chunks``), then declares the file's chunk list
(``declare_file``): the store keeps it, and counts the file as a stored MD5 blob, only
once its chunks reassemble to the declared size and MD5 (``ChunkArea.declare``). A client
downloading such a file reads its list (``chunk_list``) and asks only for the chunks its
cache lacks (``read_chunks``).

Every call checks the caller's role on the entity first (``blob_access.grant``: ``write``
to ask and send, ``read`` to read), and answers from that entity's chunks alone: chunks
are deduplicated within an entity, never across (DESIGN §4), so asking about chunks is
no oracle of what another entity stores.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from cairn.errors import NotFoundError
from cairn.service import blob_access
from cairn.service.limits import checked_size
from cairn.storage.blobstores.chunk_area import parse_chunk_id
from cairn.storage.chunking import MAX_SIZE

if TYPE_CHECKING:
    from collections.abc import Sequence

    from cairn.service.blob_access import BlobGrant
    from cairn.service.caller import Caller
    from cairn.service.resources import Store
    from cairn.storage.blobstores.chunk_area import ChunkArea

READ_COUNT = 64  # chunks read in one request (at most 64 MiB, 16 MiB on average)
READ_THREADS = 8  # chunks read from the store at once (S3: GETs in flight)
MAX_LIST_BYTES = 64 * 1024 * 1024  # a chunk list this long names a ~1.3 TB file


def _area(store: Store, caller: Caller, entity: str, action: str, count: int = 1) -> ChunkArea:
    grant = blob_access.grant(store, caller, entity, action, count)
    return grant.server.chunks(grant.entity)


def lacking(store: Store, caller: Caller, entity: str, ids: Sequence[str]) -> list[str]:
    """The chunk ids of ``ids`` that ``entity``'s store lacks, in ``ids`` order.

    Raises: ValueError (an invalid id, or more than ``limits.max_blob_list``),
    NotFoundError / AuthorizationError (the caller may not write to the entity).
    """
    for hex_id in ids:
        parse_chunk_id(hex_id)
    area = _area(store, caller, entity, blob_access.WRITE, len(ids))
    missing = area.lacking(ids)
    return [hex_id for hex_id in dict.fromkeys(ids) if hex_id in missing]


def writer(store: Store, caller: Caller, entity: str) -> BlobGrant:
    """Leave for ``caller`` to send chunks and chunk lists to ``entity``, asked before a
    request's body is received (an outsider's body is never read).

    Raises: NotFoundError / AuthorizationError (the caller may not write to the entity).
    """
    return blob_access.grant(store, caller, entity, blob_access.WRITE)


def put_chunks(
    store: Store, grant: BlobGrant, chunks: Sequence[tuple[str, bytes | memoryview]]
) -> None:
    """Store ``(hex id, bytes)`` chunks for the entity of ``grant`` (from ``writer``) once
    every one matches its id.

    Raises: ValueError (an invalid id, a chunk over ``chunking.MAX_SIZE`` bytes, or more
    chunks than ``limits.max_blob_list``), CorruptionError (a wrong chunk: nothing of the
    batch stored).
    """
    if len(chunks) > store.limits.max_blob_list:
        limit = store.limits.max_blob_list
        raise ValueError(f"Too many chunks in one request: {len(chunks)}, the limit is {limit}")
    for hex_id, data in chunks:
        parse_chunk_id(hex_id)
        if len(data) > MAX_SIZE:
            raise ValueError(f"chunk {hex_id} has {len(data)} bytes, over {MAX_SIZE}")
    grant.server.chunks(grant.entity).put_chunks(chunks)


def declare_file(grant: BlobGrant, md5: str, size: int, data: bytes) -> None:
    """Store ``data`` as the chunk list of the file ``md5`` (``size`` bytes) of the entity
    of ``grant`` (from ``writer``), once its chunks are stored and reassemble to that MD5
    and size; from then on the file counts as a stored blob of the entity (a commit may
    name it).

    Raises: ValueError (an invalid digest or size, a list over ``MAX_LIST_BYTES`` or not
    of this file), CommError (chunks of the list never uploaded), CorruptionError (the
    chunks reassemble to another MD5: nothing stored).
    """
    checked_size(size)
    if len(data) > MAX_LIST_BYTES:
        raise ValueError(f"a chunk list has at most {MAX_LIST_BYTES} bytes")
    grant.server.chunks(grant.entity).declare(md5, size, data)


def chunk_list(store: Store, caller: Caller, entity: str, md5: str) -> bytes:
    """The chunk list of the file ``md5`` of ``entity``.

    Raises: ValueError (not an MD5 digest), NotFoundError (the caller cannot read the
    entity, or the file is not stored as a chunk list, or its list is torn).
    """
    data = _area(store, caller, entity, blob_access.READ).list_bytes(md5)
    if data is None:
        raise NotFoundError(f"no chunk list of {md5} in '{entity}'")
    return data


def read_chunks(store: Store, caller: Caller, entity: str, ids: Sequence[str]) -> bytes:
    """The bytes of the chunks ``ids`` of ``entity``, concatenated in ``ids`` order, each
    checked against its id.

    Raises: ValueError (an invalid id, more than ``READ_COUNT``), NotFoundError (the
    caller cannot read the entity, or a chunk it does not hold: named),
    CorruptionError (a stored chunk is damaged: named).
    """
    if len(ids) > READ_COUNT:
        raise ValueError(f"a chunk read lists at most {READ_COUNT} chunks")
    for hex_id in ids:
        parse_chunk_id(hex_id)
    area = _area(store, caller, entity, blob_access.READ, len(ids))

    def read(hex_id: str) -> bytes:
        try:
            return area.read_chunk(hex_id)
        except KeyError:
            raise NotFoundError(f"chunk {hex_id} not found in '{entity}'") from None

    with ThreadPoolExecutor(max(1, min(READ_THREADS, len(ids)))) as pool:
        return b"".join(pool.map(read, ids))
