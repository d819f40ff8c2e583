"""``GET /artifactsV2/...``: a file of an artifact named by its MD5, for the official client.

The client downloads an entry through its ``directUrl`` when it has one; when it has none
(``artifact.get_entry(name).download()``, ``artifact.file()``, a ``wandb-artifact://``
reference) it asks the server for the file by path, with its key (HTTP Basic):

    /artifactsV2/<region>/<entity>/<project>/<collection>/<artifact id>/<birth id>/<md5>/<name>

The artifact id is there because the server advertises
``ARTIFACT_V2_DOWNLOAD_HANDLER_SUPPORTS_ARTIFACT_ID``; older clients send the same path
without it, and the file is found through the version its entry was born in (the birth
id the client recorded is a draft id, resolved to the version it became). Either way the
service checks that the caller may read that version and that its manifest holds a
stored entry with that MD5 (``cairn.service.files.entry_bytes``) before a byte is sent.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from cairn.server import signing
from cairn.server.deps import StateDep
from cairn.server.state import ServerState
from cairn.server.wandb_compat.caller import caller_of
from cairn.service import drafts, files
from cairn.service.caller import Caller

router = APIRouter(include_in_schema=False)
PREFIX = "/artifactsV2/{region}/{entity}/{project}/{collection}"


def _bytes(state: ServerState, caller: Caller, artifact_id: str, hexmd5: str) -> Response:
    digest = signing.hex_to_digest(hexmd5)
    version = drafts.version_id(state.store, caller, artifact_id)
    found = files.entry_bytes(state.store, caller, version, digest, "md5")
    loose = found.loose_path(digest, "md5")
    if loose is not None:
        return FileResponse(loose, media_type="application/octet-stream")
    return StreamingResponse(found.stream(digest, "md5"), media_type="application/octet-stream")


@router.get(PREFIX + "/{artifact_id}/{birth_id}/{hexmd5}/{name}")
async def file_of_artifact(
    artifact_id: str, birth_id: str, hexmd5: str, request: Request, state: StateDep
) -> Response:
    """The file with MD5 ``hexmd5`` of the version ``artifact_id``. Errors: 401, 404."""
    caller = await run_in_threadpool(caller_of, request, state)
    return await run_in_threadpool(_bytes, state, caller, artifact_id, hexmd5)


@router.get(PREFIX + "/{birth_id}/{hexmd5}/{name}")
async def file_of_birth(birth_id: str, hexmd5: str, request: Request, state: StateDep) -> Response:
    """The file with MD5 ``hexmd5`` of the version it was born in. Errors: 401, 404."""
    caller = await run_in_threadpool(caller_of, request, state)
    return await run_in_threadpool(_bytes, state, caller, birth_id, hexmd5)
