"""What a server's maintenance jobs (``cairn server gc|fsck``) need of its blob store.

A server store (``cairn.storage.blobstores.directory``) answers requests one blob at a time; the
garbage collector and the checker walk all of it instead. ``maintenance_for(store)`` gives
the same small interface over both kinds:

- ``iter_stored()``: every blob under its final key (entity, algorithm, digest, size, last
  write, S3 ETag), streamed: a directory is walked, a bucket listed a page (1,000 keys) at
  a time, so 10 million blobs are never held in memory at once;
- ``delete(blobs)``: remove blobs (S3: 1,000 per request);
- ``verify(blob)``: whether its bytes still have its digest (S3: by the ETag when it is
  the MD5 of a single-part object, else by streaming and hashing it);
- ``iter_staging(older_than)`` / ``drop_staging(items)``: uploads abandoned before they
  were verified and promoted (S3: objects under ``incoming/`` and multipart uploads that
  were never completed, aged by their newest part as well as their start, since an upload
  may take days and some S3 servers report no true start; a directory: multipart part
  folders and temporary files).
"""

from __future__ import annotations

import base64
import dataclasses
import os
import shutil
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from cairn.core.digest import hex_to_b64, new_hasher
from cairn.storage.blobstores.directory import DirectoryServerStore, ServerStore

_CHUNK = 8 * 1024 * 1024
DELETE_BATCH = 1000  # the most keys one S3 DeleteObjects request takes
ALGORITHMS = ("md5", "xxh128")


@dataclasses.dataclass(frozen=True)
class StoredObject:
    """One blob under its final key; ``name`` is that key or path (what reports print)."""

    entity: str
    algorithm: str
    hex_digest: str
    size: int
    modified: float  # seconds since the epoch
    name: str
    etag: str | None = None

    @property
    def digest(self) -> str:
        """The base64 digest (as manifests write it)."""
        return hex_to_b64(self.hex_digest)


@dataclasses.dataclass(frozen=True)
class StagedItem:
    """An abandoned upload: a staged object or part folder (``upload_id`` None), or an S3
    multipart upload never completed."""

    name: str
    size: int
    modified: float
    upload_id: str | None = None


class Maintenance(Protocol):
    """The store-wide operations of one server store (see the module doc); ``recorded``:
    whether the server records this store's blobs in its database (S3 only)."""

    recorded: bool

    def iter_stored(self) -> Iterator[StoredObject]: ...

    def delete(self, blobs: Sequence[StoredObject]) -> int: ...

    def verify(self, blob: StoredObject) -> bool: ...

    def iter_staging(self, older_than: float) -> Iterator[StagedItem]: ...

    def drop_staging(self, items: Sequence[StagedItem]) -> int: ...


def maintenance_for(store: ServerStore) -> Maintenance:
    """The maintenance interface of ``store`` (a directory or an S3 store)."""
    if isinstance(store, DirectoryServerStore):
        return DirectoryMaintenance(store)
    return S3Maintenance(store)


def _hex_digest(algorithm: str, prefix: str, rest: str) -> str | None:
    """The hex digest named by ``<algorithm>/<prefix>/<rest>``, None for another name."""
    hex_digest = prefix + rest
    if algorithm not in ALGORITHMS or len(prefix) != 2 or len(hex_digest) != 32:
        return None
    if hex_digest.strip("0123456789abcdef"):
        return None
    return hex_digest


# ---------------------------------------------------------------- directory


class DirectoryMaintenance:
    """Over ``<root>/entities/<entity>/<algorithm>/xx/...`` (loose files: a server's areas
    never pack) and ``<root>/multipart/<upload id>``."""

    recorded = False

    def __init__(self, store: DirectoryServerStore) -> None:
        self.store = store

    def _entities(self) -> list[str]:
        base = self.store.root / "entities"
        return sorted(os.listdir(base)) if base.is_dir() else []

    def iter_stored(self) -> Iterator[StoredObject]:
        """Raises: OSError (a directory cannot be listed)."""
        for entity in self._entities():
            area = self.store.area(entity)
            for algorithm, hex_digest, path in area.iter_loose():
                try:
                    stat = path.stat()
                except FileNotFoundError:
                    continue  # deleted meanwhile
                yield StoredObject(
                    entity, algorithm, hex_digest, stat.st_size, stat.st_mtime, str(path)
                )

    def delete(self, blobs: Sequence[StoredObject]) -> int:
        """Raises: OSError (a blob cannot be removed; those before stay removed)."""
        deleted = 0
        for blob in blobs:
            try:
                os.unlink(blob.name)
            except FileNotFoundError:
                continue
            deleted += 1
        return deleted

    def verify(self, blob: StoredObject) -> bool:
        """Raises: OSError (the blob cannot be read)."""
        return self.store.area(blob.entity).verify(blob.digest, blob.algorithm)

    def iter_staging(self, older_than: float) -> Iterator[StagedItem]:
        """Part folders of multipart uploads and temporary files of the areas, last
        written more than ``older_than`` seconds ago."""
        cutoff = time.time() - older_than
        folders = [self.store.root / "multipart"]
        folders += [self.store.area(entity).tmp_dir for entity in self._entities()]
        for folder in folders:
            if not folder.is_dir():
                continue
            for path in sorted(folder.iterdir()):
                item = _staged_path(path)
                if item is not None and item.modified < cutoff:
                    yield item

    def drop_staging(self, items: Sequence[StagedItem]) -> int:
        """Raises: OSError (an item cannot be removed)."""
        dropped = 0
        for item in items:
            path = Path(item.name)
            if path.is_dir():
                shutil.rmtree(path)
            else:
                try:
                    path.unlink()
                except FileNotFoundError:
                    continue
            dropped += 1
        return dropped


def _staged_path(path: Path) -> StagedItem | None:
    """A file, or a folder (its size and newest write over its files); None if gone."""
    try:
        if not path.is_dir():
            stat = path.stat()
            return StagedItem(str(path), stat.st_size, stat.st_mtime)
        stats = [path.stat(), *(child.stat() for child in path.iterdir())]
    except FileNotFoundError:
        return None
    size = sum(s.st_size for s in stats[1:])
    return StagedItem(str(path), size, max(s.st_mtime for s in stats))


# ---------------------------------------------------------------- S3


def _error_code(exc: Exception) -> str:
    """The S3 error code of a botocore error ("" for another error)."""
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


class S3Maintenance:
    """Over ``<prefix>/entities/...`` and ``<prefix>/incoming/...`` of the bucket."""

    recorded = True

    def __init__(self, store: Any) -> None:
        self.store = store  # an S3ServerStore (boto3 is only imported by it)
        self.client = store.client
        self.bucket: str = store.bucket

    def _key(self, *parts: str) -> str:
        return "/".join(p for p in (self.store.prefix, *parts) if p)

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
            hex_digest = _hex_digest(algorithm, prefix, rest)
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
        etag = blob.etag or ""
        if blob.algorithm == "md5" and "-" not in etag and etag:
            return etag == blob.hex_digest
        hasher = new_hasher(blob.algorithm)
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=blob.name)["Body"]
        except Exception as exc:
            if _error_code(exc) in {"404", "NoSuchKey"}:
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
            if _error_code(exc) in {"404", "NoSuchUpload"}:
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
                if _error_code(exc) not in {"404", "NoSuchUpload"}:
                    raise
                continue
            dropped += 1
        return dropped
