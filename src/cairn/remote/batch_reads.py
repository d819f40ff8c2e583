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

from collections.abc import Sequence
from pathlib import Path

from cairn.core.digest import digest_bytes
from cairn.errors import CorruptionError
from cairn.protocol import BlobRef
from cairn.remote import batches
from cairn.remote.http import ApiClient
from cairn.storage.placing import write_new_file

# The server answers up to 2,000 blobs of at most 1 MiB, 16 MiB in all.
READ_BLOB_MAX = 1024 * 1024  # larger blobs come down alone
READ_BYTES = 4 * 1024 * 1024  # bytes of blobs per request
READ_COUNT = 1000  # blobs per request
READ_WORKERS = 4  # requests in flight

Item = tuple[BlobRef, Path]  # a blob and the new file to write it to


def plan(items: Sequence[Item]) -> tuple[list[list[Item]], list[Item]]:
    """``(batches of small blobs, blobs to download alone)``, in ``items`` order."""
    return batches.plan(items, READ_BLOB_MAX, READ_BYTES, READ_COUNT)


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
        write_new_file(dest, chunk)
    return expected
