"""Where the wandb client uploads an artifact's files: the answers of
``createArtifactFiles`` and the work of ``completeMultipartUploadArtifact``.

The client ``PUT``s each new file to the ``uploadUrl`` it is given (replaying
``uploadHeaders``), or, for files of 2 GiB or more, each part to its URL in
``uploadMultipartUrls`` and then asks the server to join the parts, naming the
``storagePath`` and ``uploadID`` it was given and each part's MD5 (the part PUT's ETag).

- Directory store (its ``upload_url`` is None: the server signs its own URLs): the URLs
  are the facade's own signed ``/storage/wandb/...`` routes (``transfers``), which hash
  what they receive and store only what matches its MD5.
- S3 store (presigned URLs, and ``declared_parts()`` for multipart uploads): the bytes
  never pass through the server. A single file goes to the store's
  presigned PUT of a staging key, which requires ``Content-MD5`` (S3 refuses a wrong
  body); a large file becomes an S3 multipart upload of a staging key with presigned part
  URLs, which S3 assembles only if every part matches the MD5 the client declares. Either
  way the object is verified again (whole-object hash) before it is promoted to its
  content-addressed key (``cairn.storage.blobstores.interface``); a wrong object is deleted, so
  nothing corrupt is ever stored. An assembled multipart object is verified in the
  background (``cairn.service.upload_checks``), never inside the completion or the
  manifest commit, which only waits (briefly) for the check to be done.

``storagePath`` is ``<entity>/md5/<hex md5>`` for both stores; an S3 ``uploadID`` is
``<nonce>.<S3 upload id>``, the nonce naming the staging key.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
from typing import TYPE_CHECKING, Any

from cairn.errors import CommError, CorruptionError, NotFoundError
from cairn.server import signing
from cairn.server.wandb_compat import parts as directory_parts
from cairn.server.wandb_compat.transfers import PREFIX, q, sign_path
from cairn.service import upload_checks
from cairn.service.limits import MAX_UPLOAD_PARTS

if TYPE_CHECKING:
    from cairn.server.wandb_compat.context import Ctx
    from cairn.service.blob_access import BlobGrant
    from cairn.service.resources import Store
    from cairn.storage.blobstores.interface import DeclaredParts

MAX_PARTS = MAX_UPLOAD_PARTS  # S3's limit on the parts of one upload


@dataclasses.dataclass(frozen=True)
class Upload:
    """Where one file goes: a single PUT, or parts (``multipart`` as the client reads it)."""

    storage_path: str
    url: str | None
    headers: list[str]
    multipart: dict[str, Any] | None


def storage_path(entity: str, hexdigest: str) -> str:
    return f"{entity}/md5/{hexdigest}"


def parse_storage_path(value: str) -> tuple[str, str]:
    """``(entity, hex md5)`` of a ``storagePath``. Raises: CommError (not one of ours)."""
    entity, _, hexdigest = value.rpartition("/md5/")
    if not entity or not re.fullmatch(r"[0-9a-f]{32}", hexdigest):
        raise CommError(f"unknown storagePath '{value}'")
    return entity, hexdigest


def plan(c: Ctx, grant: BlobGrant, md5: str, parts: list[dict[str, Any]] | None) -> Upload:
    """Where the file with base64 MD5 ``md5`` goes (in ``parts`` if the client asks), for
    the upload ``grant`` allows.

    Raises: ValueError (invalid digest, too many parts), botocore errors (bucket
    unreachable).
    """
    entity = grant.entity
    hexdigest = signing.digest_to_hex(md5)
    path = storage_path(entity, hexdigest)
    if parts is not None and len(parts) > MAX_PARTS:
        raise ValueError(f"Too many parts: {len(parts)}, the limit is {MAX_PARTS}")
    ttl = c.state.config.url_ttl_seconds
    presigned = grant.server.upload_url(entity, md5, "md5", 0, ttl)
    if presigned is not None:
        headers = [f"{k}:{v}" for k, v in presigned.headers.items()]
        multipart = _presigned_parts(grant, md5, parts, ttl) if parts else None
        return Upload(path, presigned.url, headers, multipart)
    url = sign_path(c, f"{PREFIX}/blob/{q(entity)}/{hexdigest}")
    multipart = None
    if parts:
        upload_id = secrets.token_hex(12)
        multipart = {
            "uploadID": upload_id,
            "uploadUrlParts": [
                {
                    "partNumber": int(part["partNumber"]),
                    "uploadUrl": sign_path(
                        c,
                        f"{PREFIX}/part/{q(entity)}/{hexdigest}/{upload_id}/"
                        f"{int(part['partNumber'])}/{_part_hex(part)}",
                    ),
                }
                for part in parts
            ],
        }
    return Upload(path, url, [], multipart)


def _number(part: dict[str, Any]) -> int:
    return int(part["partNumber"])


def _part_hex(part: dict[str, Any]) -> str:
    value = str(part["hexMD5"]).strip('"').lower()  # completions send the ETag, quoted
    if not re.fullmatch(r"[0-9a-f]{32}", value):
        raise ValueError(f"part {part['partNumber']}: invalid hexMD5 '{part['hexMD5']}'")
    return value


def _declared_parts(grant: BlobGrant) -> DeclaredParts:
    """The store's multipart uploads to presigned URLs. Raises: NotFoundError (a store
    that presigns single uploads but takes no parts declared by MD5)."""
    declared = grant.server.declared_parts()
    if declared is None:
        raise NotFoundError("this server's store takes no multipart uploads from the client")
    return declared


def _presigned_parts(
    grant: BlobGrant, md5: str, parts: list[dict[str, Any]], ttl: int
) -> dict[str, Any]:
    numbers = [int(part["partNumber"]) for part in parts]
    for part in parts:
        _part_hex(part)
    upload_id, urls = _declared_parts(grant).start_declared(grant.entity, md5, numbers, ttl)
    return {
        "uploadID": upload_id,
        "uploadUrlParts": [{"partNumber": n, "uploadUrl": urls[n]} for n in numbers],
    }


def complete(
    store: Store,
    grant: BlobGrant,
    hexdigest: str,
    upload_id: str,
    parts: list[dict[str, Any]],
    abort: bool,
) -> None:
    """Join the parts of a multipart upload (or, with ``abort``, drop them).

    Directory store: the parts are joined and the file is stored if its MD5 matches, one
    completion of an upload at a time (``parts``: a repeat waits for the first). S3:
    S3 joins the parts if each matches the MD5 the client declares; the joined object
    waits in the staging area and its check is queued (``upload_checks``): a worker
    verifies it in full in the background (a multipart ETag is no MD5) and promotes it,
    and the commit waits for that, refusing the version if it does not match. This keeps
    every request short: the client gives a request about 30 s, and re-reading 2 GiB can
    take longer. Completing again an upload that was completed succeeds (the client
    repeats requests that time out).

    Raises: NotFoundError (unknown upload, a part missing), CorruptionError (a part or the
    whole file does not match its MD5; nothing is stored), botocore and sqlalchemy errors.
    """
    entity = grant.entity
    etags = {_number(p): _part_hex(p) for p in sorted(parts, key=_number)}
    md5 = signing.hex_to_digest(hexdigest)
    declared = grant.server.declared_parts()
    if declared is None:
        if abort:
            directory_parts.discard(grant, upload_id)
        else:
            directory_parts.complete(grant, hexdigest, upload_id, list(etags.items()))
        return
    if abort:
        declared.abort_declared(entity, md5, upload_id)
        return
    try:
        staged = declared.complete_declared(entity, md5, upload_id, etags)
    except CorruptionError:
        raise
    except Exception:
        if upload_checks.upload_failed(store, entity, md5, "md5"):  # checked, wrong
            raise CorruptionError(f"the uploaded bytes do not match MD5 {md5}") from None
        raise
    if staged is not None:
        upload_checks.queue(store, entity, md5, "md5", staged)
