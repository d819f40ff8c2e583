"""A server cuts the large files uploaded whole into chunks, off the request path (issue 24).

The official wandb client uploads whole files (it knows nothing of chunks). Once a version
that names such a file is committed, the server reads the stored blob once, cuts it into
content-defined chunks (``storage.chunking``) while hashing its MD5, stores the chunks its
entity lacks and, if the bytes were the blob's, its chunk list. The whole object stays
where it is: the official client downloads it through a presigned URL (S3) or a plain
file (directory) at full speed. What the chunks buy is the next version: a Cairn client
that logs it after a few edits sends only the chunks that changed, and a Cairn client
downloading it fetches only the chunks its cache lacks (docs/chunks.md).

A commit reports the files worth it (MD5 files of at least the store's
``chunk_threshold`` bytes, ``commit.large_files``) to the store's observer; the server's
background chunker (``cairn.server.background_chunker``) calls ``chunk_stored`` for each,
never a request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cairn.core.digest import MD5, b64, new_hasher
from cairn.errors import CorruptionError
from cairn.storage.chunk_lists import encode_chunk_list
from cairn.storage.chunking import ChunkRef, StreamChunker

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from cairn.service.resources import Store

PUT_BATCH = 64  # chunks asked about and stored at a time


def chunk_stored(
    store: Store, entity: str, digest: str, stopping: Callable[[], bool] = lambda: False
) -> bool:
    """Cut the stored whole MD5 blob ``digest`` of ``entity`` into chunks and store its
    chunk list, unless it has one already. True when a list was stored; False when there
    was nothing to do, or ``stopping()`` became true (checked between blocks).

    Raises: CorruptionError (the stored bytes do not hash to ``digest``: nothing is
    declared), KeyError / FileNotFoundError (the blob is gone), OSError, botocore errors.
    """
    if store.server_blobs is None:
        return False
    chunks = store.server_blobs.chunks(entity)
    if chunks.has_files([digest]):
        return False
    chunker = StreamChunker()
    hasher = new_hasher(MD5)
    refs: list[ChunkRef] = []
    pending: list[tuple[str, bytes]] = []
    for block in store.blobs_of(entity).iter_bytes(digest, MD5):
        if stopping():
            return False
        hasher.update(block)
        for chunk_id, data in chunker.feed(block):
            refs.append(ChunkRef(chunk_id, len(data)))
            pending.append((chunk_id.hex(), bytes(data)))
        if len(pending) >= PUT_BATCH:
            _store_lacking(chunks.lacking, chunks.put_chunks, pending)
            pending = []
    for chunk_id, data in chunker.finish():
        refs.append(ChunkRef(chunk_id, len(data)))
        pending.append((chunk_id.hex(), bytes(data)))
    _store_lacking(chunks.lacking, chunks.put_chunks, pending)
    if b64(hasher.digest()) != digest:
        raise CorruptionError(
            f"the stored blob md5 {digest} of '{entity}' hashes to {b64(hasher.digest())}",
            context={"digest": digest},
        )
    size = sum(ref.size for ref in refs)
    chunks.adopt_list(digest, encode_chunk_list(digest, MD5, size, refs))
    return True


def _store_lacking(
    lacking: Callable[[Sequence[str]], set[str]],
    put: Callable[[Sequence[tuple[str, bytes | memoryview]]], None],
    pending: Sequence[tuple[str, bytes]],
) -> None:
    """Store the chunks of ``pending`` the entity lacks."""
    if not pending:
        return
    missing = lacking([hex_id for hex_id, _data in pending])
    put([(hex_id, data) for hex_id, data in pending if hex_id in missing])
