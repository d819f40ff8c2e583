"""``cairn server gc|fsck`` over an S3 store: the ``Maintenance`` of a bucket.

Stored blobs are listed under ``<prefix>/entities/...`` (chunks and chunk lists under
``<prefix>/chunks/...``) a page at a time, deleted 1,000
keys per request and verified by their ETag when it is the MD5 of a single-part object
(else streamed and hashed); abandoned uploads are the objects under ``<prefix>/incoming/``
and the multipart uploads there that were never completed (``maintenance`` explains how
they are aged).
"""

from __future__ import annotations

import base64
import time
from typing import TYPE_CHECKING, Any

from cairn.core.digest import new_hasher
from cairn.storage.blobstores.chunk_area import shelf_kind
from cairn.storage.blobstores.maintenance import (
    CHUNK_KINDS,
    StagedItem,
    StoredObject,
    chunk_object_intact,
    hex_digest_of,
)
from cairn.storage.blobstores.s3_client import error_code

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

_CHUNK = 8 * 1024 * 1024
DELETE_BATCH = 1000  # the most keys one S3 DeleteObjects request takes


class S3Maintenance:
    """Over ``<prefix>/entities/...`` and ``<prefix>/incoming/...`` of the bucket."""

    recorded = True

    def __init__(self, client: Any, bucket: str, prefix: str) -> None:
        """``client``: the store's boto3 client; ``prefix``: its keys' (no slashes at the ends)."""
        self.client = client
        self.bucket = bucket
        self.prefix = prefix

    def _key(self, *parts: str) -> str:
        return "/".join(p for p in (self.prefix, *parts) if p)

    def _pages(self, prefix: str) -> Iterator[dict[str, Any]]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            yield from page.get("Contents", [])

    def iter_stored(self) -> Iterator[StoredObject]:
        """Raises: botocore errors (bucket unreachable)."""
        base = self._key("entities") + "/"
        for item in self._pages(base):
            key = str(item["Key"])
            parts = key[len(base) :].split("/")
            if len(parts) != 4:
                continue
            entity, algorithm, prefix, rest = parts
            hex_digest = hex_digest_of(algorithm, prefix, rest)
            if hex_digest is None:
                continue
            yield StoredObject(
                entity,
                algorithm,
                hex_digest,
                int(item.get("Size", 0)),
                item["LastModified"].timestamp(),
                key,
                str(item.get("ETag", "")).strip('"'),
            )
        yield from self._iter_chunk_objects()

    def _iter_chunk_objects(self) -> Iterator[StoredObject]:
        """Chunks and chunk lists under ``<prefix>/chunks/<entity>/``."""
        base = self._key("chunks") + "/"
        for item in self._pages(base):
            key = str(item["Key"])
            entity, _slash, name = key[len(base) :].partition("/")
            kind = shelf_kind(name)
            if kind is None:
                continue
            yield StoredObject(
                entity,
                kind[0],
                kind[1],
                int(item.get("Size", 0)),
                item["LastModified"].timestamp(),
                key,
            )

    def delete(self, blobs: Sequence[StoredObject]) -> int:
        """Raises: botocore errors (those deleted before stay deleted)."""
        return self._delete_keys([blob.name for blob in blobs])

    def _delete_keys(self, keys: Sequence[str]) -> int:
        deleted = 0
        for start in range(0, len(keys), DELETE_BATCH):
            chunk = keys[start : start + DELETE_BATCH]
            answer = self.client.delete_objects(
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": key} for key in chunk], "Quiet": True},
            )
            deleted += len(chunk) - len(answer.get("Errors", []))
        return deleted

    def verify(self, blob: StoredObject) -> bool:
        """Raises: botocore errors other than the object being gone (then: False)."""
        if blob.algorithm in CHUNK_KINDS:
            try:
                body = self.client.get_object(Bucket=self.bucket, Key=blob.name)["Body"]
                data: bytes | None = body.read()
            except Exception as exc:
                if error_code(exc) not in {"404", "NoSuchKey"}:
                    raise
                data = None
            return chunk_object_intact(blob.algorithm, blob.hex_digest, data)
        etag = blob.etag or ""
        if blob.algorithm == "md5" and "-" not in etag and etag:
            return etag == blob.hex_digest
        hasher = new_hasher(blob.algorithm)
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=blob.name)["Body"]
        except Exception as exc:
            if error_code(exc) in {"404", "NoSuchKey"}:
                return False
            raise
        for chunk in iter(lambda: body.read(_CHUNK), b""):
            hasher.update(chunk)
        return base64.b64encode(hasher.digest()).decode() == blob.digest

    def iter_staging(self, older_than: float) -> Iterator[StagedItem]:
        """Objects under ``incoming/`` and multipart uploads there, older than
        ``older_than`` seconds. Raises: botocore errors."""
        cutoff = time.time() - older_than
        prefix = self._key("incoming") + "/"
        for item in self._pages(prefix):
            modified = item["LastModified"].timestamp()
            if modified < cutoff:
                yield StagedItem(str(item["Key"]), int(item.get("Size", 0)), modified)
        paginator = self.client.get_paginator("list_multipart_uploads")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for upload in page.get("Uploads", []):
                key, upload_id = str(upload["Key"]), str(upload["UploadId"])
                modified = upload["Initiated"].timestamp()
                if modified >= cutoff:
                    continue
                parts = self._parts(key, upload_id)  # an old upload still receiving parts
                if parts is None:
                    continue  # completed or aborted meanwhile
                size = sum(int(part.get("Size", 0)) for part in parts)
                modified = max([modified, *(p["LastModified"].timestamp() for p in parts)])
                if modified < cutoff:
                    yield StagedItem(key, size, modified, upload_id)

    def _parts(self, key: str, upload_id: str) -> list[dict[str, Any]] | None:
        """The parts of a multipart upload (None when it is gone)."""
        try:
            pages = self.client.get_paginator("list_parts").paginate(
                Bucket=self.bucket, Key=key, UploadId=upload_id
            )
            return [part for page in pages for part in page.get("Parts", [])]
        except Exception as exc:
            if error_code(exc) in {"404", "NoSuchUpload"}:
                return None
            raise

    def drop_staging(self, items: Sequence[StagedItem]) -> int:
        """Raises: botocore errors other than an upload already gone."""
        dropped = self._delete_keys([item.name for item in items if item.upload_id is None])
        for item in items:
            if item.upload_id is None:
                continue
            try:
                self.client.abort_multipart_upload(
                    Bucket=self.bucket, Key=item.name, UploadId=item.upload_id
                )
            except Exception as exc:
                if error_code(exc) not in {"404", "NoSuchUpload"}:
                    raise
                continue
            dropped += 1
        return dropped
