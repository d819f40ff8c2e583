"""The facade's REST side: capability URLs for uploads, and ``file_stream``.

The wandb client uploads with a plain ``PUT`` to the URL an answer gave it, without
credentials and without declaring sizes up front, so these URLs are signed here (HMAC
over the path, the expiry and the public id of the API key they were issued to, ``kid``)
and name exactly one object. Each upload asks the service again when it happens whether
that key is live and its user may still write there (``cairn.service.blob_access``), and
must declare its ``Content-Length``; a body is cut off as soon as it passes it:

- ``/storage/wandb/blob/<entity>/<hex md5>``: one file; stored only if its MD5 matches.
- ``/storage/wandb/part/<entity>/<hex md5>/<upload id>/<n>/<hex md5 of the part>``: one
  part of a multipart upload, kept only if it matches its MD5 (answers the ``ETag`` the
  client needs); ``completeMultipartUploadArtifact`` joins the parts it names by number
  and MD5 and checks the whole file's MD5 (``parts``).
- ``/storage/wandb/manifest/<entity>/<draft>/<hex md5>``: the manifest, which commits the
  draft (``drafts``) as a version, the one write path of ``cairn.service.commit``
  (``.../onto/<base>``: an incremental one; ``.../part``: a part of a distributed version,
  added to it and not committed).
- ``/storage/wandb/runfile/<entity>/<project>/<run>/<name>``: a run file
  (``output.log``, ``config.yaml``, ...): accepted and discarded; Cairn keeps no run files.

These routes serve a directory store; with an S3 store the client uploads to presigned
URLs of the bucket instead (``uploads``). Downloads use the REST API's signed ``/blobs/``
URLs or the bucket's presigned GETs (``views.signed_get``).
``POST /files/<entity>/<project>/<run>/file_stream`` (HTTP Basic) stores history rows in
the run's history and finishes the run when the client says ``complete``. Every history
line of a request is parsed (``loads_json``) before any is stored: a line that is not
JSON or nests deeper than ``MAX_METADATA_DEPTH`` levels refuses the request (400).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from cairn.core.metadata import loads_json
from cairn.errors import AuthenticationError, CorruptionError
from cairn.server import signing, strict_json
from cairn.server.bodies import BodyTooLarge, receive_body, upload_limit
from cairn.server.deps import StateDep
from cairn.server.state import ServerState
from cairn.server.wandb_compat import parts
from cairn.server.wandb_compat.caller import caller_of
from cairn.server.wandb_compat.context import Ctx
from cairn.service import blob_access, drafts, history, runs
from cairn.service.accounts import caller_for_key_id
from cairn.service.blob_access import BlobGrant
from cairn.service.caller import Caller
from cairn.storage.blobstores.interface import ReceivingArea

router = APIRouter(include_in_schema=False)
PREFIX = "/storage/wandb"
LATEST_BASE = "latest"  # an incremental manifest merged onto the collection's latest version


def sign_path(c: Ctx, path: str) -> str:
    """A signed URL for ``path`` (each segment already quoted), issued to the request's
    key and valid for the URL TTL."""
    exp = int(time.time()) + c.state.config.url_ttl_seconds
    kid = c.caller.key_id
    sig = _mac(c.state, path, exp, kid)
    return f"{c.base_url}{path}?exp={exp}&kid={kid}&sig={sig}"


def q(value: str) -> str:
    return quote(value, safe="")


def _mac(state: ServerState, path: str, exp: int, kid: str) -> str:
    message = f"wandb-compat\n{path}\n{exp}\n{kid}".encode()
    return hmac.new(state.config.secret, message, hashlib.sha256).hexdigest()


def _verify(state: ServerState, request: Request) -> str:
    """The key id a transfer URL was issued to.

    Raises: AuthenticationError (bad signature, or expired).
    """
    exp = request.query_params.get("exp", "")
    kid = request.query_params.get("kid", "")
    sig = request.query_params.get("sig", "")
    path = request.scope.get("raw_path", b"").decode() or request.url.path
    if not exp.isdigit() or not hmac.compare_digest(_mac(state, path, int(exp), kid), sig):
        raise AuthenticationError("invalid transfer signature")
    if time.time() > int(exp):
        raise AuthenticationError("transfer URL expired")
    return kid


async def _receive(request: Request, dest: Path, limit: int | None) -> str:
    """Stream the body to ``dest``; return its hex MD5. Raises: BodyTooLarge."""
    md5 = hashlib.md5()
    await receive_body(request, dest, limit, md5)
    return md5.hexdigest()


def _write_grant(state: ServerState, kid: str, entity: str) -> BlobGrant:
    """Leave to upload into ``entity``'s blob directory, for the key ``kid`` now.

    Raises: AuthenticationError (revoked key), NotFoundError / AuthorizationError (the
    key's user may not write there; also a store that is not a directory: there the
    client uploads to the store's presigned URLs, never to these routes).
    """
    grant = blob_access.grant_for_key(state.store, kid, entity, blob_access.WRITE)
    parts.receiving_area(grant)
    return grant


def _area(grant: BlobGrant) -> ReceivingArea:
    return parts.receiving_area(grant)  # the store's area of files (``_write_grant``)


@router.put(PREFIX + "/blob/{entity}/{hexdigest}")
async def put_blob(entity: str, hexdigest: str, request: Request, state: StateDep) -> Response:
    """Store one file of an artifact. Errors: 401 (signature, revoked key), 403/404 (the
    key's user may not write there), 411, 413, 400 digest mismatch."""
    kid = _verify(state, request)
    area = _area(await run_in_threadpool(_write_grant, state, kid, entity))
    limit = upload_limit(request)
    digest = signing.hex_to_digest(hexdigest)
    tmp = area.tmp_dir / f"wandb-{secrets.token_hex(8)}"
    try:
        await _receive(request, tmp, limit)
        await run_in_threadpool(_write_grant, state, kid, entity)  # still allowed?
        await run_in_threadpool(_store, area, tmp, digest)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return Response(status_code=200)


def _store(area: ReceivingArea, path: Path, digest: str) -> None:
    """Store the file at ``path`` as the MD5 blob ``digest``.

    Raises: CorruptionError (other bytes; the message names no server path), OSError.
    """
    try:
        area.put(path, digest, "md5")
    except CorruptionError:
        raise CorruptionError(f"the uploaded bytes do not match MD5 {digest}") from None


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
    """Store one part (its MD5 must be the declared one); answer its ETag.
    Errors: 401, 403/404, 411, 413, 400 (not the declared MD5)."""
    kid = _verify(state, request)
    area = _area(await run_in_threadpool(_write_grant, state, kid, entity))
    limit = upload_limit(request)
    folder = parts.folder(area, upload_id)
    folder.mkdir(exist_ok=True)
    tmp = folder / f"{number}.{secrets.token_hex(4)}.tmp"
    try:
        actual = await _receive(request, tmp, limit)
        if actual != part_md5:
            raise CorruptionError(f"part {number} does not match its MD5")
        await run_in_threadpool(_write_grant, state, kid, entity)
        os.replace(tmp, folder / f"{number}.{actual}")
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return Response(status_code=200, headers={"ETag": f'"{actual}"'})


@router.put(PREFIX + "/manifest/{entity}/{draft}/{hexdigest}")
async def put_manifest(
    entity: str, draft: str, hexdigest: str, request: Request, state: StateDep
) -> Response:
    """Commit the draft with this manifest, as the key the URL was issued to, now.
    Errors: 401 (signature, revoked key), 403/404 (may not write), 411, 413, 400
    (mismatch, invalid; an upload that failed its check), 409, 503 with ``Retry-After`` (a
    large upload still being checked in the background: the client sends it again)."""
    await _commit_manifest(state, request, entity, draft, hexdigest, None)
    return Response(status_code=200)


@router.put(PREFIX + "/manifest/{entity}/{draft}/{hexdigest}/onto/{base}")
async def put_incremental_manifest(
    entity: str, draft: str, hexdigest: str, base: str, request: Request, state: StateDep
) -> Response:
    """Commit the draft with this incremental manifest, merged onto ``base`` (a version
    id, or ``LATEST_BASE``). Errors: as ``put_manifest``."""
    await _commit_manifest(state, request, entity, draft, hexdigest, base)
    return Response(status_code=200)


@router.put(PREFIX + "/manifest/{entity}/{draft}/{hexdigest}/part")
async def put_part_manifest(
    entity: str, draft: str, hexdigest: str, request: Request, state: StateDep
) -> Response:
    """Add this patch manifest's entries to the distributed version the draft is a part
    of; nothing is committed. Errors: as ``put_manifest``."""
    await _commit_manifest(state, request, entity, draft, hexdigest, None, part=True)
    return Response(status_code=200)


async def _commit_manifest(
    state: ServerState,
    request: Request,
    entity: str,
    draft: str,
    hexdigest: str,
    base: str | None,
    part: bool = False,
) -> None:
    kid = _verify(state, request)
    caller = await run_in_threadpool(caller_for_key_id, state.store, kid)
    limit = min(upload_limit(request), state.config.limits.max_body_bytes)
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > limit:
            raise BodyTooLarge(f"body longer than {limit} bytes")
    if hashlib.md5(data).hexdigest() != hexdigest:
        raise CorruptionError("uploaded manifest does not match its MD5")
    draft_id = drafts.draft_id(entity, draft)
    if part:
        await run_in_threadpool(drafts.add_part, state.store, caller, draft_id, bytes(data))
        return
    onto = None if base in (None, LATEST_BASE) else base
    await run_in_threadpool(
        drafts.commit_draft, state.store, caller, draft_id, bytes(data), base is not None, onto
    )


@router.put(PREFIX + "/runfile/{entity}/{project}/{run}/{name:path}")
async def put_run_file(
    entity: str, project: str, run: str, name: str, request: Request, state: StateDep
) -> Response:
    """Accept a run file and discard it (Cairn stores no run files). Errors: 401, 403/404,
    411, 413."""
    kid = _verify(state, request)
    caller = await run_in_threadpool(caller_for_key_id, state.store, kid)
    await run_in_threadpool(runs.writable_run, state.store, caller, entity, project, run)
    limit = upload_limit(request)
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise BodyTooLarge(f"body longer than {limit} bytes")
    return Response(status_code=200)


@router.post("/files/{entity}/{project}/{run}/file_stream")
async def file_stream(
    entity: str, project: str, run: str, request: Request, state: StateDep
) -> JSONResponse:
    """Record history rows; finish the run on ``complete``. Errors: 400 (a body or history
    line of the wrong shape, a line nested too deeply, a step or exit code out of range),
    401, 403, 404."""
    who = await run_in_threadpool(caller_of, request, state)
    body = strict_json.parse(await request.body() or b"{}")
    if not isinstance(body, dict):
        raise ValueError("a file_stream body is a JSON object")
    await run_in_threadpool(_apply_stream, state, who, entity, project, run, body)
    return JSONResponse({"exitcode": None, "limits": {}})


def _history_rows(body: dict[str, Any]) -> list[Any]:
    """The parsed lines of the body's ``wandb-history.jsonl`` chunk, all of them.

    Raises: ValueError (not an object of lists of strings where the stream has them; a line
    that is not JSON, or nests deeper than ``MAX_METADATA_DEPTH`` levels).
    """
    files = body.get("files") or {}
    chunk = files.get("wandb-history.jsonl") or {} if isinstance(files, dict) else None
    lines = chunk.get("content") or [] if isinstance(chunk, dict) else None
    if not isinstance(lines, list) or not all(isinstance(line, str) for line in lines):
        raise ValueError("file_stream: files.wandb-history.jsonl.content is a list of strings")
    return [loads_json(line, what="A wandb-history.jsonl line") for line in lines]


def _apply_stream(
    state: ServerState, who: Caller, entity: str, project: str, run: str, body: dict[str, Any]
) -> None:
    store = state.store
    runs.writable_run(store, who, entity, project, run)
    for row in _history_rows(body):
        if isinstance(row, dict):
            step = row.get("_step")
            data = {k: v for k, v in row.items() if not k.startswith("_")}
            history.log_history(
                store, who, entity, project, run, step if isinstance(step, int) else None, data
            )
    if body.get("complete"):
        code = body.get("exitcode")
        runs.finish_run(store, who, entity, project, run, code if isinstance(code, int) else 0)
