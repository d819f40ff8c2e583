"""Small blobs come down in batches: one request per few MiB, not two requests per file.

The download of a version into a new folder (``protocol.BlobExport``, used by
``sdk._bulk_download``) asks the server for its small blobs ``READ_BYTES`` at a time
(``POST /api/v1/entities/{entity}/blobs/batch-read``, format in
``cairn.server.api_batch_read``), splits each answer by the sizes it asked for, checks
every blob against its digest and writes it to its new file. Large blobs keep the signed
URL path (parallel ranges, the client cache). Batch-read blobs are not put in the client
cache: a cache file per 4 KiB file would cost more than asking the server again.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from cairn.core.digest import digest_bytes
from cairn.errors import CorruptionError
from cairn.protocol import BlobRef
from cairn.remote.http import ApiClient

# The server answers up to 2,000 blobs of at most 1 MiB, 16 MiB in all.
READ_BLOB_MAX = 1024 * 1024  # larger blobs come down alone
READ_BYTES = 4 * 1024 * 1024  # bytes of blobs per request
READ_COUNT = 1000  # blobs per request
READ_WORKERS = 4  # requests in flight

Item = tuple[BlobRef, Path]  # a blob and the new file to write it to
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)


def plan(items: Sequence[Item]) -> tuple[list[list[Item]], list[Item]]:
    """``(batches of small blobs, blobs to download alone)``, in ``items`` order."""
    groups: list[list[Item]] = []
    alone: list[Item] = []
    size = 0
    for item in items:
        blob = item[0]
        if blob.size > READ_BLOB_MAX:
            alone.append(item)
            continue
        if not groups or len(groups[-1]) >= READ_COUNT or size + blob.size > READ_BYTES:
            groups.append([])
            size = 0
        groups[-1].append(item)
        size += blob.size
    return groups, alone


def read_batch(client: ApiClient, entity: str, batch: Sequence[Item]) -> int:
    """Download ``batch`` in one request and write each blob, checked, to its new file
    (mode 0o644, not fsynced); return the bytes written.

    Raises:
        CommError: the server cannot be reached or refuses (``NotFoundError``: a blob it
            does not hold).
        CorruptionError: the answer's length or a blob's digest is wrong (nothing of that
            blob is written).
        FileExistsError: a destination exists. OSError: a destination cannot be written.
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
    for blob, dest in batch:
        chunk = data[offset : offset + blob.size]
        offset += blob.size
        actual = digest_bytes(chunk, blob.algorithm)
        if actual != blob.digest:
            raise CorruptionError(
                f"The server sent bytes with digest {actual} for blob {blob.digest}",
                context={"expected": blob.digest, "actual": actual},
            )
        _write_new(dest, chunk)
    return expected


def _write_new(dest: Path, data: bytes) -> None:
    """Write ``data`` to the new file ``dest``; a partial file is removed on failure."""
    fd = os.open(dest, _NEW_FILE, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    except BaseException:
        os.close(fd)
        os.unlink(dest)
        raise
    os.close(fd)
