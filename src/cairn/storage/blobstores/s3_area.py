"""One entity's blobs in a server's S3 bucket: the ``BlobArea`` of ``s3.S3ServerStore``.

Blobs are the store's objects under ``<prefix>/entities/<entity>/...`` (presence answered
from the server's record first, ``s3``); a file stored as chunks (``chunk_area``, keys
under ``<prefix>/chunks/<entity>/``) counts as a stored MD5 blob whose bytes are its
chunks reassembled.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol

from cairn.core.digest import blob_key, digest_bytes
from cairn.storage.blobstores.chunk_area import ChunkArea
from cairn.storage.blobstores.chunk_shelves import S3Shelf
from cairn.storage.blobstores.s3_client import is_missing

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from pathlib import Path

    from cairn.storage.blobstores.interface import BlobRecord

_CHUNK = 8 * 1024 * 1024  # bytes read at a time while an object is streamed
CHECK_THREADS = 16  # parallel presence checks against the bucket


class Bucket(Protocol):
    """What an area needs of its store (``s3.S3ServerStore``), named here so that this
    module does not import the store that imports it."""

    client: Any
    bucket: str

    @property
    def blob_record(self) -> BlobRecord | None: ...

    def key(self, *parts: str) -> str: ...

    def final_key(self, entity: str, digest: str, algorithm: str) -> str: ...

    def has(self, entity: str, digest: str, algorithm: str) -> bool: ...

    def check(self, entity: str, digest: str, algorithm: str) -> int | None: ...

    def recorded(self, entity: str, blobs: Sequence[tuple[str, str]]) -> set[tuple[str, str]]: ...

    def record(self, entity: str, blobs: Sequence[tuple[str, str, int]]) -> None: ...

    def put_final(self, entity: str, digest: str, algorithm: str, data: bytes) -> None: ...


class S3Area:
    """One entity's blobs in the bucket (the ``BlobArea`` the service layer uses), and
    its chunked files (``chunk_area``: keys under ``<prefix>/chunks/<entity>/``), which count
    as stored MD5 blobs whose bytes are their chunks reassembled."""

    def __init__(self, store: Bucket, entity: str) -> None:
        self._store = store
        self._entity = entity
        base = store.key("chunks", entity)
        shelf = S3Shelf(store.client, store.bucket, base, entity, store.blob_record)
        self.chunk_area = ChunkArea(shelf)

    def has(self, digest: str, algorithm: str) -> bool:
        """Whether the blob is stored, whole (promoting a verified upload first) or as a
        chunk list.

        Raises: ValueError (invalid digest), botocore errors (bucket unreachable).
        """
        if self._store.has(self._entity, digest, algorithm):
            return True
        return algorithm == "md5" and bool(self.chunk_area.has_files([digest]))

    def missing(self, blobs: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        """The ``(digest, algorithm)`` pairs of ``blobs`` that are not stored. Recorded
        blobs are trusted; the others are asked of the bucket ``CHECK_THREADS`` at a time
        (each check is one or more round trips, and promoting a finished upload reads it
        back), and those found are recorded.

        Raises: ValueError (invalid digest, before any request), botocore errors,
        sqlalchemy errors (the record).
        """
        for digest, algorithm in blobs:
            blob_key(digest, algorithm)
        store, entity = self._store, self._entity
        recorded = store.recorded(entity, blobs)
        todo = [blob for blob in blobs if blob not in recorded]
        if len(todo) <= 1:
            sizes = [store.check(entity, *blob) for blob in todo]
        else:
            with ThreadPoolExecutor(min(CHECK_THREADS, len(todo))) as pool:
                sizes = list(pool.map(lambda blob: store.check(entity, *blob), todo))
        found = [(*blob, size) for blob, size in zip(todo, sizes, strict=True) if size is not None]
        store.record(entity, found)
        lacking = {blob for blob, size in zip(todo, sizes, strict=True) if size is None}
        return self.not_chunked(lacking)

    def not_chunked(self, blobs: set[tuple[str, str]]) -> set[tuple[str, str]]:
        """The blobs of ``blobs`` that are not MD5 files stored as chunk lists."""
        chunked = self.chunk_area.has_files([d for d, a in blobs if a == "md5"])
        return {blob for blob in blobs if not (blob[1] == "md5" and blob[0] in chunked)}

    def put_bytes(self, data: bytes, algorithm: str = "md5") -> S3Blob:
        """Store ``data`` (the server's own writes, e.g. manifests).

        Raises: botocore errors, sqlalchemy errors (the record).
        """
        digest = digest_bytes(data, algorithm)
        self._store.put_final(self._entity, digest, algorithm, data)
        self._store.record(self._entity, [(digest, algorithm, len(data))])
        return S3Blob(digest)

    def read_bytes(self, digest: str, algorithm: str) -> bytes:
        """Raises: KeyError (not stored), CorruptionError (a wrong chunk), botocore errors."""
        try:
            data: bytes = self._body(digest, algorithm).read()
        except KeyError:
            if algorithm != "md5":
                raise
            return b"".join(self.chunk_area.iter_file(digest))
        return data

    def local_path(self, digest: str, algorithm: str) -> Path | None:
        """None: the blob's bytes are objects in the bucket, no file on this machine."""
        return None

    def iter_bytes(self, digest: str, algorithm: str, chunk_size: int = _CHUNK) -> Iterator[bytes]:
        """The blob's bytes streamed from the bucket in chunks, never held whole in memory
        (the web UI's downloads), or its chunks reassembled. Raises: KeyError (not
        stored), botocore errors; later CorruptionError (a wrong chunk, named)."""
        try:
            chunks: Iterator[bytes] = self._body(digest, algorithm).iter_chunks(chunk_size)
        except KeyError:
            if algorithm != "md5":
                raise
            return self.chunk_area.iter_file(digest)
        return chunks

    def _body(self, digest: str, algorithm: str) -> Any:
        """The streaming body of the stored blob. Raises: KeyError (not stored), botocore."""
        key = self._store.final_key(self._entity, digest, algorithm)
        try:
            return self._store.client.get_object(Bucket=self._store.bucket, Key=key)["Body"]
        except Exception as exc:
            if is_missing(exc):
                raise KeyError(f"blob {algorithm} {digest} not found") from None
            raise


class S3Blob:
    """A blob written by ``S3Area.put_bytes``."""

    def __init__(self, digest: str) -> None:
        self.digest = digest
