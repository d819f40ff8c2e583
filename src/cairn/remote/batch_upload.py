"""Small blobs go to the server in batches: many blobs per request, not one PUT each.

A presigned PUT per 4 KiB file costs a round trip per file here and, on an S3 store, a
later check and copy of each upload on the server; a batch (``POST
/api/v1/entities/{entity}/blobs/batch``, format in ``cairn.server.api_blob_batch_upload``) carries
up to ``BATCH_BYTES`` of blobs in one body, which the server hashes and writes straight
to their final keys. This module groups the blobs and builds and sends the bodies;
``cairn.remote.transfer`` reads the bytes (from the staged copies) and falls back to
single uploads.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from cairn.protocol import BlobRef
from cairn.remote.http import ApiClient, check_retryable, with_retries

if TYPE_CHECKING:
    from collections.abc import Sequence

    import httpx

BATCH_BLOB_MAX = 1024 * 1024  # blobs up to this size go in batches; larger ones alone
BATCH_BYTES = 2 * 1024 * 1024  # bytes of blobs per batch (the server refuses > 64 MiB)
BATCH_COUNT = 1000  # blobs per batch
BATCH_WORKERS = 4  # batches in flight

Upload = tuple[BlobRef, Path]


def plan(
    items: Sequence[Upload],
    blob_max: int = BATCH_BLOB_MAX,
    batch_bytes: int = BATCH_BYTES,
    batch_count: int = BATCH_COUNT,
) -> tuple[list[list[Upload]], list[Upload]]:
    """``(batches of small blobs, blobs to move alone)``, in ``items`` order: blobs over
    ``blob_max`` bytes alone, the others in batches of at most ``batch_count`` blobs and
    ``batch_bytes`` bytes (the defaults are the upload limits; ``batch_reads`` has its
    own)."""
    batches: list[list[Upload]] = []
    alone: list[Upload] = []
    size = 0
    for item in items:
        blob = item[0]
        if blob.size > blob_max:
            alone.append(item)
            continue
        if not batches or len(batches[-1]) >= batch_count or size + blob.size > batch_bytes:
            batches.append([])
            size = 0
        batches[-1].append(item)
        size += blob.size
    return batches, alone


def body(blobs: Sequence[tuple[BlobRef, bytes]]) -> bytes:
    """The request body of a batch: its listing as one line of JSON, then the bytes."""
    listing = {
        "blobs": [{"digest": b.digest, "algorithm": b.algorithm, "size": b.size} for b, _ in blobs]
    }
    head = json.dumps(listing, separators=(",", ":")).encode() + b"\n"
    return b"".join([head, *(data for _, data in blobs)])


def send(client: ApiClient, entity: str, blobs: Sequence[tuple[BlobRef, bytes]]) -> httpx.Response:
    """POST one batch (retried: storing content-addressed blobs is idempotent); returns
    the answer, successful or not (the caller decides what a 413 means).

    Raises: CommError (network errors or 5xx after the retries).
    """
    content = body(blobs)
    path = f"/entities/{entity}/blobs/batch"
    headers = {"Content-Type": "application/octet-stream"}

    def attempt() -> httpx.Response:
        return check_retryable(client.api.post(path, content=content, headers=headers))

    return with_retries(attempt, True, f"batch upload of {len(blobs)} blobs to '{entity}'")
