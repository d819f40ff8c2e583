"""Where a server store keeps an entity's chunks and chunk lists (``chunk_area.ChunkShelf``).

- ``DirectoryShelf``: files under ``<store root>/chunks/<entity>/<name>``, apart from
  the entity's blobs (``entities/<entity>``), written to ``tmp/`` and renamed into place,
  read-only.
- ``S3Shelf``: keys ``<prefix>/chunks/<entity>/<name>`` of the bucket; with the server's
  record (``BlobRecord``), every object written is recorded (kind ``chunk`` or
  ``chunklist``) and presence is answered from the record alone, without a request to
  the bucket per chunk (a query about the 4,000 chunks of a 1 GiB file is one query of
  the database).

Both list what they hold for ``cairn server gc|fsck`` (``walk``) and delete (``remove``).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cairn.storage.blobstores.chunk_area import shelf_kind
from cairn.storage.blobstores.s3_client import is_missing
from cairn.storage.local import durable_batch

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from cairn.storage.blobstores.interface import BlobRecord

FILE_MODE = 0o444
TMP_DIR = "tmp"
S3_THREADS = 16  # parallel requests of one batch


class DirectoryShelf:
    """An entity's chunks as files under ``root`` (``<store root>/chunks/<entity>``)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp_dir = root / TMP_DIR

    def _path(self, name: str) -> Path:
        return self.root / name

    def get(self, name: str) -> bytes | None:
        """Raises: OSError (other than the file missing)."""
        try:
            return self._path(name).read_bytes()
        except FileNotFoundError:
            return None

    def put(self, name: str, data: bytes) -> None:
        """Write ``data`` as ``name`` (fsynced, renamed into place, read-only), unless it
        is there. Raises: OSError."""
        final = self._path(name)
        if final.is_file():
            return
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        tmp = self._tmp()
        try:
            with open(tmp, "xb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            _publish(tmp, final)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    def put_many(self, items: Sequence[tuple[str, bytes]]) -> None:
        """``put`` for many objects, made durable together by a few file-system syncs
        (``durable_batch``), not an fsync each. Raises: OSError."""
        todo = [(name, data) for name, data in items if not self._path(name).is_file()]
        if len(todo) < 2 or not durable_batch.available():
            for name, data in todo:
                self.put(name, data)
            return
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        with durable_batch.DurableBatch(self.tmp_dir, _publish) as batch:
            for name, data in todo:
                tmp = self._tmp()
                with open(tmp, "xb") as out:
                    out.write(data)
                batch.add(tmp, self._path(name), len(data))

    def _tmp(self) -> Path:
        return self.tmp_dir / f"{os.getpid()}-{threading.get_ident()}-{secrets.token_hex(8)}"

    def present(self, names: Sequence[str]) -> set[str]:
        """The names of ``names`` stored as files."""
        return {name for name in names if self._path(name).is_file()}

    def walk(self) -> Iterator[tuple[str, int, float, str]]:
        """``(name, size, last write, path)`` of every chunk and list. Raises: OSError."""
        if not self.root.is_dir():
            return
        for dirpath, _dirs, files in os.walk(self.root):
            for file in files:
                path = Path(dirpath) / file
                name = path.relative_to(self.root).as_posix()
                if shelf_kind(name) is None:
                    continue
                try:
                    stat = path.stat()
                except FileNotFoundError:
                    continue
                yield name, stat.st_size, stat.st_mtime, str(path)

    def remove(self, locations: Sequence[str]) -> int:
        """Delete the files ``locations`` (paths from ``walk``). Raises: OSError."""
        removed = 0
        for location in locations:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(location)
                removed += 1
        return removed


def _publish(tmp: Path, final: Path) -> None:
    """Make the written ``tmp`` read-only and rename it to ``final``."""
    os.chmod(tmp, FILE_MODE)
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, final)


class S3Shelf:
    """An entity's chunks as keys ``<base>/<name>`` of a bucket (``base``:
    ``<prefix>/chunks/<entity>``), recorded in ``record`` when the server keeps one."""

    def __init__(
        self, client: Any, bucket: str, base: str, entity: str, record: BlobRecord | None
    ) -> None:
        self.client = client
        self.bucket = bucket
        self.base = base
        self.entity = entity
        self.record = record

    def _key(self, name: str) -> str:
        return f"{self.base}/{name}"

    def get(self, name: str) -> bytes | None:
        """Raises: botocore errors (other than the key missing)."""
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self._key(name))["Body"]
        except Exception as exc:
            if is_missing(exc):
                return None
            raise
        data: bytes = body.read()
        return data

    def put(self, name: str, data: bytes) -> None:
        """Write ``data`` as ``name`` and record it. Raises: botocore, sqlalchemy errors."""
        self.client.put_object(Bucket=self.bucket, Key=self._key(name), Body=data)
        self._note([(name, len(data))])

    def put_many(self, items: Sequence[tuple[str, bytes]]) -> None:
        """``put`` for many objects, ``S3_THREADS`` at a time, recorded in one transaction."""
        if not items:
            return

        def put(item: tuple[str, bytes]) -> None:
            self.client.put_object(Bucket=self.bucket, Key=self._key(item[0]), Body=item[1])

        with ThreadPoolExecutor(min(S3_THREADS, len(items))) as pool:
            list(pool.map(put, items))
        self._note([(name, len(data)) for name, data in items])

    def _note(self, items: Sequence[tuple[str, int]]) -> None:
        if self.record is None:
            return
        rows = []
        for name, size in items:
            kind = shelf_kind(name)
            if kind is not None:
                rows.append((kind[1], kind[0], size))
        self.record.record(self.entity, rows)

    def present(self, names: Sequence[str]) -> set[str]:
        """With a record: the recorded names (every write is recorded); else asked of
        the bucket, ``S3_THREADS`` at a time."""
        if not names:
            return set()
        if self.record is not None:
            kinds = {name: shelf_kind(name) for name in names}
            pairs = [(k[1], k[0]) for k in kinds.values() if k is not None]
            found = self.record.recorded(self.entity, pairs)
            return {n for n, k in kinds.items() if k is not None and (k[1], k[0]) in found}
        with ThreadPoolExecutor(min(S3_THREADS, len(names))) as pool:
            there = list(pool.map(self._exists, names))
        return {name for name, yes in zip(names, there, strict=True) if yes}

    def _exists(self, name: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(name))
        except Exception as exc:
            if is_missing(exc):
                return False
            raise
        return True
