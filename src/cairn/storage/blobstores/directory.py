"""A Cairn server's blobs in a directory (``--store DIR``, by default ``$CAIRN_DIR/server/blobs``).

Each entity's blobs are a ``LocalBlobStore`` under ``<root>/entities/<entity>``: loose
files, and packs of the small blobs a batch upload brings (``put_batch``: one pack per
batch, so 20,000 small files cost two fsyncs a batch, not one each); the parts of a multipart
upload wait under ``<root>/multipart/<upload id>/<n>`` until it completes. Clients send
and fetch the bytes through the server's own signed transfer routes
(``server_transfers()``), which stream each body to a file and store it only once its
digest checks out (``LocalBlobStore.put``). ``DirectoryMaintenance`` is the walk of
``cairn server gc|fsck`` over the directory.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import shutil
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from cairn.core.digest import b64_to_hex
from cairn.errors import CommError, CorruptionError, NotFoundError, StoreError
from cairn.storage.blobstores.batch_files import read_batch_item, verify_batch
from cairn.storage.blobstores.chunk_area import ChunkArea, shelf_kind
from cairn.storage.blobstores.chunk_shelves import DirectoryShelf
from cairn.storage.blobstores.directory_area import DirectoryArea
from cairn.storage.blobstores.interface import (
    BatchItem,
    DeclaredParts,
    MultipartUpload,
    Presigned,
    ServerTransfers,
    StagedUploads,
    check_entity,
    part_count,
    part_length,
)
from cairn.storage.blobstores.maintenance import (
    CHUNK_KINDS,
    Maintenance,
    StagedItem,
    StoredObject,
    chunk_object_intact,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

_CHUNK = 8 * 1024 * 1024


def _upload_id(entity: str, digest: str, algorithm: str, size: int, part_size: int) -> str:
    text = "\n".join((entity, algorithm, digest, str(size), str(part_size)))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


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
        self._areas: dict[str, DirectoryArea] = {}
        self._lock = threading.Lock()

    def ping(self) -> None:
        """Raises: StoreError (the directory is gone or not writable)."""
        if not (self.root.is_dir() and os.access(self.root, os.W_OK | os.X_OK)):
            raise StoreError(f"blob directory '{self.root}' is missing or not writable")

    def area(self, entity: str) -> DirectoryArea:
        """Raises: CommError (a name that cannot be an entity)."""
        check_entity(entity)
        with self._lock:
            area = self._areas.get(entity)
            if area is None:
                chunks = ChunkArea(self.chunk_shelf(entity))
                area = DirectoryArea(self.root / "entities" / entity, chunks)
                self._areas[entity] = area
            return area

    def chunk_shelf(self, entity: str) -> DirectoryShelf:
        """Where ``entity``'s chunks and chunk lists are (``<root>/chunks/<entity>``)."""
        check_entity(entity)
        return DirectoryShelf(self.root / "chunks" / entity)

    def chunks(self, entity: str) -> ChunkArea:
        """``entity``'s chunks and chunk lists. Raises: CommError (bad entity name)."""
        return self.area(entity).chunk_area

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
            blobs = [(read_batch_item(fd, item), item[0], item[1]) for item in items]
            area.put_many_checked(blobs)
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

    def maintenance(self) -> Maintenance:
        """The walk of ``cairn server gc|fsck`` over this directory."""
        return DirectoryMaintenance(self)

    def min_part_size(self) -> int:
        """Parts of any size (a directory takes what S3 would refuse)."""
        return 1

    def server_transfers(self) -> ServerTransfers:
        """This store itself: clients move bytes through the server's transfer routes."""
        return self

    def staged_uploads(self) -> StagedUploads | None:
        """None: every upload is checked as it is received, none waits in a staging area."""
        return None

    def declared_parts(self) -> DeclaredParts | None:
        """None: the parts of an upload come through the server's transfer routes."""
        return None

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


# ---------------------------------------------------------------- maintenance


class DirectoryMaintenance:
    """Over ``<root>/entities/<entity>/<algorithm>/xx/...`` (loose files),
    ``<root>/entities/<entity>/packs/`` (a packed blob is named ``<pack>#<algorithm>/<hex>``,
    as old as its pack; deleting it rewrites the pack) and ``<root>/multipart/<upload id>``."""

    recorded = False

    def __init__(self, store: DirectoryServerStore) -> None:
        self.store = store

    def _entities(self) -> list[str]:
        names: set[str] = set()
        for folder in ("entities", "chunks"):
            base = self.store.root / folder
            names.update(os.listdir(base) if base.is_dir() else [])
        return sorted(names)

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
            yield from _packed_objects(entity, area)
            for name, size, modified, where in self.store.chunk_shelf(entity).walk():
                kind = shelf_kind(name)
                if kind is not None:
                    yield StoredObject(entity, kind[0], kind[1], size, modified, where)

    def delete(self, blobs: Sequence[StoredObject]) -> int:
        """Loose files are removed, packs rewritten without their dead blobs (removed when
        none is left: ``LocalBlobStore.drop_packed``).

        Raises: OSError (a blob cannot be removed; those before stay removed),
        CorruptionError (a pack is shorter than its index says).
        """
        deleted = 0
        packed: dict[tuple[str, str], set[tuple[str, str]]] = {}
        for blob in blobs:
            pack, mark, _key = blob.name.rpartition(_PACKED_MARK)
            if mark:
                packed.setdefault((blob.entity, pack), set()).add((blob.algorithm, blob.digest))
                continue
            try:
                os.unlink(blob.name)
            except FileNotFoundError:
                continue
            deleted += 1
        for (entity, pack), dead in packed.items():
            area = self.store.area(entity)
            held = [blob for blob in dead if _in_pack(area, blob, pack)]
            area.drop_packed(Path(pack), dead)
            deleted += len(held)
        return deleted

    def verify(self, blob: StoredObject) -> bool:
        """Raises: OSError (the blob cannot be read)."""
        if blob.algorithm in CHUNK_KINDS:
            try:
                data: bytes | None = Path(blob.name).read_bytes()
            except FileNotFoundError:
                data = None
            return chunk_object_intact(blob.algorithm, blob.hex_digest, data)
        return self.store.area(blob.entity).verify(blob.digest, blob.algorithm)

    def iter_staging(self, older_than: float) -> Iterator[StagedItem]:
        """Part folders of multipart uploads and temporary files of the areas, last
        written more than ``older_than`` seconds ago."""
        cutoff = time.time() - older_than
        folders = [self.store.root / "multipart"]
        folders += [self.store.area(entity).tmp_dir for entity in self._entities()]
        folders += [self.store.chunk_shelf(entity).tmp_dir for entity in self._entities()]
        paths = [path for folder in folders if folder.is_dir() for path in sorted(folder.iterdir())]
        for entity in self._entities():  # packs a crash left without their index
            paths += self.store.area(entity).packs.orphan_packs()
        for path in paths:
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


_PACKED_MARK = "#"  # a packed blob's name: ``<pack path>#<algorithm>/<hex digest>``


def _packed_objects(entity: str, area: DirectoryArea) -> Iterator[StoredObject]:
    """The blobs of ``area``'s packs (batch uploads), each as old as its pack's file."""
    modified: dict[Path, float] = {}
    for algorithm, digest, (pack, _offset, size) in area.packs.items():
        if pack not in modified:
            try:
                modified[pack] = pack.stat().st_mtime
            except FileNotFoundError:
                modified[pack] = -1.0  # rewritten meanwhile (another collection): skipped
        if modified[pack] < 0:
            continue
        hex_digest = b64_to_hex(digest)
        name = f"{pack}{_PACKED_MARK}{algorithm}/{hex_digest}"
        yield StoredObject(entity, algorithm, hex_digest, size, modified[pack], name)


def _in_pack(area: DirectoryArea, blob: tuple[str, str], pack: str) -> bool:
    """Whether ``area``'s table serves the ``(algorithm, base64 digest)`` blob from ``pack``."""
    location = area.packs.peek(*blob)
    return location is not None and str(location[0]) == pack


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
