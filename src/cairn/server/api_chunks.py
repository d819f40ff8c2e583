"""Chunk routes (issue 24): a Cairn client sends and fetches only the chunks needed.

- ``POST /api/v1/entities/{entity}/chunks/missing``: ``{"chunks": [ids]}`` → the ids the
  entity's store lacks (the caller needs ``write``; nothing of other entities is asked).
- ``POST /api/v1/entities/{entity}/chunks/batch``: many chunks in one body, as a blob
  batch (``api_blob_batch_upload``): one line of JSON ``{"chunks": [{"id", "size"}, ...]}``,
  then their bytes concatenated; every chunk is checked against its id before any is
  stored (400 ``digest_mismatch`` otherwise).
- ``PUT /api/v1/entities/{entity}/chunk-lists/{md5 hex}?size=N``: declare a file's chunk
  list (the body); 204 once its chunks reassemble to that MD5 and size (400
  ``digest_mismatch`` when they do not, 409 when chunks were never sent); the file then
  counts as a stored blob.
- ``GET /api/v1/entities/{entity}/chunk-lists/{md5 hex}``: a stored file's chunk list
  (404 when the file is not stored as chunks).
- ``POST /api/v1/entities/{entity}/chunks/read``: ``{"chunks": [ids]}`` (at most
  ``chunk_transfer.READ_COUNT``) → their bytes concatenated in that order.

Routes translate only; the rules are ``cairn.service.chunk_transfer``'s.
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

from cairn.server import signing, wire
from cairn.server.bodies import BodyTooLarge, receive_body
from cairn.server.deps import CallerDep, StateDep
from cairn.server.errors import error_response
from cairn.server.strict_json import StrictJsonRoute
from cairn.service import chunk_transfer

router = APIRouter(prefix="/api/v1", route_class=StrictJsonRoute)

_BINARY = {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
_BATCH_BODY = {
    "required": True,
    "content": _BINARY,
    "description": "One line of JSON listing the chunks, then their bytes concatenated.",
}
_LIST_BODY = {"required": True, "content": _BINARY, "description": "The chunk list."}


@router.post("/entities/{entity}/chunks/missing", response_model=wire.ChunkIds)
def missing_chunks(
    entity: str, body: wire.ChunkIds, state: StateDep, who: CallerDep
) -> wire.ChunkIds:
    """The chunks of ``body`` the entity's store lacks. Errors: 400 (an invalid id), 401,
    403, 404."""
    return wire.ChunkIds(chunks=chunk_transfer.lacking(state.store, who, entity, body.chunks))


def parse_chunk_batch(path: Path) -> list[tuple[str, bytes]]:
    """The ``(id, bytes)`` chunks of the batch file ``path``.

    Raises: ValueError (no listing line, an invalid listing, or a body whose length is
    not the listing's sizes), OSError.
    """
    data = path.read_bytes()
    end = data.find(b"\n")
    if end < 0:
        raise ValueError("a chunk batch starts with one line of JSON listing its chunks")
    try:
        listing = wire.ChunkBatch.model_validate_json(data[:end])
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        raise ValueError(f"invalid chunk listing: {where}: {first.get('msg', '')}") from None
    view = memoryview(data)
    chunks: list[tuple[str, bytes]] = []
    offset = end + 1
    for item in listing.chunks:
        chunks.append((item.id, bytes(view[offset : offset + item.size])))
        offset += item.size
    if offset != len(data):
        named, carried = offset - end - 1, len(data) - end - 1
        raise ValueError(f"the chunk listing names {named} bytes, the body carries {carried}")
    return chunks


@router.post(
    "/entities/{entity}/chunks/batch", status_code=204, openapi_extra={"requestBody": _BATCH_BODY}
)
async def upload_chunks(entity: str, request: Request, state: StateDep, who: CallerDep) -> Response:
    """Store many chunks sent in one body. Errors: 400 invalid_argument (malformed body),
    400 digest_mismatch (a wrong chunk; nothing of the batch stored), 413, 401, 403, 404."""
    grant = await run_in_threadpool(chunk_transfer.writer, state.store, who, entity)
    limit = state.config.limits.max_body_bytes
    path = Path(tempfile.gettempdir()) / f"cairn-chunks-{os.getpid()}-{secrets.token_hex(12)}"
    try:
        try:
            await receive_body(request, path, limit)
        except BodyTooLarge:
            return error_response(413, "too_large", f"request body over {limit} bytes")
        chunks = await run_in_threadpool(parse_chunk_batch, path)
        await run_in_threadpool(chunk_transfer.put_chunks, state.store, grant, chunks)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    return Response(status_code=204)


@router.put(
    "/entities/{entity}/chunk-lists/{hexdigest}",
    status_code=204,
    openapi_extra={"requestBody": _LIST_BODY},
)
async def declare_list(
    entity: str, hexdigest: str, size: int, request: Request, state: StateDep, who: CallerDep
) -> Response:
    """Declare the chunk list of the file whose MD5 is ``hexdigest``. Errors: 400
    invalid_argument (not a list of that file), 400 digest_mismatch (the chunks
    reassemble to another MD5), 409 (chunks never uploaded), 413, 401, 403, 404."""
    grant = await run_in_threadpool(chunk_transfer.writer, state.store, who, entity)
    md5 = signing.hex_to_digest(hexdigest)
    limit = chunk_transfer.MAX_LIST_BYTES
    path = Path(tempfile.gettempdir()) / f"cairn-list-{os.getpid()}-{secrets.token_hex(12)}"
    try:
        try:
            await receive_body(request, path, limit)
        except BodyTooLarge:
            return error_response(413, "too_large", f"a chunk list has at most {limit} bytes")
        data = path.read_bytes()
        await run_in_threadpool(chunk_transfer.declare_file, grant, md5, size, data)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    return Response(status_code=204)


@router.get(
    "/entities/{entity}/chunk-lists/{hexdigest}",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def read_list(entity: str, hexdigest: str, state: StateDep, who: CallerDep) -> Response:
    """The chunk list of a stored file. Errors: 400 (invalid digest), 401, 403, 404 (an
    entity the caller cannot read, or a file not stored as chunks)."""
    md5 = signing.hex_to_digest(hexdigest)
    data = chunk_transfer.chunk_list(state.store, who, entity, md5)
    return Response(data, media_type="application/octet-stream")


@router.post(
    "/entities/{entity}/chunks/read",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def read_chunks(entity: str, body: wire.ChunkIds, state: StateDep, who: CallerDep) -> Response:
    """The bytes of the chunks listed, concatenated in order. Errors: 400 (invalid ids,
    too many), 401, 403, 404 (an entity the caller cannot read, or a chunk not stored)."""
    data = chunk_transfer.read_chunks(state.store, who, entity, body.chunks)
    return Response(data, media_type="application/octet-stream")
