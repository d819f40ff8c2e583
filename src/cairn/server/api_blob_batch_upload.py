"""``POST /api/v1/entities/{entity}/blobs/batch``: many small blobs in one request.

A presigned PUT per blob costs the client a request and the server (on S3) a later
check and copy of the upload per blob; for thousands of small files those requests are
the whole cost. A batch carries many blobs in one body, the server hashes every one and
writes each straight to its final key (``ServerStore.put_batch``: one S3 PUT per blob).

Body (``application/octet-stream``, at most the server's ``max_body_bytes``):

    {"blobs": [{"digest": ..., "algorithm": "md5" | "xxh128", "size": ...}, ...]}\\n
    <the bytes of the first blob><the bytes of the second blob>...

One line of JSON (the listing, as for ``blobs/missing``) ending with a newline, then the
blobs' bytes concatenated in the listing's order; the body ends exactly after the last
blob. Answers: 204 (every blob stored), 400 ``invalid_argument`` (a body that does not
fit this format), 400 ``digest_mismatch`` (a blob whose bytes do not match its digest:
nothing of the batch is stored), 413 ``too_large``, 401, 403, 404 (an entity the caller
cannot read) as other routes.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from pathlib import Path

from fastapi import APIRouter, Request, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from cairn.server import wire
from cairn.server.bodies import BodyTooLarge, receive_body
from cairn.server.deps import CallerDep, StateDep
from cairn.server.errors import error_response
from cairn.server.strict_json import StrictJsonRoute
from cairn.service import blob_access
from cairn.service.blob_access import BlobGrant
from cairn.storage.blobstores.interface import BatchItem

router = APIRouter(prefix="/api/v1", route_class=StrictJsonRoute)

_BODY = {
    "required": True,
    "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    "description": "One line of JSON listing the blobs, then their bytes concatenated.",
}


def parse_batch(path: Path) -> list[BatchItem]:
    """The blobs of the batch file ``path`` as ``(digest, algorithm, offset, size)``.

    Raises: ValueError (no listing line, an invalid listing, or a body whose length is
    not the listing's sizes), OSError.
    """
    with open(path, "rb") as body:
        line = body.readline()
    if not line.endswith(b"\n"):
        raise ValueError("a batch body starts with one line of JSON listing its blobs")
    try:
        listing = wire.BlobList.model_validate_json(line)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        raise ValueError(f"invalid batch listing: {where}: {first.get('msg', '')}") from None
    items: list[BatchItem] = []
    offset = len(line)
    for blob in listing.blobs:
        items.append((blob.digest, blob.algorithm, offset, blob.size))
        offset += blob.size
    length = path.stat().st_size
    if offset != length:
        raise ValueError(
            f"the batch listing names {offset - len(line)} bytes of blobs, "
            f"the body carries {length - len(line)}"
        )
    return items


def _store(grant: BlobGrant, path: Path) -> None:
    grant.server.put_batch(grant.entity, path, parse_batch(path))


@router.post(
    "/entities/{entity}/blobs/batch", status_code=204, openapi_extra={"requestBody": _BODY}
)
async def upload_batch(entity: str, request: Request, state: StateDep, who: CallerDep) -> Response:
    """Store many small blobs sent in one body (format in ``cairn.server.api_blob_batch_upload``).

    Errors: 400 invalid_argument (malformed body), 400 digest_mismatch (a wrong blob;
    nothing of the batch stored), 413 (over the body limit), 401, 403, 404.
    """
    grant = await run_in_threadpool(blob_access.grant, state.store, who, entity, blob_access.WRITE)
    limit = state.config.limits.max_body_bytes
    path = Path(tempfile.gettempdir()) / f"cairn-batch-{os.getpid()}-{secrets.token_hex(12)}"
    try:
        try:
            await receive_body(request, path, limit)
        except BodyTooLarge:
            return error_response(413, "too_large", f"request body over {limit} bytes")
        await run_in_threadpool(_store, grant, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    return Response(status_code=204)
