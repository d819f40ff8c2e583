"""Blob routes: which blobs an entity lacks, signed transfer URLs, and the transfers.

Uploads and downloads go through ``/blobs/...`` URLs signed by the server
(``cairn.server.signing``); they need no API key (the signature is the credential) and
each names one blob of one entity. An upload is streamed to a temporary file, refused
past its signed size, hashed, and stored only if it matches its digest.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from cairn.errors import CommError, CorruptionError
from cairn.protocol import BlobRef
from cairn.server import signing, wire
from cairn.server.deps import PrincipalDep, StateDep
from cairn.server.errors import error_response
from cairn.server.state import ServerState
from cairn.service.authz import READ, WRITE, authorize

router = APIRouter(prefix="/api/v1")
transfers = APIRouter()


@router.post("/entities/{entity}/blobs/missing", response_model=wire.BlobList)
def missing_blobs(
    entity: str, body: wire.BlobList, state: StateDep, who: PrincipalDep
) -> wire.BlobList:
    authorize(state.store, who, entity, WRITE)
    blobs = state.for_entity(entity).blobs
    return wire.BlobList(blobs=[b for b in body.blobs if not blobs.has(b.digest, b.algorithm)])


def _urls(
    state: ServerState, request: Request, op: str, entity: str, blobs: list[wire.Blob]
) -> wire.SignedUrls:
    base = state.config.public_url or str(request.base_url)
    out = []
    for blob in blobs:
        url, exp = signing.sign(
            state.config.secret,
            base,
            op,
            entity,
            blob.algorithm,
            blob.digest,
            blob.size,
            state.config.url_ttl_seconds,
        )
        out.append(wire.SignedUrl(**blob.model_dump(), url=url, expires_at=exp))
    return wire.SignedUrls(urls=out)


@router.post("/entities/{entity}/blobs/upload-urls", response_model=wire.SignedUrls)
def upload_urls(
    entity: str, body: wire.BlobList, request: Request, state: StateDep, who: PrincipalDep
) -> wire.SignedUrls:
    authorize(state.store, who, entity, WRITE)
    return _urls(state, request, "put", entity, body.blobs)


@router.post("/entities/{entity}/blobs/download-urls", response_model=wire.SignedUrls)
def download_urls(
    entity: str, body: wire.BlobList, request: Request, state: StateDep, who: PrincipalDep
) -> wire.SignedUrls:
    authorize(state.store, who, entity, READ)
    blobs = state.for_entity(entity).blobs
    for blob in body.blobs:
        if not blobs.has(blob.digest, blob.algorithm):
            raise CommError(f"blob {blob.algorithm} {blob.digest} not found in '{entity}'")
    return _urls(state, request, "get", entity, body.blobs)


def _checked(
    state: ServerState,
    op: str,
    entity: str,
    algorithm: str,
    hexdigest: str,
    size: int,
    exp: int,
    sig: str,
) -> BlobRef:
    signing.verify(state.config.secret, op, entity, algorithm, hexdigest, size, exp, sig)
    return BlobRef(signing.hex_to_digest(hexdigest), algorithm, size)


@transfers.put("/blobs/{entity}/{algorithm}/{hexdigest}", status_code=204)
async def upload(
    entity: str,
    algorithm: str,
    hexdigest: str,
    op: str,
    size: int,
    exp: int,
    sig: str,
    request: Request,
    state: StateDep,
) -> Response:
    """Store the body as the signed blob. Errors: 401 (signature), 400 digest_mismatch,
    413 (longer than the signed size)."""
    blob = _checked(
        state, "put" if op == "put" else "", entity, algorithm, hexdigest, size, exp, sig
    )
    blobs = state.for_entity(entity).blobs
    tmp = blobs.tmp_dir / f"upload-{os.getpid()}-{id(request)}-{hexdigest}"
    received = 0
    try:
        with open(tmp, "xb") as out:
            async for chunk in request.stream():
                received += len(chunk)
                if received > size:
                    return _too_large(size)
                out.write(chunk)
        if received != size:
            raise CorruptionError(f"expected {size} bytes, received {received}")
        await run_in_threadpool(blobs.put, Path(tmp), blob.digest, algorithm)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return Response(status_code=204)


def _too_large(size: int) -> Response:
    return error_response(413, "too_large", f"body longer than the signed size ({size} bytes)")


@transfers.get("/blobs/{entity}/{algorithm}/{hexdigest}", response_class=Response)
def download(
    entity: str,
    algorithm: str,
    hexdigest: str,
    op: str,
    size: int,
    exp: int,
    sig: str,
    state: StateDep,
) -> Response:
    """The signed blob's bytes. Errors: 401 (signature or expiry), 404 (not stored)."""
    blob = _checked(
        state, "get" if op == "get" else "", entity, algorithm, hexdigest, size, exp, sig
    )
    blobs = state.for_entity(entity).blobs
    if not blobs.has(blob.digest, algorithm):
        raise CommError("blob not found")
    path = blobs.path_for(blob.digest, algorithm)
    if path.is_file():
        return FileResponse(path, media_type="application/octet-stream")
    return Response(blobs.read_bytes(blob.digest, algorithm), media_type="application/octet-stream")
