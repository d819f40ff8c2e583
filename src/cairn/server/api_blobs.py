"""Blob routes: which blobs an entity lacks, signed transfer URLs, and the transfers.

Uploads and downloads go through URLs that name one blob of one entity and need no API
key (the signature is the credential): presigned URLs of the S3 store, or for a directory
store ``/blobs/...`` URLs signed by the server (``cairn.server.signing``). There an upload
is streamed to a temporary file, refused past its signed size, hashed, and stored only if
it matches its digest. Blobs of ``multipart_threshold`` bytes or more go up in parts that
survive an interruption (``/blobs/multipart``); downloads accept ``Range`` requests.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from cairn.errors import CorruptionError, NotFoundError
from cairn.protocol import BlobRef
from cairn.server import signing, wire
from cairn.server.bodies import BodyTooLarge, receive_body
from cairn.server.deps import PrincipalDep, StateDep
from cairn.server.errors import error_response
from cairn.server.state import ServerState
from cairn.service.authz import READ, WRITE, authorize
from cairn.storage.server_store import MIN_PART_SIZE, DirectoryServerStore, part_length

router = APIRouter(prefix="/api/v1")
transfers = APIRouter()


@router.post("/entities/{entity}/blobs/missing", response_model=wire.BlobList)
def missing_blobs(
    entity: str, body: wire.BlobList, state: StateDep, who: PrincipalDep
) -> wire.BlobList:
    """The blobs of ``body`` the client should upload: on S3 those the server has not
    recorded as stored (no request to the bucket), on a directory store those it lacks."""
    authorize(state.store, who, entity, WRITE)
    state.for_entity(entity)
    wanted = [(b.digest, b.algorithm) for b in body.blobs]
    missing = state.blob_store.to_upload(entity, wanted)
    return wire.BlobList(blobs=[b for b in body.blobs if (b.digest, b.algorithm) in missing])


def _signed(
    state: ServerState, request: Request, op: str, entity: str, blob: wire.Blob
) -> tuple[str, int]:
    base = state.config.public_url or str(request.base_url)
    ttl = state.config.url_ttl_seconds
    return signing.sign(
        state.config.secret, base, op, entity, blob.algorithm, blob.digest, blob.size, ttl
    )


def _url(
    state: ServerState, request: Request, op: str, entity: str, blob: wire.Blob
) -> wire.SignedUrl:
    ttl = state.config.url_ttl_seconds
    presign = state.blob_store.upload_url if op == "put" else state.blob_store.download_url
    presigned = presign(entity, blob.digest, blob.algorithm, blob.size, ttl)
    if presigned is not None:
        url, headers, exp = presigned.url, presigned.headers, presigned.expires_at
    else:
        (url, exp), headers = _signed(state, request, op, entity, blob), {}
    return wire.SignedUrl(**blob.model_dump(), url=url, expires_at=exp, headers=headers)


@router.post("/entities/{entity}/blobs/upload-urls", response_model=wire.SignedUrls)
def upload_urls(
    entity: str, body: wire.BlobList, request: Request, state: StateDep, who: PrincipalDep
) -> wire.SignedUrls:
    """Upload URLs; blobs of the multipart threshold or more are marked ``multipart``."""
    authorize(state.store, who, entity, WRITE)
    state.for_entity(entity)
    out = []
    for blob in body.blobs:
        if blob.size >= state.config.multipart_threshold:
            out.append(wire.SignedUrl(**blob.model_dump(), url="", expires_at=0, multipart=True))
        else:
            out.append(_url(state, request, "put", entity, blob))
    return wire.SignedUrls(urls=out)


@router.post("/entities/{entity}/blobs/download-urls", response_model=wire.SignedUrls)
def download_urls(
    entity: str, body: wire.BlobList, request: Request, state: StateDep, who: PrincipalDep
) -> wire.SignedUrls:
    """Download URLs (they accept ``Range`` requests). Errors: 404 (a blob not stored)."""
    authorize(state.store, who, entity, READ)
    blobs = state.for_entity(entity).blobs
    for blob in body.blobs:
        if not blobs.has(blob.digest, blob.algorithm):
            raise NotFoundError(f"blob {blob.algorithm} {blob.digest} not found in '{entity}'")
    return wire.SignedUrls(urls=[_url(state, request, "get", entity, b) for b in body.blobs])


@router.post("/entities/{entity}/blobs/multipart", response_model=wire.MultipartStart)
def start_multipart(
    entity: str, body: wire.Blob, request: Request, state: StateDep, who: PrincipalDep
) -> wire.MultipartStart:
    """Begin or resume uploading one blob in parts; parts already received are ``done``."""
    authorize(state.store, who, entity, WRITE)
    signing.digest_to_hex(body.digest)
    part_size = max(state.config.part_size, MIN_PART_SIZE if state.config.store_url else 1)
    upload = state.blob_store.start_multipart(
        entity, body.digest, body.algorithm, body.size, part_size
    )
    ttl = state.config.url_ttl_seconds
    parts = []
    exp = 0
    for number in range(1, upload.part_count + 1):
        size = part_length(body.size, upload.part_size, number)
        if number in upload.done:
            parts.append(wire.PartUrl(number=number, size=size, url="", done=True))
            continue
        presigned = state.blob_store.part_url(
            entity, body.digest, body.algorithm, upload.upload_id, number, ttl
        )
        if presigned is not None:
            url, headers, exp = presigned.url, presigned.headers, presigned.expires_at
        else:
            op = f"part:{upload.upload_id}:{number}"
            blob = wire.Blob(digest=body.digest, algorithm=body.algorithm, size=size)
            (url, exp), headers = _signed(state, request, op, entity, blob), {}
        parts.append(wire.PartUrl(number=number, size=size, url=url, headers=headers, done=False))
    return wire.MultipartStart(
        upload_id=upload.upload_id, part_size=upload.part_size, parts=parts, expires_at=exp
    )


@router.post("/entities/{entity}/blobs/multipart/complete", status_code=204)
def complete_multipart(
    entity: str, body: wire.MultipartComplete, state: StateDep, who: PrincipalDep
) -> Response:
    """Join the parts and store the blob once its digest checks out.

    Errors: 404 (unknown upload), 409 (parts missing), 400 digest_mismatch (nothing stored).
    """
    authorize(state.store, who, entity, WRITE)
    state.blob_store.complete_multipart(
        entity, body.digest, body.algorithm, body.size, body.upload_id
    )
    return Response(status_code=204)


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
    blobs = _directory(state).area(entity)
    tmp = blobs.tmp_dir / f"upload-{os.getpid()}-{id(request)}-{hexdigest}"
    try:
        try:
            received = await receive_body(request, tmp, size)
        except BodyTooLarge:
            return _too_large(size)
        if received != size:
            raise CorruptionError(f"expected {size} bytes, received {received}")
        try:
            await run_in_threadpool(blobs.put, Path(tmp), blob.digest, algorithm)
        except CorruptionError as exc:  # its message names the server's own temporary file
            actual = (exc.context or {}).get("actual", "another digest")
            raise CorruptionError(f"the body has digest {actual}, expected {blob.digest}") from None
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
    blobs = _directory(state).area(entity)
    if not blobs.has(blob.digest, algorithm):
        raise NotFoundError("blob not found")
    path = blobs.path_for(blob.digest, algorithm)
    if path.is_file():
        return FileResponse(path, media_type="application/octet-stream")
    return Response(blobs.read_bytes(blob.digest, algorithm), media_type="application/octet-stream")


@transfers.put(
    "/blobs/{entity}/{algorithm}/{hexdigest}/parts/{upload_id}/{number}", status_code=204
)
async def upload_part(
    entity: str,
    algorithm: str,
    hexdigest: str,
    upload_id: str,
    number: int,
    op: str,
    size: int,
    exp: int,
    sig: str,
    request: Request,
    state: StateDep,
) -> Response:
    """Store one part of a multipart upload (directory store). Errors: 401 (signature),
    400 digest_mismatch (not exactly the part's size), 404 (unknown upload)."""
    expected_op = f"part:{upload_id}:{number}"
    _checked(
        state,
        expected_op if op == expected_op else "",
        entity,
        algorithm,
        hexdigest,
        size,
        exp,
        sig,
    )
    store = _directory(state)
    tmp = store.part_tmp(upload_id, number)
    try:
        try:
            await receive_body(request, tmp, size)
        except BodyTooLarge:
            return _too_large(size)
        await run_in_threadpool(store.commit_part, upload_id, number, tmp, size)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return Response(status_code=204)


def _directory(state: ServerState) -> DirectoryServerStore:
    """The directory store; the ``/blobs/`` transfer routes exist only for it."""
    store = state.blob_store
    if not isinstance(store, DirectoryServerStore):
        raise NotFoundError("blob transfers go to the object store")
    return store
