"""Where the wandb client uploads an artifact's files: the answers of
``createArtifactFiles`` and the work of ``completeMultipartUploadArtifact``.

The client ``PUT``s each new file to the ``uploadUrl`` it is given (replaying
``uploadHeaders``), or, for files of 2 GiB or more, each part to its URL in
``uploadMultipartUrls`` and then asks the server to join the parts, naming the
``storagePath`` and ``uploadID`` it was given and each part's MD5 (the part PUT's ETag).

- Directory store: the URLs are the facade's own signed ``/storage/wandb/...`` routes
  (``transfers``), which hash what they receive and store only what matches its MD5.
- S3 store: the bytes never pass through the server. A single file goes to the store's
  presigned PUT of a staging key, which requires ``Content-MD5`` (S3 refuses a wrong
  body); a large file becomes an S3 multipart upload of a staging key with presigned part
  URLs, which S3 assembles only if every part matches the MD5 the client declares. Either
  way the object is verified again (whole-object hash) before it is promoted to its
  content-addressed key (``cairn.storage.blobstores.directory``); a wrong object is deleted, so
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
from typing import Any

from cairn.errors import CommError, CorruptionError, NotFoundError
from cairn.server import signing
from cairn.server.wandb_compat import parts as directory_parts
from cairn.server.wandb_compat.context import Ctx
from cairn.server.wandb_compat.transfers import PREFIX, q, sign_path
from cairn.service import upload_checks
from cairn.service.blob_access import BlobGrant
from cairn.service.limits import MAX_UPLOAD_PARTS
from cairn.service.resources import Store
from cairn.storage.blobstores.s3 import S3ServerStore

_NONCE = re.compile(r"[0-9a-f]{16}")
_STAGED, _STORED = "staged", "stored"  # where an earlier completion left the file
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


def _s3(grant: BlobGrant) -> S3ServerStore | None:
    return grant.server if isinstance(grant.server, S3ServerStore) else None


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
    s3 = _s3(grant)
    ttl = c.state.config.url_ttl_seconds
    if s3 is not None:
        presigned = s3.upload_url(entity, md5, "md5", 0, ttl)
        headers = [f"{k}:{v}" for k, v in presigned.headers.items()]
        multipart = _s3_parts(s3, entity, md5, parts, ttl) if parts else None
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


def _s3_parts(
    s3: S3ServerStore, entity: str, md5: str, parts: list[dict[str, Any]], ttl: int
) -> dict[str, Any]:
    nonce = secrets.token_hex(8)
    key = s3.staging_key(entity, md5, "md5", f"wandb-{nonce}")
    s3_id = s3.client.create_multipart_upload(Bucket=s3.bucket, Key=key)["UploadId"]
    urls = []
    for part in parts:
        number = int(part["partNumber"])
        _part_hex(part)
        params = {"Bucket": s3.bucket, "Key": key, "UploadId": s3_id, "PartNumber": number}
        url = s3.client.generate_presigned_url("upload_part", Params=params, ExpiresIn=ttl)
        urls.append({"partNumber": number, "uploadUrl": url})
    return {"uploadID": f"{nonce}.{s3_id}", "uploadUrlParts": urls}


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
    s3 = _s3(grant)
    if s3 is None:
        if abort:
            directory_parts.discard(grant, upload_id)
        else:
            directory_parts.complete(grant, hexdigest, upload_id, list(etags.items()))
        return
    nonce, _, s3_id = upload_id.partition(".")
    if not _NONCE.fullmatch(nonce) or not s3_id:
        raise NotFoundError("unknown upload")
    key = s3.staging_key(entity, md5, "md5", f"wandb-{nonce}")
    if abort:
        s3.client.abort_multipart_upload(Bucket=s3.bucket, Key=key, UploadId=s3_id)
        return
    try:
        s3.client.complete_multipart_upload(
            Bucket=s3.bucket,
            Key=key,
            UploadId=s3_id,
            MultipartUpload={"Parts": [{"PartNumber": n, "ETag": f'"{etags[n]}"'} for n in etags]},
        )
    except Exception as exc:
        code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
        if code in {"InvalidPart", "InvalidPartOrder", "EntityTooSmall"}:
            raise CorruptionError(f"the uploaded parts do not match: {code}") from None
        found = _completed(s3, key, entity, md5)
        if found is None:
            if upload_checks.upload_failed(store, entity, md5, "md5"):  # checked, wrong
                raise CorruptionError(f"the uploaded bytes do not match MD5 {md5}") from None
            if code == "NoSuchUpload":
                raise NotFoundError("unknown upload") from None
            raise
        if found == _STORED:
            return
    upload_checks.queue(store, entity, md5, "md5", key)


def _completed(s3: S3ServerStore, key: str, entity: str, md5: str) -> str | None:
    """Whether an earlier completion joined this upload: ``_STAGED`` (its object waits
    for its check), ``_STORED`` (checked and stored), or None."""
    for found, candidate in ((_STAGED, key), (_STORED, s3.final_key(entity, md5, "md5"))):
        try:
            s3.client.head_object(Bucket=s3.bucket, Key=candidate)
            return found
        except Exception:  # a 404 (or the bucket unreachable: then not known either)
            continue
    return None
