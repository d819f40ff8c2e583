"""What a Cairn server asks of its blob store, whatever holds the bytes.

A server keeps its blobs in a directory (``cairn.storage.blobstores.directory``) or an
S3-compatible bucket (``cairn.storage.blobstores.s3``). Both keep one content-addressed
area per entity (blobs are deduplicated only within an entity, DESIGN §4) and answer the
same interface, ``ServerStore``, so nothing outside this package looks at what is behind
it:

- ``area(entity)``: the ``BlobArea`` the service use cases read and write (manifests,
  presence checks at commit, a version's files for the web UI);
- ``upload_url`` / ``download_url``: a presigned URL (S3), or ``None`` when the server
  must sign its own transfer URL (directory);
- ``start_multipart`` / ``part_url`` / ``complete_multipart``: large blobs in parts that
  survive an interruption (the store remembers the parts already received); completing
  stores the blob (directory) or leaves the assembled object in the staging area for the
  server's upload check (S3, ``cairn.service.upload_checks``);
- ``to_upload``: which blobs a client should send (for S3 from the server's record of
  stored blobs, ``BlobRecord``, without asking the bucket);
- ``put_batch``: many small blobs received in one request, checked and stored at once;
- ``chunks(entity)``: the entity's chunks and chunk lists (``chunk_area``): a file
  stored as a chunk list counts as a stored MD5 blob of its area (``has``, ``missing``,
  ``to_upload``), whose bytes are its chunks reassembled (``iter_bytes``); such a file
  has no presigned ``download_url`` (None: the server streams it);
- ``ping``: whether the store can be reached now (the server's readiness);
- ``maintenance()``: the store-wide walk of ``cairn server gc|fsck``
  (``cairn.storage.blobstores.maintenance``).

Where the stores differ, a capability method answers what a store can do, instead of a
caller testing its class:

- ``min_part_size()``: the smallest part a multipart upload may have (all but the last);
- ``server_transfers()``: the server's own transfer routes (bytes through the server,
  into areas of files, ``ReceivingArea``), or None when clients move bytes with the
  object store's presigned URLs;
- ``staged_uploads()``: uploads that wait in a staging area until the server's
  background check verifies and promotes them (S3), or None when every upload is checked
  as it is received;
- ``declared_parts()``: multipart uploads whose parts the client declares by MD5 and
  sends to presigned URLs (the wandb facade on S3), or None.

And an area answers ``local_path(blob)``: the blob's file on this machine, None when its
bytes are not a file here (packed, or in a bucket).

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

import dataclasses
import re
from typing import TYPE_CHECKING, Protocol

from cairn.core.digest import blob_key
from cairn.errors import NotFoundError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence
    from pathlib import Path

    from cairn.storage.blobstores.chunk_area import ChunkArea
    from cairn.storage.blobstores.maintenance import Maintenance

MIN_PART_SIZE = 5 * 1024 * 1024  # S3's smallest part (all but the last)
_SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")

# One blob of a batch: (digest, algorithm, offset in the batch file, size).
BatchItem = tuple[str, str, int, int]


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

    def local_path(self, digest: str, algorithm: str) -> Path | None:
        """The read-only file on this machine holding exactly the blob's bytes, or None
        (its bytes are no file here: packed, in an object store, or not stored)."""
        ...

    def iter_bytes(self, digest: str, algorithm: str) -> Iterator[bytes]:
        """The blob's bytes in chunks, never held whole in memory (but a small packed
        blob). Raises at once, before the first chunk: KeyError / FileNotFoundError (not
        stored)."""
        ...


class ReceivingArea(BlobArea, Protocol):
    """An area of files that the server writes the uploads it receives into (a directory
    store's): a body is streamed to a file in ``tmp_dir``, then stored by ``put`` (hashed
    against its digest) or ``adopt`` (already hashed while it was written)."""

    @property
    def tmp_dir(self) -> Path: ...

    def put(self, src: Path, digest: str, algorithm: str) -> StoredRef: ...

    def adopt(self, tmp: Path, digest: str, algorithm: str) -> StoredRef: ...


class ServerTransfers(Protocol):
    """What the server's own transfer routes need of a store whose clients send and fetch
    bytes through the server (``ServerStore.server_transfers``)."""

    def area(self, entity: str) -> ReceivingArea: ...

    def part_tmp(self, upload_id: str, number: int) -> Path: ...

    def commit_part(self, upload_id: str, number: int, tmp: Path, length: int) -> None: ...


class StagedUploads(Protocol):
    """A store whose uploads wait in a staging area until the server's background check
    (``cairn.service.upload_checks``) verifies and promotes them."""

    def verify_staged(
        self,
        entity: str,
        digest: str,
        algorithm: str,
        key: str,
        keepalive: Callable[[], None] | None = None,
    ) -> int | None: ...


class DeclaredParts(Protocol):
    """Multipart uploads whose parts the client declares by MD5 and sends to presigned
    URLs of the store, and that the store assembles into its staging area (the wandb
    facade's ``createArtifactFiles`` / ``completeMultipartUploadArtifact``)."""

    def start_declared(
        self, entity: str, digest: str, numbers: Sequence[int], ttl: int
    ) -> tuple[str, dict[int, str]]: ...

    def complete_declared(
        self, entity: str, digest: str, upload_id: str, md5s: Mapping[int, str]
    ) -> str | None: ...

    def abort_declared(self, entity: str, digest: str, upload_id: str) -> None: ...


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


class ServerStore(Protocol):
    """The blob storage of a server (see the module docstring)."""

    def area(self, entity: str) -> BlobArea: ...

    def chunks(self, entity: str) -> ChunkArea: ...

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

    def maintenance(self) -> Maintenance: ...

    def min_part_size(self) -> int: ...

    def server_transfers(self) -> ServerTransfers | None: ...

    def staged_uploads(self) -> StagedUploads | None: ...

    def declared_parts(self) -> DeclaredParts | None: ...


def part_count(size: int, part_size: int) -> int:
    """How many parts of ``part_size`` bytes hold ``size`` bytes (at least one)."""
    return max(1, -(-size // part_size))


def part_length(size: int, part_size: int, number: int) -> int:
    """The length of part ``number`` (1-based) of a ``size``-byte blob."""
    return min(part_size, size - (number - 1) * part_size)


def check_entity(entity: str) -> None:
    """Refuse a name no store keeps an area for (it becomes a directory or a key).

    Raises: NotFoundError.
    """
    if not _SAFE_NAME.fullmatch(entity):
        raise NotFoundError(f"'{entity}' not found")


def hex_name(digest: str, algorithm: str) -> str:
    """The blob's digest as 32 hex digits (a name in staging keys and folders).

    Raises: ValueError (invalid digest).
    """
    return blob_key(digest, algorithm).split("/", 1)[1].replace("/", "")
