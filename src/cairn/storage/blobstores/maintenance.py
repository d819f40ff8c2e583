"""What a server's maintenance jobs (``cairn server gc|fsck``) need of its blob store.

A server store (``cairn.storage.blobstores.interface``) answers requests one blob at a
time; the garbage collector and the checker walk all of it instead. Every store's
``maintenance()`` gives the same small interface, ``Maintenance``:

- ``iter_stored()``: every blob under its final key (entity, algorithm, digest, size, last
  write, S3 ETag), and every chunk and chunk list (``chunk_area``; algorithm ``chunk`` or
  ``chunklist``), streamed: a directory is walked, a bucket listed a page (1,000 keys) at
  a time, so 10 million blobs are never held in memory at once;
- ``delete(blobs)``: remove blobs (S3: 1,000 per request);
- ``verify(blob)``: whether its bytes still have its digest (S3: by the ETag when it is
  the MD5 of a single-part object, else by streaming and hashing it; a chunk: its BLAKE3;
  a chunk list: its own self-check, the reassembly being ``server_fsck``'s);
- ``iter_staging(older_than)`` / ``drop_staging(items)``: uploads abandoned before they
  were verified and promoted (S3: objects under ``incoming/`` and multipart uploads that
  were never completed, aged by their newest part as well as their start, since an upload
  may take days and some S3 servers report no true start; a directory: multipart part
  folders and temporary files).

The directory's walk is ``DirectoryMaintenance`` (``directory``), the bucket's
``S3Maintenance`` (``s3_maintenance``).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Protocol

from cairn.core.digest import hex_to_b64
from cairn.storage.blobstores.chunk_area import decode_list
from cairn.storage.chunking import chunk_digest

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

ALGORITHMS = ("md5", "xxh128")
# The "algorithms" chunks and chunk lists are listed under (``chunk_area``): a chunk's hex
# digest is its BLAKE3 id, a chunk list's the MD5 of the file it lists.
CHUNK_KINDS = ("chunk", "chunklist")


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
        """The base64 digest (as manifests write it); a chunk's or chunk list's is its hex
        digest (as the record of stored objects keeps it)."""
        if self.algorithm in CHUNK_KINDS:
            return self.hex_digest
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


def chunk_object_intact(algorithm: str, hex_digest: str, data: bytes | None) -> bool:
    """Whether ``data``, read from a chunk or chunk list object, is what its name says:
    a chunk whose BLAKE3 is its name, or a chunk list that passes its self-check and
    lists the file its name says."""
    if data is None:
        return False
    if algorithm == "chunk":
        return chunk_digest(data).hex() == hex_digest
    return decode_list(hex_to_b64(hex_digest), data) is not None


def hex_digest_of(algorithm: str, prefix: str, rest: str) -> str | None:
    """The hex digest named by ``<algorithm>/<prefix>/<rest>``, None for another name."""
    hex_digest = prefix + rest
    if algorithm not in ALGORITHMS or len(prefix) != 2 or len(hex_digest) != 32:
        return None
    if hex_digest.strip("0123456789abcdef"):
        return None
    return hex_digest
