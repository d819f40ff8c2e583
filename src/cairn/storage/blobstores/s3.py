"""A Cairn server's blobs in an S3-compatible bucket (``--store s3://bucket/prefix``).

Keys: ``<prefix>/entities/<entity>/<algorithm>/<hex[:2]>/<hex[2:]>`` for stored blobs,
``<prefix>/incoming/<entity>/<algorithm>/<hex>/<nonce>`` for single uploads and
``.../mp-<size>-<part size>`` (or ``.../wandb-<nonce>``, the wandb facade's) for multipart
uploads waiting for verification. Clients get presigned URLs for the staging keys only;
the server promotes an object to its final key after checking it
(``cairn.storage.blobstores.interface`` explains how), so a wrong body never becomes a blob. A
single upload is checked when the blob is next looked up (``check``: by its ETag, or by
re-hashing a small object); an object assembled from parts, which may be terabytes, only
by ``verify_staged``, which the server's upload check runs in the background
(``cairn.service.upload_checks``), never inside a client's request. Batches of small
blobs (``put_batch``) are checked by the server and written straight to their final
keys, one request per blob.

With a ``BlobRecord`` (the server's database), every blob that reaches its final key
through this store is recorded, and presence questions are answered from the record
first: ``to_upload`` (what a client should send) asks only the record, ``has`` and
``missing`` (the commit's check) trust recorded blobs and ask the bucket, as without a
record, only about the others (recording what they find). boto3 is imported on first use
(extra ``cairn[s3]``).
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from cairn.core.digest import blob_key, new_hasher
from cairn.errors import CommError, CorruptionError, NotFoundError, StoreError
from cairn.storage.blobstores.batch_files import read_batch_item, verify_batch
from cairn.storage.blobstores.interface import (
    MIN_PART_SIZE,
    BatchItem,
    BlobRecord,
    DeclaredParts,
    MultipartUpload,
    Presigned,
    ServerTransfers,
    StagedUploads,
    check_entity,
    hex_name,
    part_count,
)
from cairn.storage.blobstores.s3_area import S3Area
from cairn.storage.blobstores.s3_client import error_code, is_missing, open_client, parse_s3_url
from cairn.storage.blobstores.s3_maintenance import S3Maintenance

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from pathlib import Path

    from cairn.storage.blobstores.chunk_area import ChunkArea
    from cairn.storage.blobstores.maintenance import Maintenance

_CHUNK = 8 * 1024 * 1024
PUT_THREADS = 8  # parallel writes of a batch's blobs
SINGLE_COPY_LIMIT = 5 * 1024**3  # the largest object S3 copies in one request
# Last segments of the staging keys that multipart uploads assemble (``is_assembled``).
ASSEMBLED_PREFIXES = ("mp-", "wandb-")
_NONCE = re.compile(r"[0-9a-f]{16}")  # names a declared-parts upload's staging key
# Errors of completing a declared-parts upload that mean a part is not what was declared.
_PART_MISMATCH = frozenset({"InvalidPart", "InvalidPartOrder", "EntityTooSmall"})


def _md5(data: bytes) -> bytes:
    hasher = new_hasher("md5")
    hasher.update(data)
    return hasher.digest()


class S3ServerStore:
    """The ``ServerStore`` over one bucket and prefix."""

    def __init__(
        self,
        url: str,
        endpoint_url: str | None = None,
        region: str | None = None,
        record: BlobRecord | None = None,
    ):
        """Connect and check the bucket exists. ``record``: where stored blobs are
        recorded and looked up first (none: every question goes to the bucket).

        Raises: ValueError (bad URL), MissingExtraError (no boto3), StoreError (bucket
        missing or unreachable; the message names it).
        """
        self.bucket, self.prefix = parse_s3_url(url)
        self.client = open_client(endpoint_url, region)
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except Exception as exc:
            raise StoreError(f"Cannot use S3 store '{url}': {exc}") from exc
        self._areas: dict[str, S3Area] = {}
        self._lock = threading.Lock()
        self._record = record

    def ping(self) -> None:
        """Raises: StoreError (the bucket is missing or unreachable)."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except Exception as exc:
            raise StoreError(f"S3 bucket '{self.bucket}' is unreachable: {exc}") from exc

    def maintenance(self) -> Maintenance:
        """The walk of ``cairn server gc|fsck`` over this bucket and prefix."""
        return S3Maintenance(self.client, self.bucket, self.prefix)

    def min_part_size(self) -> int:
        """S3's smallest part (all but the last)."""
        return MIN_PART_SIZE

    def server_transfers(self) -> ServerTransfers | None:
        """None: clients move bytes with presigned URLs of the bucket, never through the
        server."""
        return None

    def staged_uploads(self) -> StagedUploads:
        """This store itself: uploads wait under ``incoming/`` until checked."""
        return self

    def declared_parts(self) -> DeclaredParts:
        """This store itself: S3 assembles parts the client declared by MD5."""
        return self

    def recorded(self, entity: str, blobs: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        """The blobs of ``blobs`` recorded as stored (none without a record)."""
        if self._record is None or not blobs:
            return set()
        return self._record.recorded(entity, blobs)

    def record(self, entity: str, blobs: Sequence[tuple[str, str, int]]) -> None:
        """Record ``(digest, algorithm, size)`` blobs now under their final keys."""
        if self._record is not None and blobs:
            self._record.record(entity, blobs)

    def to_upload(self, entity: str, blobs: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        """The blobs a client should upload: those not recorded as stored, answered
        without a request to the bucket (a blob stored before the record existed is
        uploaded again: same bytes). Without a record: ``missing``, asking the bucket.

        Raises: ValueError (invalid digest), CommError (bad entity name), sqlalchemy or
        botocore errors.
        """
        area = self.area(entity)
        if self._record is None:
            return area.missing(blobs)
        for digest, algorithm in blobs:
            blob_key(digest, algorithm)
        return area.not_chunked(set(blobs) - self.recorded(entity, blobs))

    def put_final(self, entity: str, digest: str, algorithm: str, data: bytes) -> None:
        """Write checked bytes to the blob's final key (S3 checks them against their MD5
        on the way). Raises: ValueError (digest), botocore errors."""
        key = self.final_key(entity, digest, algorithm)
        md5 = base64.b64encode(_md5(data)).decode()
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentMD5=md5)

    def put_batch(self, entity: str, source: Path, items: Sequence[BatchItem]) -> None:
        """Store the blobs of the batch file ``source`` once every one checks out: each is
        one PUT to its final key (``PUT_THREADS`` at a time), then all are recorded.

        Raises: CorruptionError (a wrong blob: nothing stored), ValueError, CommError (bad
        entity name), OSError, botocore and sqlalchemy errors (blobs already written stay:
        they are checked, content-addressed bytes).
        """
        self.area(entity)
        verify_batch(source, items)
        fd = os.open(source, os.O_RDONLY)
        try:

            def put(item: BatchItem) -> None:
                self.put_final(entity, item[0], item[1], read_batch_item(fd, item))

            with ThreadPoolExecutor(max(1, min(PUT_THREADS, len(items)))) as pool:
                list(pool.map(put, items))
        finally:
            os.close(fd)
        self.record(entity, [(digest, algorithm, size) for digest, algorithm, _o, size in items])

    def key(self, *parts: str) -> str:
        """The key ``<prefix>/<parts...>``."""
        return "/".join(p for p in (self.prefix, *parts) if p)

    @property
    def blob_record(self) -> BlobRecord | None:
        """Where the server records what this store holds (None: nowhere)."""
        return self._record

    def chunks(self, entity: str) -> ChunkArea:
        """``entity``'s chunks and chunk lists. Raises: CommError (bad entity name)."""
        return self.area(entity).chunk_area

    def final_key(self, entity: str, digest: str, algorithm: str) -> str:
        """Raises: ValueError (invalid digest)."""
        return self.key("entities", entity, blob_key(digest, algorithm))

    def _incoming(self, entity: str, digest: str, algorithm: str) -> str:
        return self.key("incoming", entity, algorithm, hex_name(digest, algorithm)) + "/"

    def staging_key(self, entity: str, digest: str, algorithm: str, name: str) -> str:
        """A staging key of the blob (``name``: a fresh last segment). An object there is
        verified and promoted by ``has``, like any upload. Raises: ValueError (digest)."""
        return self._incoming(entity, digest, algorithm) + name

    def area(self, entity: str) -> S3Area:
        """Raises: CommError (a name that cannot be an entity)."""
        check_entity(entity)
        with self._lock:
            area = self._areas.get(entity)
            if area is None:
                area = self._areas[entity] = S3Area(self, entity)
            return area

    def _size(self, key: str) -> int | None:
        """The size of the object at ``key``, None when there is none."""
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            if is_missing(exc):
                return None
            raise
        return int(head.get("ContentLength", 0))

    def has(self, entity: str, digest: str, algorithm: str) -> bool:
        """Whether ``entity`` holds the blob: recorded, or found in the bucket (verifying
        and promoting a finished upload of it first, and recording it)."""
        blob = (digest, algorithm)
        if blob in self.recorded(entity, [blob]):
            return True
        size = self.check(entity, digest, algorithm)
        if size is not None:
            self.record(entity, [(digest, algorithm, size)])
        return size is not None

    def check(self, entity: str, digest: str, algorithm: str) -> int | None:
        """Ask the bucket (not the record) whether ``entity`` holds the blob, verifying and
        promoting finished single uploads of it; its size when it is stored, else None.
        Objects assembled from parts are left to the upload check (``is_assembled``): they
        may be large, and hashing them here would hold up the request that asked.

        Raises: ValueError (invalid digest), botocore errors.
        """
        final = self.final_key(entity, digest, algorithm)
        size = self._size(final)
        if size is not None:
            return size
        listing = self.client.list_objects_v2(
            Bucket=self.bucket, Prefix=self._incoming(entity, digest, algorithm)
        )
        for item in listing.get("Contents", []):
            key = item["Key"]
            if is_assembled(key):
                continue
            try:
                if size is None and self._verified(key, item, digest, algorithm):
                    self._copy(key, final, int(item.get("Size", 0)))
                    size = int(item.get("Size", 0))
            except Exception as exc:
                if not is_missing(exc):  # else another process took this upload first
                    raise
            self.client.delete_object(Bucket=self.bucket, Key=key)
        return size if size is not None else self._size(final)

    def verify_staged(
        self,
        entity: str,
        digest: str,
        algorithm: str,
        key: str,
        keepalive: Callable[[], None] | None = None,
    ) -> int | None:
        """Check the staged object at ``key`` (an upload of the blob) against ``digest``,
        reading it in full unless its ETag is its MD5; if it matches, promote it to its
        final key and record it. The staged object is deleted either way. Returns the
        blob's size, or None when the bytes are not the blob's. ``keepalive`` is called
        between chunks (a caller holding a lease renews it there).

        Raises: KeyError (no object at ``key`` and the blob is not stored either: an
        earlier check took it), ValueError (invalid digest), botocore and sqlalchemy errors
        (nothing is deleted: the check can be repeated), whatever ``keepalive`` raises.
        """
        final = self.final_key(entity, digest, algorithm)
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            if not is_missing(exc):
                raise
            size = self._size(final)
            if size is None:
                raise KeyError(f"no staged upload at '{key}'") from None
            self.record(entity, [(digest, algorithm, size)])
            return size
        size = int(head.get("ContentLength", 0))
        item = {"ETag": head.get("ETag", "")}
        matches = self._verified(key, item, digest, algorithm, keepalive)
        if matches:
            self._copy(key, final, size)
            self.record(entity, [(digest, algorithm, size)])
        self.client.delete_object(Bucket=self.bucket, Key=key)
        return size if matches else None

    def _copy(self, source: str, target: str, size: int) -> None:
        """Copy an object inside the bucket: one request up to S3's single-copy limit,
        a managed multipart copy beyond it."""
        if size <= SINGLE_COPY_LIMIT:
            self.client.copy_object(
                Bucket=self.bucket, Key=target, CopySource={"Bucket": self.bucket, "Key": source}
            )
        else:
            self.client.copy({"Bucket": self.bucket, "Key": source}, self.bucket, target)

    def _verified(
        self,
        key: str,
        item: dict[str, Any],
        digest: str,
        algorithm: str,
        keepalive: Callable[[], None] | None = None,
    ) -> bool:
        """Whether the object at ``key`` has ``digest``: by its ETag when that is the MD5
        of a single-part upload, else by streaming and hashing it (``keepalive`` called
        between chunks)."""
        etag = str(item.get("ETag", "")).strip('"')
        if algorithm == "md5" and etag == base64.b64decode(digest).hex():
            return True
        hasher = new_hasher(algorithm)
        body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
        for chunk in iter(lambda: body.read(_CHUNK), b""):
            hasher.update(chunk)
            if keepalive is not None:
                keepalive()
        return base64.b64encode(hasher.digest()).decode() == digest

    def _presign(self, method: str, params: dict[str, Any], ttl: int) -> str:
        url: str = self.client.generate_presigned_url(
            method, Params={"Bucket": self.bucket, **params}, ExpiresIn=ttl
        )
        return url

    def upload_url(
        self, entity: str, digest: str, algorithm: str, size: int, ttl: int
    ) -> Presigned:
        """A presigned PUT to a fresh staging key; MD5 blobs must carry ``Content-MD5``."""
        key = self._incoming(entity, digest, algorithm) + secrets.token_hex(8)
        params: dict[str, Any] = {"Key": key}
        headers: dict[str, str] = {}
        if algorithm == "md5":
            params["ContentMD5"] = headers["Content-MD5"] = digest
        url = self._presign("put_object", params, ttl)
        return Presigned(url, headers, int(time.time()) + ttl)

    def download_url(
        self, entity: str, digest: str, algorithm: str, size: int, ttl: int
    ) -> Presigned | None:
        """A presigned GET of the stored blob (ranges allowed); None for a file stored
        only as chunks (the server streams it reassembled through its own signed URL)."""
        if self._chunked_only(entity, digest, algorithm):
            return None
        url = self._presign("get_object", {"Key": self.final_key(entity, digest, algorithm)}, ttl)
        return Presigned(url, {}, int(time.time()) + ttl)

    def _chunked_only(self, entity: str, digest: str, algorithm: str) -> bool:
        """Whether the blob is an MD5 file with a chunk list and no whole object recorded
        (without a record: none under its final key)."""
        if algorithm != "md5" or not self.area(entity).chunk_area.has_files([digest]):
            return False
        if self._record is not None:
            return not self.recorded(entity, [(digest, algorithm)])
        return self._size(self.final_key(entity, digest, algorithm)) is None

    def _multipart_key(self, entity: str, digest: str, algorithm: str, size: int, ps: int) -> str:
        return self._incoming(entity, digest, algorithm) + f"mp-{size}-{ps}"

    def start_multipart(
        self, entity: str, digest: str, algorithm: str, size: int, part_size: int
    ) -> MultipartUpload:
        """Begin, or resume (listing the parts already uploaded), a multipart upload."""
        self.area(entity)
        key = self._multipart_key(entity, digest, algorithm, size, part_size)
        uploads = self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=key)
        existing = [u["UploadId"] for u in uploads.get("Uploads", []) if u["Key"] == key]
        if existing:
            upload_id = existing[0]
            done = {int(p["PartNumber"]): int(p["Size"]) for p in self._parts(key, upload_id)}
        else:
            upload_id = self.client.create_multipart_upload(Bucket=self.bucket, Key=key)["UploadId"]
            done = {}
        return MultipartUpload(upload_id, part_size, part_count(size, part_size), done)

    def _parts(self, key: str, upload_id: str) -> list[dict[str, Any]]:
        parts: list[dict[str, Any]] = []
        marker = 0
        while True:
            try:
                page = self.client.list_parts(
                    Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumberMarker=marker
                )
            except Exception as exc:
                if is_missing(exc):
                    raise NotFoundError(f"upload '{upload_id}' not found") from None
                raise
            parts.extend(page.get("Parts", []))
            if not page.get("IsTruncated"):
                return parts
            marker = int(page["NextPartNumberMarker"])

    def part_url(
        self, entity: str, digest: str, algorithm: str, upload_id: str, number: int, ttl: int
    ) -> Presigned:
        """A presigned PUT of part ``number`` (the part size is in the upload's key)."""
        prefix = self._incoming(entity, digest, algorithm)
        uploads = self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=prefix)
        keys = [u["Key"] for u in uploads.get("Uploads", []) if u["UploadId"] == upload_id]
        if not keys:
            raise NotFoundError(f"upload '{upload_id}' not found")
        params = {"Key": keys[0], "UploadId": upload_id, "PartNumber": number}
        return Presigned(self._presign("upload_part", params, ttl), {}, int(time.time()) + ttl)

    def complete_multipart(
        self, entity: str, digest: str, algorithm: str, size: int, upload_id: str
    ) -> str | None:
        """Have S3 assemble the parts in the staging area; return the staged object's key,
        whose content is still to be checked (``verify_staged``, by the upload check), or
        None when the blob is stored already. Completing an upload again finds the
        object it assembled (or the blob, once checked).

        Raises: NotFoundError (unknown upload, or one assembled and since dropped),
        CommError (parts missing), botocore errors.
        """
        prefix = self._incoming(entity, digest, algorithm)
        uploads = self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=prefix)
        keys = [u["Key"] for u in uploads.get("Uploads", []) if u["UploadId"] == upload_id]
        if not keys:
            return self._assembled_before(entity, digest, algorithm, size, upload_id)
        key: str = keys[0]
        part_size = int(key.rsplit("-", 1)[1])
        parts = self._parts(key, upload_id)
        count = part_count(size, part_size)
        if sorted(int(p["PartNumber"]) for p in parts) != list(range(1, count + 1)):
            raise CommError(f"upload '{upload_id}' is missing parts")
        self.client.complete_multipart_upload(
            Bucket=self.bucket,
            Key=key,
            UploadId=upload_id,
            MultipartUpload={
                "Parts": [{"PartNumber": p["PartNumber"], "ETag": p["ETag"]} for p in parts]
            },
        )
        return key

    def _assembled_before(
        self, entity: str, digest: str, algorithm: str, size: int, upload_id: str
    ) -> str | None:
        """For an upload S3 no longer lists: None if the blob is stored, else the key of
        the object an earlier completion assembled. Raises: NotFoundError (neither)."""
        if self._size(self.final_key(entity, digest, algorithm)) is not None:
            return None
        staged = self._incoming(entity, digest, algorithm) + f"mp-{size}-"
        listing = self.client.list_objects_v2(Bucket=self.bucket, Prefix=staged)
        for item in listing.get("Contents", []):
            key: str = item["Key"]
            return key
        raise NotFoundError(f"upload '{upload_id}' not found")

    # ------------------------------------------------ parts declared by MD5 (wandb facade)

    def start_declared(
        self, entity: str, digest: str, numbers: Sequence[int], ttl: int
    ) -> tuple[str, dict[int, str]]:
        """Begin an upload of the MD5 blob ``digest`` in the parts ``numbers``, assembled
        at a fresh staging key: its id (``<nonce>.<S3 upload id>``, the nonce naming the
        key) and a presigned PUT per part (S3 takes a part only if it matches the MD5 its
        client declares). Raises: ValueError (digest), botocore errors."""
        nonce = secrets.token_hex(8)
        key = self.staging_key(entity, digest, "md5", f"wandb-{nonce}")
        s3_id = self.client.create_multipart_upload(Bucket=self.bucket, Key=key)["UploadId"]
        urls = {
            number: self._presign(
                "upload_part", {"Key": key, "UploadId": s3_id, "PartNumber": number}, ttl
            )
            for number in numbers
        }
        return f"{nonce}.{s3_id}", urls

    def _declared(self, entity: str, digest: str, upload_id: str) -> tuple[str, str]:
        """The staging key and S3 upload id of ``upload_id``. Raises: NotFoundError."""
        nonce, _, s3_id = upload_id.partition(".")
        if not _NONCE.fullmatch(nonce) or not s3_id:
            raise NotFoundError("unknown upload")
        return self.staging_key(entity, digest, "md5", f"wandb-{nonce}"), s3_id

    def complete_declared(
        self, entity: str, digest: str, upload_id: str, md5s: Mapping[int, str]
    ) -> str | None:
        """Have S3 assemble the parts (number -> hex MD5, as declared) in the staging area;
        return the assembled object's key, still to be checked (``verify_staged``), or None
        when the blob is stored already. Completing an upload again finds what the first
        completion left (the client repeats requests that time out).

        Raises: NotFoundError (unknown upload: a bad id, or one S3 no longer knows that
        left nothing), CorruptionError (a part is not what was declared: nothing is
        stored), botocore errors.
        """
        key, s3_id = self._declared(entity, digest, upload_id)
        parts = [{"PartNumber": n, "ETag": f'"{md5s[n]}"'} for n in md5s]
        try:
            self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=s3_id, MultipartUpload={"Parts": parts}
            )
        except Exception as exc:
            code = error_code(exc)
            if code in _PART_MISMATCH:
                raise CorruptionError(f"the uploaded parts do not match: {code}") from None
            for found, candidate in ((key, key), (None, self.final_key(entity, digest, "md5"))):
                try:
                    self.client.head_object(Bucket=self.bucket, Key=candidate)
                    return found
                except Exception:  # a 404 (or the bucket unreachable: then not known either)
                    continue
            if code == "NoSuchUpload":
                raise NotFoundError("unknown upload") from None
            raise
        return key

    def abort_declared(self, entity: str, digest: str, upload_id: str) -> None:
        """Drop the parts of an abandoned upload. Raises: NotFoundError (bad id), botocore
        errors."""
        key, s3_id = self._declared(entity, digest, upload_id)
        self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=s3_id)


def is_assembled(key: str) -> bool:
    """Whether the staged object at ``key`` was assembled from the parts of a multipart
    upload (the REST API's ``mp-<size>-<part size>``, the wandb facade's ``wandb-<nonce>``):
    such objects are checked by the upload check, never inline."""
    return key.rpartition("/")[2].startswith(ASSEMBLED_PREFIXES)
