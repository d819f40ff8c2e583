"""The facade's REST side: capability URLs for uploads, and ``file_stream``.

The wandb client uploads with a plain ``PUT`` to the URL an answer gave it, without
credentials and without declaring sizes up front, so these URLs are signed here (HMAC
over the path and expiry with the server's secret) and name exactly one object:

- ``/storage/wandb/blob/<entity>/<hex md5>``: one file; stored only if its MD5 matches.
- ``/storage/wandb/part/<entity>/<hex md5>/<upload id>/<n>/<hex md5 of the part>``: one
  part of a multipart upload, kept only if it matches its MD5 (answers the ``ETag`` the
  client needs); ``completeMultipartUploadArtifact`` joins the parts it names by number
  and MD5 and checks the whole file's MD5.
- ``/storage/wandb/manifest/<entity>/<draft>/<hex md5>``: the manifest, which commits the
  draft (``drafts``) as a version, the one write path of ``cairn.service.commit``.
- ``/storage/wandb/runfile/<entity>/<project>/<run>/<name>``: a run file
  (``output.log``, ``config.yaml``, ...): accepted and discarded; Cairn keeps no run files.

These routes serve a directory store; with an S3 store the client uploads to presigned
URLs of the bucket instead (``uploads``). Downloads use the REST API's signed ``/blobs/``
URLs or the bucket's presigned GETs (``views.signed_get``).
``POST /files/<entity>/<project>/<run>/file_stream`` (HTTP Basic) stores history rows in
the run's history and finishes the run when the client says ``complete``.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import shutil
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from cairn.errors import AuthenticationError, CorruptionError, NotFoundError
from cairn.server import signing
from cairn.server.bodies import BodyTooLarge, receive_body
from cairn.server.deps import StateDep
from cairn.server.state import ServerState
from cairn.server.wandb_compat import drafts
from cairn.service import commit, history, runs
from cairn.service.authz import WRITE, authorize
from cairn.storage.blobstore import LocalBlobStore

router = APIRouter(include_in_schema=False)
PREFIX = "/storage/wandb"


def sign_path(state: ServerState, base_url: str, path: str) -> str:
    """A signed URL for ``path`` (each segment already quoted), valid for the URL TTL."""
    exp = int(time.time()) + state.config.url_ttl_seconds
    sig = _mac(state, path, exp)
    return f"{base_url}{path}?exp={exp}&sig={sig}"


def q(value: str) -> str:
    return quote(value, safe="")


def _mac(state: ServerState, path: str, exp: int) -> str:
    message = f"wandb-compat\n{path}\n{exp}".encode()
    return hmac.new(state.config.secret, message, hashlib.sha256).hexdigest()


def _verify(state: ServerState, request: Request) -> None:
    """Raises: AuthenticationError (bad signature, or expired)."""
    exp = request.query_params.get("exp", "")
    sig = request.query_params.get("sig", "")
    path = request.scope.get("raw_path", b"").decode() or request.url.path
    if not exp.isdigit() or not hmac.compare_digest(_mac(state, path, int(exp)), sig):
        raise AuthenticationError("invalid transfer signature")
    if time.time() > int(exp):
        raise AuthenticationError("transfer URL expired")


async def _receive(request: Request, dest: Path, limit: int | None) -> str:
    """Stream the body to ``dest``; return its hex MD5. Raises: CorruptionError (too long)."""
    md5 = hashlib.md5()
    try:
        await receive_body(request, dest, limit, md5)
    except BodyTooLarge as exc:
        raise CorruptionError(str(exc)) from None
    return md5.hexdigest()


def _directory_area(state: ServerState, entity: str) -> LocalBlobStore:
    """The entity's blob directory. Raises: NotFoundError (the store is not a directory:
    there the client uploads to the store's presigned URLs, never to these routes)."""
    area = state.for_entity(entity).blobs
    if not isinstance(area, LocalBlobStore):
        raise NotFoundError("this server's blobs are uploaded to its object store")
    return area


@router.put(PREFIX + "/blob/{entity}/{hexdigest}")
async def put_blob(entity: str, hexdigest: str, request: Request, state: StateDep) -> Response:
    """Store one file of an artifact. Errors: 401 (signature), 400 digest mismatch."""
    _verify(state, request)
    digest = signing.hex_to_digest(hexdigest)
    area = _directory_area(state, entity)
    tmp = area.tmp_dir / f"wandb-{secrets.token_hex(8)}"
    try:
        await _receive(request, tmp, None)
        await run_in_threadpool(_store, area, tmp, digest)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return Response(status_code=200)


def _store(area: LocalBlobStore, path: Path, digest: str) -> None:
    """Store the file at ``path`` as the MD5 blob ``digest``.

    Raises: CorruptionError (other bytes; the message names no server path), OSError.
    """
    try:
        area.put(path, digest, "md5")
    except CorruptionError:
        raise CorruptionError(f"the uploaded bytes do not match MD5 {digest}") from None


def parts_dir(area: LocalBlobStore, upload_id: str) -> Path:
    """Where the parts of one multipart upload wait. Raises: NotFoundError (bad id)."""
    if not upload_id.isalnum():
        raise NotFoundError("unknown upload")
    return area.tmp_dir / f"wandb-mp-{upload_id}"


@router.put(PREFIX + "/part/{entity}/{hexdigest}/{upload_id}/{number}/{part_md5}")
async def put_part(
    entity: str,
    hexdigest: str,
    upload_id: str,
    number: int,
    part_md5: str,
    request: Request,
    state: StateDep,
) -> Response:
    """Store one part (its MD5 must be the declared one); answer its ETag."""
    _verify(state, request)
    folder = parts_dir(_directory_area(state, entity), upload_id)
    folder.mkdir(exist_ok=True)
    tmp = folder / f"{number}.{secrets.token_hex(4)}.tmp"
    try:
        actual = await _receive(request, tmp, None)
        if actual != part_md5:
            raise CorruptionError(f"part {number} does not match its MD5")
        os.replace(tmp, folder / f"{number}.{actual}")
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return Response(status_code=200, headers={"ETag": f'"{actual}"'})


def complete_multipart(
    state: ServerState, entity: str, hexdigest: str, upload_id: str, parts: list[tuple[int, str]]
) -> None:
    """Join the parts ``(number, hex MD5)`` in order and store the file if its MD5
    matches; the parts are dropped then. The join appends to the first part in place.

    Raises: NotFoundError (unknown upload, or a part with that MD5 never received;
    nothing is changed), CorruptionError (the joined file does not match its MD5).
    """
    area = _directory_area(state, entity)
    folder = parts_dir(area, upload_id)
    paths = [folder / f"{number}.{md5}" for number, md5 in sorted(set(parts))]
    missing = [p.name for p in paths if not p.is_file()]
    if not paths or missing:
        raise NotFoundError(f"parts {missing} of the upload were never received")
    try:
        with open(paths[0], "ab") as out:
            for part in paths[1:]:
                with open(part, "rb") as src:
                    shutil.copyfileobj(src, out, 8 * 1024 * 1024)
                os.unlink(part)
        _store(area, paths[0], signing.hex_to_digest(hexdigest))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def discard_parts(state: ServerState, entity: str, upload_id: str) -> None:
    """Drop the parts of an abandoned multipart upload. Raises: NotFoundError (bad id)."""
    shutil.rmtree(parts_dir(_directory_area(state, entity), upload_id), ignore_errors=True)


@router.put(PREFIX + "/manifest/{entity}/{draft}/{hexdigest}")
async def put_manifest(
    entity: str, draft: str, hexdigest: str, request: Request, state: StateDep
) -> Response:
    """Commit the draft with this manifest. Errors: 401, 400 (mismatch, invalid), 404."""
    _verify(state, request)
    data = await request.body()
    if hashlib.md5(data).hexdigest() != hexdigest:
        raise CorruptionError("uploaded manifest does not match its MD5")
    store = state.for_entity(entity)
    found = await run_in_threadpool(drafts.load, store, draft)
    await run_in_threadpool(commit.commit_version, store, drafts.commit_request(found, data))
    return Response(status_code=200)


@router.put(PREFIX + "/runfile/{entity}/{project}/{run}/{name:path}")
async def put_run_file(
    entity: str, project: str, run: str, name: str, request: Request, state: StateDep
) -> Response:
    """Accept a run file and discard it (Cairn stores no run files)."""
    _verify(state, request)
    async for _chunk in request.stream():
        pass
    return Response(status_code=200)


@router.post("/files/{entity}/{project}/{run}/file_stream")
async def file_stream(
    entity: str, project: str, run: str, request: Request, state: StateDep
) -> JSONResponse:
    """Record history rows; finish the run on ``complete``. Errors: 401, 404."""
    from cairn.server.wandb_compat.endpoint import principal_of

    who = await run_in_threadpool(principal_of, request, state)
    await run_in_threadpool(authorize, state.store, who, entity, WRITE, project)
    body: dict[str, Any] = json.loads(await request.body() or b"{}")
    await run_in_threadpool(_apply_stream, state, entity, project, run, body)
    return JSONResponse({"exitcode": None, "limits": {}})


def _apply_stream(
    state: ServerState, entity: str, project: str, run: str, body: dict[str, Any]
) -> None:
    store = state.for_entity(entity)
    chunk = (body.get("files") or {}).get("wandb-history.jsonl") or {}
    for line in chunk.get("content") or []:
        row = json.loads(line)
        if isinstance(row, dict):
            step = row.get("_step")
            data = {k: v for k, v in row.items() if not k.startswith("_")}
            history.log_history(
                store, entity, project, run, step if isinstance(step, int) else None, data
            )
    if body.get("complete"):
        code = body.get("exitcode")
        runs.finish_run(store, entity, project, run, code if isinstance(code, int) else 0)
