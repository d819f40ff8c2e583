"""Where a Cairn server keeps blobs: a directory, or an S3-compatible bucket.

Both keep one content-addressed area per entity (blobs are deduplicated only within an
entity, DESIGN §4) and answer the same small interface, ``ServerStore``, so the server's
routes never look at what is behind it:

- ``area(entity)``: the ``BlobArea`` the service use cases read and write (manifests,
  presence checks at commit);
- ``upload_url`` / ``download_url``: a presigned URL (S3), or ``None`` when the server
  must sign its own transfer URL (directory);
- ``start_multipart`` / ``part_url`` / ``complete_multipart``: large blobs in parts that
  survive an interruption (the store remembers the parts already received); completing
  stores the blob (directory) or leaves the assembled object in the staging area for the
  server's upload check (S3, ``cairn.service.upload_checks``);
- ``to_upload``: which blobs a client should send (for S3 from the server's record of
  stored blobs, ``BlobRecord``, without asking the bucket);
- ``put_batch``: many small blobs received in one request, checked and stored at once;
- ``ping``: whether the store can be reached now (the server's readiness).

Integrity: nothing reaches an entity's area unverified. The directory store hashes every
upload (``LocalBlobStore.put``). On S3 a client uploads to a staging key under
``<prefix>/incoming/``; the presigned PUT of an MD5 blob requires a ``Content-MD5``
header, so S3 itself refuses a wrong body, and the server checks again before it
promotes the object to its final key: the object's ETag must be its MD5, or else the
server streams the object and re-hashes it (XXH128 blobs, multipart uploads, encrypted
buckets whose ETags are not MD5s). An object assembled from the parts of a multipart
upload (S3 checks each part against the MD5 the client declared, but a multipart ETag is
no MD5 of the whole) is always re-hashed, by the upload check in the background, off the
request path. Wrong objects are deleted, so nothing is stored.
A batch (``put_batch``) is hashed in full before any of it is written: one wrong blob
refuses the whole batch.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import re
import secrets
import shutil
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

from cairn.core.digest import blob_key, digest_bytes
from cairn.errors import CommError, CorruptionError, NotFoundError, StoreError
from cairn.storage.local.blobs import LocalBlobStore

_SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_CHUNK = 8 * 1024 * 1024
MIN_PART_SIZE = 5 * 1024 * 1024  # S3's smallest part (all but the last)


class StoredRef(Protocol):
    """What storing returns: at least the digest of the stored bytes."""

    @property
    def digest(self) -> str: ...


class BlobArea(Protocol):
    """One entity's content-addressed blobs, as the service use cases need them."""

    def has(self, digest: str, algorithm: str) -> bool: ...

    def missing(self, blobs: Sequence[tuple[str, str]]) -> set[tuple[str, str]]: ...

    def put_bytes(self, data: bytes, algorithm: str = "md5") -> StoredRef: ...

    def read_bytes(self, digest: str, algorithm: str) -> bytes: ...


@dataclasses.dataclass(frozen=True)
class Presigned:
    """A URL that moves one object, the headers the request must carry, and its expiry."""

    url: str
    headers: dict[str, str]
    expires_at: int


@dataclasses.dataclass(frozen=True)
class MultipartUpload:
    """A multipart upload in progress: its id, part size and the parts already received
    (part number -> size)."""

    upload_id: str
    part_size: int
    part_count: int
    done: dict[int, int]


class BlobRecord(Protocol):
    """Which blobs a server has stored, per entity (kept in its database by the service
    layer, ``cairn.service.blob_registry``)."""

    def recorded(self, entity: str, blobs: Sequence[tuple[str, str]]) -> set[tuple[str, str]]: ...

    def record(self, entity: str, blobs: Sequence[tuple[str, str, int]]) -> None: ...


# One blob of a batch: (digest, algorithm, offset in the batch file, size).
BatchItem = tuple[str, str, int, int]
BATCH_WORKERS = 8  # blobs of a batch written at once (directory store)


class ServerStore(Protocol):
    """The blob storage of a server (see the module docstring)."""

    def area(self, entity: str) -> BlobArea: ...

    def to_upload(self, entity: str, blobs: Sequence[tuple[str, str]]) -> set[tuple[str, str]]: ...

    def put_batch(self, entity: str, source: Path, items: Sequence[BatchItem]) -> None: ...

    def upload_url(
        self, entity: str, digest: str, algorithm: str, size: int, ttl: int
    ) -> Presigned | None: ...

    def download_url(
        self, entity: str, digest: str, algorithm: str, size: int, ttl: int
    ) -> Presigned | None: ...

    def start_multipart(
        self, entity: str, digest: str, algorithm: str, size: int, part_size: int
    ) -> MultipartUpload: ...

    def part_url(
        self, entity: str, digest: str, algorithm: str, upload_id: str, number: int, ttl: int
    ) -> Presigned | None: ...

    def complete_multipart(
        self, entity: str, digest: str, algorithm: str, size: int, upload_id: str
    ) -> str | None: ...

    def ping(self) -> None: ...


def part_count(size: int, part_size: int) -> int:
    """How many parts of ``part_size`` bytes hold ``size`` bytes (at least one)."""
    return max(1, -(-size // part_size))


def part_length(size: int, part_size: int, number: int) -> int:
    """The length of part ``number`` (1-based) of a ``size``-byte blob."""
    return min(part_size, size - (number - 1) * part_size)


def _check_entity(entity: str) -> None:
    if not _SAFE_NAME.fullmatch(entity):
        raise NotFoundError(f"'{entity}' not found")


def _hex(digest: str, algorithm: str) -> str:
    return blob_key(digest, algorithm).split("/", 1)[1].replace("/", "")


def read_batch_item(fd: int, item: BatchItem) -> bytes:
    """The bytes of one blob of a batch file open as ``fd``.

    Raises: CorruptionError (the file is shorter than the item says), OSError.
    """
    _digest, _algorithm, offset, size = item
    data = os.pread(fd, size, offset)
    if len(data) != size:
        raise CorruptionError(f"batch file shorter than its listing ({offset} + {size} bytes)")
    return data


def verify_batch(source: Path, items: Sequence[BatchItem]) -> None:
    """Check that every blob of the batch file ``source`` has its digest, before anything
    of it is stored.

    Raises:
        CorruptionError: a blob's bytes have another digest (naming its position and
            digest) or the file is too short.
        ValueError: an invalid digest or unknown algorithm.
    """
    fd = os.open(source, os.O_RDONLY)
    try:
        for position, item in enumerate(items):
            digest, algorithm = item[0], item[1]
            blob_key(digest, algorithm)
            actual = digest_bytes(read_batch_item(fd, item), algorithm)
            if actual != digest:
                raise CorruptionError(
                    f"blob {position} of the batch ({algorithm} {digest}) has digest {actual}: "
                    "nothing of the batch was stored",
                    context={"digest": digest, "actual": actual},
                )
    finally:
        os.close(fd)


def _upload_id(entity: str, digest: str, algorithm: str, size: int, part_size: int) -> str:
    text = "\n".join((entity, algorithm, digest, str(size), str(part_size)))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


# ---------------------------------------------------------------- directory


class DirectoryServerStore:
    """Blobs under ``<root>/entities/<entity>`` (a ``LocalBlobStore`` each); multipart
    parts under ``<root>/multipart/<upload id>/<n>`` until the upload completes."""

    def __init__(self, root: Path) -> None:
        """Raises: StoreError (the directory cannot be created)."""
        self.root = Path(root).absolute()
        try:
            (self.root / "multipart").mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"Cannot use blob directory '{self.root}': {exc}") from exc
        self._areas: dict[str, LocalBlobStore] = {}
        self._lock = threading.Lock()

    def ping(self) -> None:
        """Raises: StoreError (the directory is gone or not writable)."""
        if not (self.root.is_dir() and os.access(self.root, os.W_OK | os.X_OK)):
            raise StoreError(f"blob directory '{self.root}' is missing or not writable")

    def area(self, entity: str) -> LocalBlobStore:
        """Raises: CommError (a name that cannot be an entity)."""
        _check_entity(entity)
        with self._lock:
            area = self._areas.get(entity)
            if area is None:
                area = self._areas[entity] = LocalBlobStore(self.root / "entities" / entity)
            return area

    def to_upload(self, entity: str, blobs: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        """The blobs of ``blobs`` that ``entity``'s directory lacks.

        Raises: CommError (bad entity name), ValueError (invalid digest), CorruptionError.
        """
        return self.area(entity).missing(blobs)

    def put_batch(self, entity: str, source: Path, items: Sequence[BatchItem]) -> None:
        """Store the blobs of the batch file ``source`` once every one checks out.

        Raises: CorruptionError (a wrong blob: nothing stored), ValueError, OSError,
        CommError (bad entity name).
        """
        area = self.area(entity)
        verify_batch(source, items)
        fd = os.open(source, os.O_RDONLY)
        try:

            def put(item: BatchItem) -> None:
                area.put_bytes(read_batch_item(fd, item), item[1])

            with ThreadPoolExecutor(max(1, min(BATCH_WORKERS, len(items)))) as pool:
                list(pool.map(put, items))
        finally:
            os.close(fd)

    def upload_url(
        self, entity: str, digest: str, algorithm: str, size: int, ttl: int
    ) -> Presigned | None:
        return None

    def download_url(
        self, entity: str, digest: str, algorithm: str, size: int, ttl: int
    ) -> Presigned | None:
        return None

    def part_url(
        self, entity: str, digest: str, algorithm: str, upload_id: str, number: int, ttl: int
    ) -> Presigned | None:
        return None

    def _parts_dir(self, upload_id: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{32}", upload_id):
            raise NotFoundError(f"upload '{upload_id}' not found")
        return self.root / "multipart" / upload_id

    def start_multipart(
        self, entity: str, digest: str, algorithm: str, size: int, part_size: int
    ) -> MultipartUpload:
        """Begin (or resume) the upload of one blob in parts. Raises: CommError, OSError."""
        self.area(entity)
        upload_id = _upload_id(entity, digest, algorithm, size, part_size)
        parts = self._parts_dir(upload_id)
        parts.mkdir(exist_ok=True)
        (parts / "part_size").write_text(str(part_size))
        count = part_count(size, part_size)
        done = {}
        for number in range(1, count + 1):
            path = parts / str(number)
            length = part_length(size, part_size, number)
            if path.is_file() and path.stat().st_size == length:
                done[number] = length
        return MultipartUpload(upload_id, part_size, count, done)

    def part_tmp(self, upload_id: str, number: int) -> Path:
        """A fresh temporary file name for part ``number``. Raises: CommError (unknown upload)."""
        parts = self._parts_dir(upload_id)
        if not parts.is_dir():
            raise NotFoundError(f"upload '{upload_id}' not found")
        return parts / f".{number}.{secrets.token_hex(6)}"

    def commit_part(self, upload_id: str, number: int, tmp: Path, length: int) -> None:
        """Keep ``tmp`` as part ``number`` if it holds exactly ``length`` bytes (else drop it).

        Raises: CorruptionError (wrong length), OSError.
        """
        try:
            if tmp.stat().st_size != length:
                raise CorruptionError(f"part {number}: expected {length} bytes")
            os.replace(tmp, self._parts_dir(upload_id) / str(number))
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

    def complete_multipart(
        self, entity: str, digest: str, algorithm: str, size: int, upload_id: str
    ) -> None:
        """Join the parts, verify the digest and store the blob; the parts are dropped.
        Returns None: nothing is left to check (``ServerStore.complete_multipart``).

        Raises: CommError (unknown upload, parts missing), CorruptionError (digest).
        """
        area = self.area(entity)
        parts = self._parts_dir(upload_id)
        part_size = _part_size_of(parts)
        if upload_id != _upload_id(entity, digest, algorithm, size, part_size):
            raise NotFoundError(f"upload '{upload_id}' not found")
        count = part_count(size, part_size)
        missing = [
            n
            for n in range(1, count + 1)
            if not (parts / str(n)).is_file()
            or (parts / str(n)).stat().st_size != part_length(size, part_size, n)
        ]
        if missing:
            raise CommError(f"upload '{upload_id}' is missing parts {missing[:10]}")
        joined = area.tmp_dir / f"multipart-{upload_id}-{secrets.token_hex(6)}"
        try:
            with open(joined, "xb") as out:
                for n in range(1, count + 1):
                    with open(parts / str(n), "rb") as part:
                        shutil.copyfileobj(part, out, _CHUNK)
            try:
                area.put(joined, digest, algorithm)
            finally:
                shutil.rmtree(parts, ignore_errors=True)
        finally:
            with contextlib.suppress(FileNotFoundError):
                joined.unlink()


def _part_size_of(parts: Path) -> int:
    """The part size of an upload, recorded in its directory when it started."""
    marker = parts / "part_size"
    if not parts.is_dir() or not marker.is_file():
        raise NotFoundError(f"upload '{parts.name}' not found")
    return int(marker.read_text())
