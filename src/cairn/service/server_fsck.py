"""Check a server's store (directory or S3): every committed version can be read back.

``check_server_store(store, read_data)`` lists the store once, streamed into a temporary
SQLite file (``blob_scratch``: a bucket of 10 million blobs is never held in memory), then
walks the committed versions: a version whose manifest blob is missing or unreadable, and
a stored entry whose blob is missing or has another size than its manifest says, is a
problem named by the version, the entry's path and the blob. With ``read_data`` every
listed blob is then verified object by object (S3: its ETag when that is the MD5 of a
single-part object, else its bytes re-hashed; a directory: re-hashed) and a blob whose
bytes no longer match its name is a problem naming its key or path. A row of the record
of stored blobs (``blob_registry``, S3 only) older than the listing whose blob the listing
lacks is a problem too: commits trust that record, so they would accept the missing blob.
A file stored as chunks (issue 24) counts as stored when its chunk list is listed; with
``read_data`` each chunk is checked against its id, each list against its own checksum,
and each list's file is reassembled and its MD5 checked, a problem naming the first
missing or corrupt chunk. Nothing is repaired. Progress is reported per version and per
verified blob.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from cairn.core.digest import MD5, b64_to_hex, hex_to_b64, new_hasher
from cairn.core.manifest import Manifest
from cairn.db.models import STATE_COMMITTED, Collection, Entity, Project, StoredBlob, Version
from cairn.errors import CorruptionError, StoreError
from cairn.progress import ProgressCallback, ProgressEvent, silent
from cairn.service.blob_scratch import BlobScratch
from cairn.service.fsck import FsckReport
from cairn.service.resources import MANIFEST_ALGORITHM, Store
from cairn.storage.blobstores.chunk_area import LIST_KIND
from cairn.storage.blobstores.maintenance import CHUNK_KINDS

if TYPE_CHECKING:
    from collections.abc import Iterator

    from cairn.storage.blobstores.maintenance import Maintenance, StoredObject

PROGRESS_EVERY = 100
YIELD_PER = 1000  # rows fetched at a time (a server-side cursor on PostgreSQL)


def _versions(store: Store) -> Iterator[tuple[str, str, int, str]]:
    """``(entity, "entity/project/collection", index, manifest digest)`` of every
    committed version, in commit order."""
    query = (
        select(Entity.name, Project.name, Collection.name, Version.index, Version.manifest_digest)
        .join(Collection, Version.collection_id == Collection.id)
        .join(Project, Collection.project_id == Project.id)
        .join(Entity, Project.entity_id == Entity.id)
        .where(Version.state == STATE_COMMITTED)
        .order_by(Version.id)
        .execution_options(yield_per=YIELD_PER)
    )
    with store.db.read() as session:
        for entity, project, collection, index, digest in session.execute(query):
            yield entity, f"{entity}/{project}/{collection}", index, digest


def _version_count(store: Store) -> int:
    with store.db.read() as session:
        query = select(func.count()).select_from(Version).where(Version.state == STATE_COMMITTED)
        return int(session.execute(query).scalar_one())


def _check_version(
    store: Store, scratch: BlobScratch, report: FsckReport, version: tuple[str, str, int, str]
) -> None:
    entity, collection, index, manifest_digest = version
    name = f"{collection}:v{index}"
    report.versions_checked += 1
    try:
        key = (entity, MANIFEST_ALGORITHM, b64_to_hex(manifest_digest))
    except ValueError:
        report.problems.append(f"{name}: manifest digest {manifest_digest!r} is invalid")
        return
    stored = scratch.find(key)
    if stored is None:
        report.problems.append(f"{name}: manifest blob {manifest_digest} is missing")
        return
    try:
        manifest = Manifest.from_json(
            store.blobs_of(entity).read_bytes(manifest_digest, MANIFEST_ALGORITHM)
        )
    except (KeyError, FileNotFoundError):
        report.problems.append(f"{name}: manifest blob {manifest_digest} is missing")
        return
    except ValueError as exc:
        report.problems.append(f"{name}: manifest {manifest_digest} cannot be parsed: {exc}")
        return
    for path, entry in manifest.entries.items():
        if entry.ref is not None:
            continue
        report.entries_checked += 1
        algorithm = entry.algorithm()
        try:
            blob = scratch.find((entity, algorithm, b64_to_hex(entry.digest)))
        except ValueError:
            report.problems.append(f"{name}: entry '{path}' has an invalid digest {entry.digest!r}")
            continue
        if blob is None and algorithm == MD5:  # or stored as chunks
            blob = scratch.find((entity, LIST_KIND, b64_to_hex(entry.digest)))
            if blob is not None:
                continue  # its chunks are checked with its list (``_verify_chunked``)
        if blob is None:
            report.problems.append(
                f"{name}: blob {algorithm} {entry.digest} of '{path}' is missing"
            )
        elif entry.size is not None and blob.size != entry.size:
            report.problems.append(
                f"{name}: blob {blob.name} of '{path}' has {blob.size} bytes, "
                f"its manifest says {entry.size}"
            )


def _check_record(store: Store, scratch: BlobScratch, report: FsckReport, before: float) -> None:
    """Rows of the record of stored blobs, written before ``before``, whose blob the
    listing lacks."""
    moment = dt.datetime.fromtimestamp(before, dt.UTC)
    query = (
        select(StoredBlob.entity, StoredBlob.algorithm, StoredBlob.digest)
        .where(StoredBlob.created_at < moment)
        .execution_options(yield_per=YIELD_PER)
    )
    with store.db.read() as session:
        for entity, algorithm, digest in session.execute(query):
            try:
                hex_digest = digest if algorithm in CHUNK_KINDS else b64_to_hex(digest)
                key = (entity, algorithm, hex_digest)
            except ValueError:
                key = None
            if key is None or scratch.find(key) is None:
                report.problems.append(
                    f"the record of stored blobs lists {entity} {algorithm} {digest}, "
                    "which the store lacks (commits naming it would be accepted)"
                )


def _verify_chunked(store: Store, blob: StoredObject, report: FsckReport) -> None:
    """Reassemble the file a chunk list names and check its MD5; a problem names the
    first chunk that is missing or corrupt, or the file."""
    assert store.server_blobs is not None
    md5 = hex_to_b64(blob.hex_digest)
    hasher = new_hasher(MD5)
    try:
        for piece in store.server_blobs.chunks(blob.entity).iter_file(md5):
            hasher.update(piece)
    except KeyError as exc:
        report.problems.append(f"chunked file {blob.entity} {md5} ({blob.name}): {exc.args[0]}")
        return
    except CorruptionError as exc:
        report.problems.append(f"chunked file {blob.entity} {md5} ({blob.name}): {exc}")
        return
    if hasher.hexdigest() != blob.hex_digest:
        report.problems.append(
            f"chunked file {blob.entity} {md5} ({blob.name}) reassembles to another MD5"
        )


def _verify(
    store: Store,
    maintenance: Maintenance,
    scratch: BlobScratch,
    report: FsckReport,
    progress: ProgressCallback,
) -> None:
    total, total_bytes = scratch.stored_totals()
    begun = time.monotonic()
    done_bytes = 0
    for blob in scratch.stored():
        report.blobs_verified += 1
        done_bytes += blob.size
        try:
            intact = maintenance.verify(blob)
        except OSError as exc:
            report.problems.append(f"blob {blob.name} cannot be read: {exc}")
            intact = True
        if not intact:
            report.problems.append(
                f"blob {blob.name} is corrupt: its content does not match its name"
            )
        elif blob.algorithm == LIST_KIND:
            _verify_chunked(store, blob, report)
        progress(
            ProgressEvent(
                "Verifying blobs",
                report.blobs_verified,
                total,
                done_bytes,
                total_bytes,
                started=begun,
            )
        )
    progress(
        ProgressEvent(
            "Verifying blobs",
            report.blobs_verified,
            total,
            done_bytes,
            total_bytes,
            done=True,
            started=begun,
        )
    )


def check_server_store(
    store: Store, read_data: bool, progress: ProgressCallback = silent
) -> FsckReport:
    """Check the server store of ``store`` (see the module doc).

    Raises:
        StoreError: ``store`` has no server blob store.
        OSError / botocore errors: the store cannot be listed.
        sqlalchemy errors: the database cannot be read.
    """
    if store.server_blobs is None:
        raise StoreError("a server check needs a server's blob store")
    maintenance = store.server_blobs.maintenance()
    scratch = BlobScratch()
    try:
        listed = time.time()
        for _blob in scratch.add_stored(maintenance.iter_stored()):
            pass
        report = FsckReport()
        total = _version_count(store)
        begun = time.monotonic()
        for version in _versions(store):
            _check_version(store, scratch, report, version)
            if report.versions_checked % PROGRESS_EVERY == 0:
                progress(
                    ProgressEvent(
                        "Checking versions", report.versions_checked, total, 0, 0, started=begun
                    )
                )
        progress(
            ProgressEvent(
                "Checking versions",
                report.versions_checked,
                total,
                0,
                0,
                done=True,
                started=begun,
            )
        )
        _check_record(store, scratch, report, listed)
        if read_data:
            _verify(store, maintenance, scratch, report, progress)
        return report
    finally:
        scratch.close()
