"""Garbage collection of a server's blob store (directory or S3): plan first, then execute.

``plan_server_gc(store, grace_seconds)`` finds the blobs nothing live needs, in the same
sense as the embedded collector (``cairn.service.gc``): a blob is live when a version that
is not deleted, or the parts of an unfinished distributed version, name it as their
manifest or as a stored entry, in the entity whose area holds it. A file stored as
chunks (issue 24) keeps its chunk list live, and the list every chunk it names: a chunk
is collectable only when no live list of its entity names it (and, as every blob, only
once older than the grace period). The live keys (read from
the database and the live manifests) and the store's listing (a bucket listed a page at a
time) are streamed into a temporary SQLite file (``blob_scratch``), never held in memory,
and a blob is planned when the listing has it, no live key names it and it was written
before the plan started minus ``grace_seconds`` (a draft may be about to commit it).
Uploads abandoned in the staging area (S3 ``incoming/`` objects and multipart uploads,
a directory's part folders and temporary files) older than a day, or than the grace period
if longer, are planned too.

``ServerGcPlan.execute()`` deletes in batches of ``DELETE_BATCH``. Each batch is one write
transaction that first takes the store's ``gc_epoch`` row ``FOR UPDATE`` (SQLite: the
write lock), which waits for the commits under way and keeps new ones out until the
batch is done; under it, the blobs of the versions (and distributed parts) created since
the plan started are read again, and a planned blob one of them names is kept: a blob
referenced again during the run survives. The blob-registry rows of the deleted blobs are
dropped in the same transaction (should the deletion fail midway, they are dropped anyway:
a missing row only costs the store a look at the bucket). A commit that checked its blobs
before the epoch moved checks them again under that row (``cairn.service.commit``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError

from cairn.core.digest import MD5, b64_to_hex
from cairn.core.manifest import Manifest
from cairn.db.models import STATE_DELETED, Collection, DistributedDraft, Entity, Project, Version
from cairn.errors import StoreError
from cairn.progress import ProgressCallback, ProgressEvent, silent
from cairn.service import blob_registry, facts
from cairn.service.blob_scratch import BlobScratch, Key
from cairn.service.gc import DEFAULT_GRACE_SECONDS
from cairn.service.resources import MANIFEST_ALGORITHM, Store
from cairn.storage.blobstores.chunk_area import CHUNK_KIND, LIST_KIND

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from sqlalchemy.orm import Session

    from cairn.storage.blobstores.maintenance import Maintenance, StagedItem, StoredObject

STAGING_AGE_SECONDS = 86400.0  # abandoned uploads older than this are removed
DELETE_BATCH = 1000  # blobs deleted per locked transaction
READ_THREADS = 16  # manifests read at once (a bucket answers each in a round trip)
# A commit's transaction may have begun this long before the plan and still land after
# it: versions created since the plan's start minus this are read again under the lock.
COMMIT_SLACK_SECONDS = 600.0
PROGRESS_EVERY = 1000
YIELD_PER = 1000  # rows fetched at a time (a server-side cursor on PostgreSQL)
TASK = "Collecting garbage"


@dataclasses.dataclass(frozen=True)
class ServerGcResult:
    """What ``ServerGcPlan.execute()`` freed, what it kept because a version created
    meanwhile needs it, and how many abandoned uploads it removed."""

    files: int
    bytes: int
    kept: int
    staging: int


@dataclasses.dataclass
class ServerGcPlan:
    """``files`` unreferenced blobs (``bytes``) and the abandoned uploads ``staging``;
    nothing is deleted until ``execute()``. ``close()`` removes the plan's scratch file."""

    store: Store
    maintenance: Maintenance
    scratch: BlobScratch
    grace_seconds: float
    started: float
    files: int
    bytes: int
    staging: list[StagedItem]

    @property
    def cutoff(self) -> float:
        """Blobs written at or after this moment (epoch seconds) are kept."""
        return self.started - self.grace_seconds

    def blobs(self) -> Iterator[StoredObject]:
        """The planned blobs, by entity and digest (streamed from the scratch file)."""
        return self.scratch.unreferenced(self.cutoff)

    def describe(self) -> Iterator[str]:
        """One line per blob and per abandoned upload, then a summary line."""
        for blob in self.blobs():
            yield f"{blob.entity} {blob.algorithm}/{blob.hex_digest}  {blob.size} bytes"
        for item in self.staging:
            kind = "multipart upload" if item.upload_id is not None else "staged upload"
            yield f"{kind} {item.name}  {item.size} bytes"
        yield (
            f"{self.files} unreferenced blob(s), {self.bytes} bytes to free, "
            f"{len(self.staging)} abandoned upload(s) "
            f"(blobs younger than {self.grace_seconds:g} s are kept)"
        )

    def execute(self, progress: ProgressCallback = silent) -> ServerGcResult:
        """Delete the planned blobs no version created meanwhile needs, then the
        abandoned uploads (see the module doc).

        Raises:
            sqlalchemy errors: the database cannot be written (batches done stay done).
            OSError / botocore errors: a blob cannot be deleted.
        """
        freed = freed_bytes = kept = 0
        since = dt.datetime.fromtimestamp(self.started - COMMIT_SLACK_SECONDS, dt.UTC)
        manifests: dict[tuple[str, str], list[Key]] = {}
        begun = time.monotonic()
        blobs = self.blobs()
        while batch := list(itertools.islice(blobs, DELETE_BATCH)):
            doomed: list[StoredObject] = []
            try:
                with self.store.db.write() as session:
                    facts.bump_gc_epoch(session)
                    recent = _recent_live(session, self.store, since, manifests)
                    doomed = [b for b in batch if _key(b) not in recent]
                    _forget(session, self.maintenance, doomed)
                    freed += self.maintenance.delete(doomed)
            except BaseException:
                if doomed:  # some may be gone: their rows must not vouch for them
                    with self.store.db.write() as session:
                        _forget(session, self.maintenance, doomed)
                raise
            kept += len(batch) - len(doomed)
            freed_bytes += sum(blob.size for blob in doomed)
            progress(_event(TASK, freed + kept, self.files, freed_bytes, self.bytes, begun))
        progress(_event(TASK, freed + kept, self.files, freed_bytes, self.bytes, begun, True))
        staging = self.maintenance.drop_staging(self.staging)
        return ServerGcResult(files=freed, bytes=freed_bytes, kept=kept, staging=staging)

    def close(self) -> None:
        """Remove the scratch file."""
        self.scratch.close()


def _key(blob: StoredObject) -> Key:
    return (blob.entity, blob.algorithm, blob.hex_digest)


def _event(
    task: str, done: int, total: int, size: int, size_total: int, begun: float, end: bool = False
) -> ProgressEvent:
    return ProgressEvent(task, done, total, size, size_total, done=end, started=begun)


def _forget(session: Session, maintenance: Maintenance, blobs: list[StoredObject]) -> None:
    if not maintenance.recorded:
        return
    for entity, group in itertools.groupby(blobs, key=lambda blob: blob.entity):
        blob_registry.forget(session, entity, [(b.digest, b.algorithm) for b in group])


def _live_manifests(since: dt.datetime | None) -> list[Select[str, str | None]]:
    """Queries of ``(entity, manifest digest)`` of the versions not deleted and of the
    distributed parts (those created or changed since ``since``, when given)."""
    versions = (
        select(Entity.name, Version.manifest_digest)
        .join(Collection, Version.collection_id == Collection.id)
        .join(Project, Collection.project_id == Project.id)
        .join(Entity, Project.entity_id == Entity.id)
        .where(Version.state != STATE_DELETED)
    )
    parts = (
        select(Entity.name, DistributedDraft.manifest_digest)
        .join(Project, DistributedDraft.project_id == Project.id)
        .join(Entity, Project.entity_id == Entity.id)
        .where(DistributedDraft.manifest_digest.is_not(None))
    )
    if since is not None:
        versions = versions.where(Version.created_at >= since)
        parts = parts.where(DistributedDraft.updated_at >= since)
    return [versions.distinct(), parts.distinct()]


def _manifest_keys(store: Store, entity: str, manifest_digest: str) -> list[Key]:
    """The manifest's own key and those of its stored entries (just the former when the
    manifest is missing or unreadable: fsck reports it, nothing of it can be protected)."""
    try:
        keys = [(entity, MANIFEST_ALGORITHM, b64_to_hex(manifest_digest))]
    except ValueError:
        return []
    try:
        raw = store.blobs_of(entity).read_bytes(manifest_digest, MANIFEST_ALGORITHM)
        entries = Manifest.from_json(raw).entries.values()
    except (KeyError, FileNotFoundError, ValueError):
        return keys
    md5s: list[str] = []
    for entry in entries:
        if entry.ref is None:
            try:
                keys.append((entity, entry.algorithm(), b64_to_hex(entry.digest)))
            except ValueError:
                continue
            if entry.algorithm() == MD5:
                md5s.append(entry.digest)
    return keys + _chunk_keys(store, entity, md5s)


def _chunk_keys(store: Store, entity: str, md5s: list[str]) -> list[Key]:
    """The keys of the chunk lists of the files ``md5s`` stored as chunks, and of every
    chunk those lists name (a chunk is live while any live list names it). A torn list
    protects nothing: it reads as a missing file, which fsck reports."""
    if store.server_blobs is None or not md5s:
        return []
    chunks = store.server_blobs.chunks(entity)
    keys: list[Key] = []
    for md5 in sorted(chunks.has_files(md5s)):
        keys.append((entity, LIST_KIND, b64_to_hex(md5)))
        listed = chunks.read_list(md5)
        if listed is not None:
            keys += [(entity, CHUNK_KIND, hex_id) for hex_id, _size in listed.chunks]
    return keys


def _read_all(store: Store, pairs: Iterable[tuple[str, str]]) -> Iterator[list[Key]]:
    """``_manifest_keys`` of each ``(entity, manifest digest)``, ``READ_THREADS`` at once,
    a bounded window at a time."""
    with ThreadPoolExecutor(READ_THREADS) as pool:
        pairs = iter(pairs)
        while window := list(itertools.islice(pairs, READ_THREADS * 16)):
            yield from pool.map(lambda pair: _manifest_keys(store, *pair), window)


def _recent_live(
    session: Session,
    store: Store,
    since: dt.datetime,
    cache: dict[tuple[str, str], list[Key]],
) -> set[Key]:
    """The keys named by versions and parts created since ``since`` (manifests read once,
    kept in ``cache``)."""
    live: set[Key] = set()
    for query in _live_manifests(since):
        for entity, digest in session.execute(query):
            if digest is None:
                continue
            if (entity, digest) not in cache:
                cache[(entity, digest)] = _manifest_keys(store, entity, digest)
            live.update(cache[(entity, digest)])
    return live


def _prepare_epoch(store: Store) -> None:
    """Make sure the ``gc_epoch`` row exists before any commit needs to hold it."""
    try:
        with store.db.write() as session:
            facts.ensure_gc_epoch(session)
    except IntegrityError:
        pass  # another process created it meanwhile


def plan_server_gc(
    store: Store,
    grace_seconds: float = DEFAULT_GRACE_SECONDS,
    progress: ProgressCallback = silent,
) -> ServerGcPlan:
    """Plan a collection of the server store of ``store`` (see the module doc).

    Raises:
        ValueError: ``grace_seconds`` is negative.
        StoreError: ``store`` has no server blob store.
        OSError / botocore errors: the store cannot be listed.
        sqlalchemy errors: the database cannot be read.
    """
    if grace_seconds < 0:
        raise ValueError(f"grace_seconds must not be negative, got {grace_seconds}")
    if store.server_blobs is None:
        raise StoreError("a server collection needs a server's blob store")
    maintenance = store.server_blobs.maintenance()
    _prepare_epoch(store)
    started = time.time()
    scratch = BlobScratch()
    try:
        with store.db.read() as session:
            for query in _live_manifests(None):
                rows = session.execute(query.execution_options(yield_per=YIELD_PER))
                pairs = ((e, d) for e, d in rows if d is not None)
                for keys in _read_all(store, pairs):
                    scratch.add_live(keys)
        begun = time.monotonic()
        count = size = 0
        for blob in scratch.add_stored(maintenance.iter_stored()):
            count, size = count + 1, size + blob.size
            if count % PROGRESS_EVERY == 0:
                progress(_event("Listing the store", count, count, size, size, begun))
        progress(_event("Listing the store", count, count, size, size, begun, True))
        staging = list(maintenance.iter_staging(max(grace_seconds, STAGING_AGE_SECONDS)))
        files, total = scratch.unreferenced_totals(started - grace_seconds)
    except BaseException:
        scratch.close()
        raise
    return ServerGcPlan(
        store=store,
        maintenance=maintenance,
        scratch=scratch,
        grace_seconds=grace_seconds,
        started=started,
        files=files,
        bytes=total,
        staging=staging,
    )


__all__ = ["ServerGcPlan", "ServerGcResult", "plan_server_gc"]
