"""Blob routes: which blobs an entity lacks, signed transfer URLs, and the transfers.

Uploads and downloads go through URLs that name one blob of one entity and need no API
key (the signature is the credential): presigned URLs of the S3 store, or for a directory
store ``/blobs/...`` URLs signed by the server (``cairn.server.signing``), which also name
the key they were issued to; the transfer asks ``cairn.service.blob_access`` again when
it happens, so a revoked key or a lost role ends it. There an upload must declare its
length, no more than its signed size; it is streamed to a temporary file, hashed, and
stored only if it matches its digest. Blobs of ``multipart_threshold`` bytes or more go up
in parts that survive an interruption (``/blobs/multipart``); downloads accept ``Range``.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from cairn.errors import CorruptionError, NotFoundError
from cairn.server import signing, streamed, wire
from cairn.server.bodies import receive_body, upload_limit
from cairn.server.deps import CallerDep, StateDep
from cairn.server.state import ServerState
from cairn.server.strict_json import StrictJsonRoute
from cairn.service import blob_access, upload_checks
from cairn.service.blob_access import READ, WRITE, BlobGrant
from cairn.storage.blobstores.interface import ReceivingArea, ServerTransfers, part_length

router = APIRouter(prefix="/api/v1", route_class=StrictJsonRoute)
transfers = APIRouter()


@router.post("/entities/{entity}/blobs/missing", response_model=wire.BlobList)
def missing_blobs(
    entity: str, body: wire.BlobList, state: StateDep, who: CallerDep
) -> wire.BlobList:
    """The blobs of ``body`` the client should upload: on S3 those the server has not
    recorded as stored (no request to the bucket), on a directory store those it lacks."""
    wanted = [(b.digest, b.algorithm) for b in body.blobs]
    missing = blob_access.missing(state.store, who, entity, wanted)
    return wire.BlobList(blobs=[b for b in body.blobs if (b.digest, b.algorithm) in missing])


def _signed(
    state: ServerState, request: Request, op: str, grant: BlobGrant, blob: wire.Blob
) -> tuple[str, int]:
    base = state.config.public_url or str(request.base_url)
    ttl = state.config.url_ttl_seconds
    return signing.sign(
        state.config.secret,
        base,
        op,
        grant.entity,
        blob.algorithm,
        blob.digest,
        blob.size,
        ttl,
        grant.key_id,
        grant.version_id,
    )


def _url(
    state: ServerState, request: Request, op: str, grant: BlobGrant, blob: wire.Blob
) -> wire.SignedUrl:
    ttl = state.config.url_ttl_seconds
    presign = grant.server.upload_url if op == "put" else grant.server.download_url
    presigned = presign(grant.entity, blob.digest, blob.algorithm, blob.size, ttl)
    if presigned is not None:
        url, headers, exp = presigned.url, presigned.headers, presigned.expires_at
    else:
        (url, exp), headers = _signed(state, request, op, grant, blob), {}
    return wire.SignedUrl(**blob.model_dump(), url=url, expires_at=exp, headers=headers)


def _part_size(state: ServerState) -> int:
    """The size of the parts of a multipart upload (S3 takes no smaller ones)."""
    return max(state.config.part_size, state.blob_store.min_part_size())


@router.post("/entities/{entity}/blobs/upload-urls", response_model=wire.SignedUrls)
def upload_urls(
    entity: str, body: wire.BlobList, request: Request, state: StateDep, who: CallerDep
) -> wire.SignedUrls:
    """Upload URLs; blobs of the multipart threshold or more are marked ``multipart``.

    Errors: 400 (a size the server does not take: ``blob_access.check_upload_size``)."""
    for blob in body.blobs:
        blob_access.check_upload_size(
            blob.size, _part_size(state), state.config.multipart_threshold
        )
    grant = blob_access.grant(state.store, who, entity, WRITE, len(body.blobs))
    out = []
    for blob in body.blobs:
        if blob.size >= state.config.multipart_threshold:
            out.append(wire.SignedUrl(**blob.model_dump(), url="", expires_at=0, multipart=True))
        else:
            out.append(_url(state, request, "put", grant, blob))
    return wire.SignedUrls(urls=out)


@router.post("/entities/{entity}/blobs/download-urls", response_model=wire.SignedUrls)
def download_urls(
    entity: str, body: wire.BlobList, request: Request, state: StateDep, who: CallerDep
) -> wire.SignedUrls:
    """Download URLs (they accept ``Range`` requests). Errors: 404 (a blob not stored)."""
    grant = blob_access.grant(state.store, who, entity, READ, len(body.blobs))
    for blob in body.blobs:
        if not grant.area.has(blob.digest, blob.algorithm):
            raise NotFoundError(f"blob {blob.algorithm} {blob.digest} not found in '{entity}'")
    return wire.SignedUrls(urls=[_url(state, request, "get", grant, b) for b in body.blobs])


@router.post("/entities/{entity}/blobs/multipart", response_model=wire.MultipartStart)
def start_multipart(
    entity: str, body: wire.Blob, request: Request, state: StateDep, who: CallerDep
) -> wire.MultipartStart:
    """Begin or resume uploading one blob in parts; parts already received are ``done``.

    Errors: 400 (a size the server does not take: ``blob_access.check_upload_size``)."""
    part_size = _part_size(state)
    blob_access.check_upload_size(body.size, part_size)
    grant = blob_access.grant(state.store, who, entity, WRITE)
    signing.digest_to_hex(body.digest)
    upload = grant.server.start_multipart(entity, body.digest, body.algorithm, body.size, part_size)
    ttl = state.config.url_ttl_seconds
    parts = []
    exp = 0
    for number in range(1, upload.part_count + 1):
        size = part_length(body.size, upload.part_size, number)
        if number in upload.done:
            parts.append(wire.PartUrl(number=number, size=size, url="", done=True))
            continue
        presigned = grant.server.part_url(
            entity, body.digest, body.algorithm, upload.upload_id, number, ttl
        )
        if presigned is not None:
            url, headers, exp = presigned.url, presigned.headers, presigned.expires_at
        else:
            op = f"part:{upload.upload_id}:{number}"
            blob = wire.Blob(digest=body.digest, algorithm=body.algorithm, size=size)
            (url, exp), headers = _signed(state, request, op, grant, blob), {}
        parts.append(wire.PartUrl(number=number, size=size, url=url, headers=headers, done=False))
    return wire.MultipartStart(
        upload_id=upload.upload_id, part_size=upload.part_size, parts=parts, expires_at=exp
    )


@router.post("/entities/{entity}/blobs/multipart/complete", status_code=204)
def complete_multipart(
    entity: str, body: wire.MultipartComplete, state: StateDep, who: CallerDep
) -> Response:
    """Join the parts and store the blob once its digest checks out (on S3 the check runs
    in the background, ``upload_checks``; this waits for it a bounded time).

    Errors: 404 (unknown upload), 409 (parts missing), 400 digest_mismatch (nothing stored),
    400 (a size no upload can have: ``blob_access.check_upload_size``), 503 not_ready (the
    check is still under way: complete again after ``Retry-After``).
    """
    blob_access.check_upload_size(body.size, _part_size(state))
    grant = blob_access.grant(state.store, who, entity, WRITE)
    upload_checks.complete_multipart(
        state.store, grant, body.digest, body.algorithm, body.size, body.upload_id
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
    kid: str,
    sig: str,
    action: str,
    vid: str = "",
) -> BlobGrant:
    """The grant a signed transfer works under, checked now for the key it was issued to
    (and the version it names, for a download of a version's file).

    Raises: AuthenticationError (signature, expiry, revoked key), NotFoundError /
    AuthorizationError (the key's user may no longer move the entity's blobs).
    """
    secret = state.config.secret
    signing.verify(secret, op, entity, algorithm, hexdigest, size, exp, kid, vid, sig)
    if vid:
        return blob_access.version_grant_for_key(state.store, kid, vid, entity)
    return blob_access.grant_for_key(state.store, kid, entity, action)


@transfers.put("/blobs/{entity}/{algorithm}/{hexdigest}", status_code=204)
async def upload(
    entity: str,
    algorithm: str,
    hexdigest: str,
    op: str,
    size: int,
    exp: int,
    kid: str,
    sig: str,
    request: Request,
    state: StateDep,
) -> Response:
    """Store the body as the signed blob. Errors: 401 (signature, revoked key), 403/404
    (the key's user lost the role), 411 (no Content-Length), 413 (longer than the signed
    size), 400 digest_mismatch."""
    op = "put" if op == "put" else ""
    args = (state, op, entity, algorithm, hexdigest, size, exp, kid, sig, WRITE)
    area = _receiving_area(await run_in_threadpool(_checked, *args))
    limit = upload_limit(request, size)
    digest = signing.hex_to_digest(hexdigest)
    tmp = area.tmp_dir / f"upload-{os.getpid()}-{id(request)}-{hexdigest}"
    try:
        received = await receive_body(request, tmp, limit)
        if received != size:
            raise CorruptionError(f"expected {size} bytes, received {received}")
        await run_in_threadpool(_checked, *args)  # still allowed, now that it is here?
        try:
            await run_in_threadpool(area.put, Path(tmp), digest, algorithm)
        except CorruptionError as exc:  # its message names the server's own temporary file
            actual = (exc.context or {}).get("actual", "another digest")
            raise CorruptionError(f"the body has digest {actual}, expected {digest}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return Response(status_code=204)


@transfers.get("/blobs/{entity}/{algorithm}/{hexdigest}", response_class=Response)
def download(
    entity: str,
    algorithm: str,
    hexdigest: str,
    op: str,
    size: int,
    exp: int,
    kid: str,
    sig: str,
    request: Request,
    state: StateDep,
    vid: str = "",
) -> Response:
    """The signed blob's bytes: a whole file as it is stored, or a file stored as chunks
    reassembled on the way (either store), a single ``Range`` honoured. Errors: 401
    (signature, expiry, revoked key), 403/404 (the key's user may no longer read the
    entity or the version, or the blob is not stored), 416 (a range past the end)."""
    op = "get" if op == "get" else ""
    grant = _checked(state, op, entity, algorithm, hexdigest, size, exp, kid, sig, READ, vid)
    area = grant.area
    digest = signing.hex_to_digest(hexdigest)
    if not area.has(digest, algorithm):
        raise NotFoundError("blob not found")
    path = area.local_path(digest, algorithm)
    if path is not None:
        return FileResponse(path, media_type="application/octet-stream")
    if size <= streamed.SMALL_BYTES:
        return Response(area.read_bytes(digest, algorithm), media_type="application/octet-stream")
    return streamed.ranged(area, digest, algorithm, size, request.headers.get("range"))


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
    kid: str,
    sig: str,
    request: Request,
    state: StateDep,
) -> Response:
    """Store one part of a multipart upload (directory store). Errors: 401 (signature,
    revoked key), 403/404 (role lost), 411, 413 (longer than the part), 400
    digest_mismatch (not exactly the part's size), 404 (unknown upload)."""
    expected_op = f"part:{upload_id}:{number}"
    op = expected_op if op == expected_op else ""
    args = (state, op, entity, algorithm, hexdigest, size, exp, kid, sig, WRITE)
    grant = await run_in_threadpool(_checked, *args)
    limit = upload_limit(request, size)
    store = _transfers(grant)
    tmp = store.part_tmp(upload_id, number)
    try:
        await receive_body(request, tmp, limit)
        await run_in_threadpool(_checked, *args)
        await run_in_threadpool(store.commit_part, upload_id, number, tmp, size)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return Response(status_code=204)


def _transfers(grant: BlobGrant) -> ServerTransfers:
    """The store's side of the ``/blobs/`` transfer routes, which exist only for a store
    whose clients move bytes through the server (a directory store)."""
    transfers = grant.server.server_transfers()
    if transfers is None:
        raise NotFoundError("blob transfers go to the object store")
    return transfers


def _receiving_area(grant: BlobGrant) -> ReceivingArea:
    """The granted entity's area of files, for the ``/blobs/`` transfer routes."""
    return _transfers(grant).area(grant.entity)
