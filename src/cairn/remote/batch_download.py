"""Small blobs come down in batches (one request per few MiB, not two per file) and are
kept in the client cache as one pack per batch, so a repeated download asks for nothing.

The download of a version into a new folder (``RemoteBackend.materialize``, through
``storage.staged_writing``) first takes what the client cache holds (``find_cached``: blobs
packed by earlier downloads, each checked against its digest as it is written, since the
cache never vouches for bytes; ``write_cached``), then asks the server for the rest
``READ_BYTES`` at a time (``POST /api/v1/entities/{entity}/blobs/batch-read``, format in
``cairn.server.api_blob_batch_download``), splits each answer by the sizes it asked for, checks
every blob, writes it to its new file and keeps the answer in the cache as one pack
(``ClientCache.put_packed``: a file per 4 KiB blob would cost more than the download
itself, see ``storage.cache_packs``). Large blobs keep the signed URL path (parallel
ranges, loose files in the cache).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from cairn.core.digest import digest_bytes
from cairn.errors import CorruptionError
from cairn.protocol import BlobRef
from cairn.remote import batch_upload
from cairn.storage.local.packs import Location
from cairn.storage.local.placing import write_new_file

if TYPE_CHECKING:
    from collections.abc import Sequence

    from cairn.remote.http import ApiClient
    from cairn.storage.cache.client_cache import ClientCache

# The server answers up to 2,000 blobs of at most 1 MiB, 16 MiB in all.
READ_BLOB_MAX = 1024 * 1024  # larger blobs come down alone
READ_BYTES = 4 * 1024 * 1024  # bytes of blobs per request
READ_COUNT = 1000  # blobs per request
READ_WORKERS = 4  # requests in flight

Item = tuple[BlobRef, Path]  # a blob and the new file to write it to
# A pack of the client cache and the items it holds, with where each one is in it.
PackGroup = tuple[Path, list[tuple[Item, Location]]]


def plan(items: Sequence[Item]) -> tuple[list[list[Item]], list[Item]]:
    """``(batches of small blobs, blobs to download alone)``, in ``items`` order."""
    return batch_upload.plan(items, READ_BLOB_MAX, READ_BYTES, READ_COUNT)


def find_cached(cache: ClientCache, items: Sequence[Item]) -> tuple[list[PackGroup], list[Item]]:
    """``(the items the cache holds in packs, grouped by pack; the others)``. The packs
    named stay (pinned) while the caller's download session lasts.

    Raises: OSError (the cache cannot be listed), ValueError (an unknown algorithm).
    """
    found = cache.find_packed([(blob.algorithm, blob.digest) for blob, _ in items])
    groups: dict[Path, list[tuple[Item, Location]]] = {}
    others: list[Item] = []
    for item in items:
        location = found.get((item[0].algorithm, item[0].digest))
        if location is None:
            others.append(item)
        else:
            groups.setdefault(location[0], []).append((item, location))
    return list(groups.items()), others


def write_cached(cache: ClientCache, group: PackGroup) -> tuple[int, list[Item]]:
    """Write each blob of ``group`` from its cache pack, checked, to its new file (mode
    0o644, not fsynced); return ``(bytes written, the items not written)``. Items are not
    written when their bytes in the pack are wrong (the pack is then dropped) or the pack
    is gone: the caller asks the server for them.

    Raises: FileExistsError (a destination exists), OSError (it cannot be written).
    """
    pack, members = group
    try:
        fd = os.open(pack, os.O_RDONLY)
    except FileNotFoundError:  # dropped by another reader that found it damaged
        return 0, [item for item, _location in members]
    written = 0
    left: list[Item] = []
    try:
        for item, (_pack, offset, size) in members:
            blob, dest = item
            data = os.pread(fd, size, offset)
            if size != blob.size or digest_bytes(data, blob.algorithm) != blob.digest:
                left.append(item)
                continue
            write_new_file(dest, data)
            written += size
    finally:
        os.close(fd)
    if left:
        cache.drop_pack(pack)
    return written, left


def read_batch(client: ApiClient, cache: ClientCache, entity: str, batch: Sequence[Item]) -> int:
    """Download ``batch`` in one request, write each blob, checked, to its new file (mode
    0o644, not fsynced) and keep them all in the client cache as one pack; return the
    bytes written.

    Raises:
        CommError: the server cannot be reached or refuses (``NotFoundError``: a blob it
            does not hold).
        CorruptionError: the answer's length or a blob's digest is wrong (nothing of that
            blob is written, nothing of the batch is cached).
        FileExistsError: a destination exists. OSError: a destination or the cache cannot
            be written.
    """
    listing = [{"digest": b.digest, "algorithm": b.algorithm, "size": b.size} for b, _ in batch]
    answer = client.call(
        "POST", f"/entities/{entity}/blobs/batch-read", json={"blobs": listing}, idempotent=True
    )
    data = answer.content
    expected = sum(blob.size for blob, _ in batch)
    if len(data) != expected:
        raise CorruptionError(
            f"The server sent {len(data)} bytes for {len(batch)} blobs of {expected} bytes"
        )
    offset = 0
    checked: list[tuple[str, str, bytes]] = []
    for blob, dest in batch:
        chunk = data[offset : offset + blob.size]
        offset += blob.size
        actual = digest_bytes(chunk, blob.algorithm)
        if actual != blob.digest:
            raise CorruptionError(
                f"The server sent bytes with digest {actual} for blob {blob.digest}",
                context={"expected": blob.digest, "actual": actual},
            )
        write_new_file(dest, chunk)
        checked.append((blob.algorithm, blob.digest, chunk))
    cache.put_packed(checked)
    return expected
