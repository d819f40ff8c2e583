"""Garbage collection of the embedded blob store (DESIGN §4): plan first, then execute.

``plan_gc(settings, grace_seconds)`` lists the blobs nothing live needs: a blob is live
when a version that is not deleted (committed or pending, whatever collection or link it
is seen through) has it as its manifest or as the content of a stored entry, or the parts
of an unfinished distributed version do (``service/distributed.py``). A blob
younger than ``grace_seconds`` is never planned either: a draft in another process may
have just copied it (or found it already stored, which refreshes its time, see
``freshen``) and be about to commit it. ``GcPlan.execute()`` takes the database write lock
(so no version can be committed meanwhile), checks every planned blob again against the
live set and its age, bumps the store's GC epoch (a commit that checked its blobs before
re-checks them under its lock) and deletes the blobs through ``LocalBlobStore.delete``.
Stale temporary files older than the grace period are removed too.

Small blobs the store packed into pack files (storage/packs.py) are freed by rewriting
their pack without them (``LocalBlobStore.drop_packed``); a pack's age is its file's, which
``freshen`` refreshes when a draft finds one of its blobs already stored.

A large file stored as chunks (storage/local/chunk_store.py) is its chunk list, collected
as a loose blob is; its chunks are packed blobs (algorithm ``b3``) that are live while a
chunk list that stays references them: one of a live file, or one younger than the grace
period (an ingest in another process may be about to commit it). A chunk shared by two
versions thus outlives the deletion of one of them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from typing import TYPE_CHECKING

from sqlalchemy import select

from cairn.core.digest import b64_to_hex, hex_to_b64
from cairn.core.manifest import Manifest
from cairn.db.models import STATE_DELETED, DistributedDraft, Version
from cairn.service import facts
from cairn.service.resources import MANIFEST_ALGORITHM, Store, open_store
from cairn.storage.chunking import CHUNK_ALGORITHM

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

    from sqlalchemy.orm import Session

    from cairn.settings import Settings
    from cairn.storage.local.blobs import LocalBlobStore

DEFAULT_GRACE_SECONDS = 3600.0

BlobKey = tuple[str, str]  # (algorithm, hex digest)


@dataclasses.dataclass(frozen=True)
class GcBlob:
    """A blob the collector would delete; ``path`` is its loose file, or its pack."""

    algorithm: str
    hex_digest: str
    size: int
    path: Path

    @property
    def digest(self) -> str:
        """The base64 entry digest (as manifests write it)."""
        return hex_to_b64(self.hex_digest)


@dataclasses.dataclass(frozen=True)
class GcResult:
    """What ``GcPlan.execute()`` freed, and what it kept because it became needed."""

    files: int
    bytes: int
    kept: int
    tmp_files: int


@dataclasses.dataclass
class GcPlan:
    """The blobs a collection would free (``bytes`` in ``files`` blobs); nothing is deleted
    until ``execute()``."""

    settings: Settings
    grace_seconds: float
    blobs: list[GcBlob]
    packed: list[GcBlob] = dataclasses.field(default_factory=list)

    @property
    def bytes(self) -> int:
        return sum(blob.size for blob in (*self.blobs, *self.packed))

    @property
    def files(self) -> int:
        return len(self.blobs) + len(self.packed)

    def describe(self) -> list[str]:
        """One line per blob, then a summary line (what ``cairn gc`` prints)."""
        lines = [f"{b.algorithm}/{b.hex_digest}  {b.size} bytes" for b in self.blobs]
        lines += [
            f"{b.algorithm}/{b.hex_digest}  {b.size} bytes (in {b.path.name})" for b in self.packed
        ]
        lines.append(
            f"{self.files} unreferenced blob(s), {self.bytes} bytes to free "
            f"(blobs younger than {self.grace_seconds:g} s are kept)"
        )
        return lines

    def execute(self) -> GcResult:
        """Delete the planned blobs that are still unreferenced and old enough.

        Raises:
            StoreError: the store cannot be opened.
            OSError: a blob cannot be deleted (those deleted before stay deleted).
        """
        store = open_store(self.settings)
        try:
            return _execute(store, self.blobs, self.packed, self.grace_seconds)
        finally:
            store.close()


def _live_blobs(session: Session, blobs: LocalBlobStore) -> set[BlobKey]:
    """Every blob a version that is not deleted needs, and every blob the parts of an
    unfinished distributed version added so far: its manifest and its stored entries."""
    live: set[BlobKey] = set()
    versions = select(Version.manifest_digest).where(Version.state != STATE_DELETED)
    parts = select(DistributedDraft.manifest_digest).where(
        DistributedDraft.manifest_digest.is_not(None)
    )
    digests = set(session.scalars(versions)) | {d for d in session.scalars(parts) if d}
    for manifest_digest in digests:
        live.add((MANIFEST_ALGORITHM, b64_to_hex(manifest_digest)))
        try:
            raw = blobs.read_bytes(manifest_digest, MANIFEST_ALGORITHM)
        except FileNotFoundError:
            continue  # fsck reports it; nothing of it can be protected
        for entry in Manifest.from_json(raw).entries.values():
            if entry.ref is None:
                live.add((entry.algorithm(), b64_to_hex(entry.digest)))
    return live


def _with_live_chunks(blobs: LocalBlobStore, live: set[BlobKey], cutoff: float) -> set[BlobKey]:
    """``live`` plus every chunk that a chunk list which stays references: the list of a
    live file, or one written after ``cutoff``. (A torn list references nothing.)"""
    chunks: set[BlobKey] = set()
    for algorithm, hex_digest, path in blobs.chunks.iter_lists():
        if (algorithm, hex_digest) not in live and _age_ok(path, cutoff) is not None:
            continue
        try:
            refs = blobs.chunks.chunks_of(hex_to_b64(hex_digest), algorithm)
        except (ValueError, OSError):
            continue  # not a list name, or gone meanwhile: nothing to protect
        chunks.update((CHUNK_ALGORITHM, ref.digest.hex()) for ref in refs)
    return live | chunks


def _age_ok(path: Path, cutoff: float) -> int | None:
    """The blob's size if it was last written before ``cutoff``, else None (or if gone)."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_size if stat.st_mtime < cutoff else None


def plan_gc(settings: Settings, grace_seconds: float = DEFAULT_GRACE_SECONDS) -> GcPlan:
    """Plan a collection of the embedded store of ``settings`` (see module doc).

    Raises:
        ValueError: ``grace_seconds`` is negative.
        StoreError: the store cannot be opened.
    """
    if grace_seconds < 0:
        raise ValueError(f"grace_seconds must not be negative, got {grace_seconds}")
    store = open_store(settings)
    try:
        with store.db.read() as session:
            live = _live_blobs(session, store.local_blobs())
        cutoff = time.time() - grace_seconds
        blobs = store.local_blobs()
        live = _with_live_chunks(blobs, live, cutoff)
        planned = [
            GcBlob(algorithm, hex_digest, size, path)
            for algorithm, hex_digest, path in (*blobs.iter_loose(), *blobs.chunks.iter_lists())
            if (algorithm, hex_digest) not in live and (size := _age_ok(path, cutoff)) is not None
        ]
        packed = [
            GcBlob(algorithm, b64_to_hex(digest), size, pack)
            for table in (blobs.packs, blobs.chunks.packs)
            for algorithm, digest, (pack, _offset, size) in table.items()
            if (algorithm, b64_to_hex(digest)) not in live and _age_ok(pack, cutoff) is not None
        ]
        return GcPlan(settings=settings, grace_seconds=grace_seconds, blobs=planned, packed=packed)
    finally:
        store.close()


def _execute(
    store: Store, planned: list[GcBlob], packed: list[GcBlob], grace_seconds: float
) -> GcResult:
    freed = freed_bytes = 0
    blobs = store.local_blobs()
    with store.db.write() as session:
        cutoff = time.time() - grace_seconds
        live = _with_live_chunks(blobs, _live_blobs(session, blobs), cutoff)

        def doomed(blob: GcBlob) -> bool:
            key = (blob.algorithm, blob.hex_digest)
            return key not in live and _age_ok(blob.path, cutoff) is not None

        loose = [blob for blob in planned if doomed(blob)]
        by_pack: dict[Path, set[tuple[str, str]]] = {}
        for blob in packed:
            if doomed(blob):
                by_pack.setdefault(blob.path, set()).add((blob.algorithm, blob.digest))
        kept = len(planned) + len(packed) - len(loose) - sum(map(len, by_pack.values()))
        if loose or by_pack:
            facts.bump_gc_epoch(session)
        for blob in loose:
            if blobs.delete(blob.digest, blob.algorithm):
                freed += 1
                freed_bytes += blob.size
        for pack, dead in by_pack.items():
            freed_bytes += blobs.drop_packed(pack, dead)
            freed += len(dead)
    tmp_files = blobs.cleanup_tmp(max(grace_seconds, 1.0))
    return GcResult(files=freed, bytes=freed_bytes, kept=kept, tmp_files=tmp_files)


def freshen(blobs: LocalBlobStore, refs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """Mark stored blobs, given as ``(base64 digest, algorithm)``, as just used, so a
    collection keeps them for a grace period: a loose blob's file is touched, and each
    pack holding one of them once. Returns the refs that are not stored (one pass does
    both: this is ``missing`` for a draft about to commit).

    Called when a draft ingests files whose blobs were already stored, and when a draft
    asks which of its blobs are missing: a blob may be unreferenced (its versions were
    deleted) yet about to be committed again.

    Raises:
        ValueError: a digest that is not valid for its algorithm.
    """
    refs = list(refs)
    if not refs:
        return set()
    blobs.packs.refresh()  # forget packs rewritten since they were loaded (another process)
    blobs.chunks.packs.refresh()
    packs, unpacked = blobs.packs.split_packed(refs)
    missing: set[tuple[str, str]] = set()
    for ref in unpacked:
        digest, algorithm = ref
        try:
            os.utime(blobs.path_for(digest, algorithm))
            continue
        except (FileNotFoundError, PermissionError):
            location = blobs.packs.lookup(algorithm, digest)  # a pack published since
        if location is not None:
            packs.add(location[0])
        elif (
            not blobs.chunks.touch(digest, algorithm)
            and not blobs.path_for(digest, algorithm).is_file()
        ):
            missing.add(ref)
    for pack in packs:
        with contextlib.suppress(FileNotFoundError, PermissionError):
            os.utime(pack)
    return missing


__all__ = ["GcBlob", "GcPlan", "GcResult", "freshen", "plan_gc"]
