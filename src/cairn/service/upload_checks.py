"""The content check of large uploads to a server's S3 store, off the request path.

S3 assembles a multipart upload only if every part matches the MD5 its client declared,
but that says nothing of the whole file, and a multipart ETag is no MD5: before the
assembled object may become a blob it is read in full and hashed (and then copied to its
final key). For a 2 GiB file on a real bucket that takes longer than the official wandb
client gives a request (about 30 s), so it happens neither in the completion nor in the
commit that names the file:

- completing a multipart upload ``queue``\\ s the assembled object's staging key (a row
  of ``upload_check``) and answers at once (the wandb facade), or waits a bounded time
  for the result (``complete_multipart``, the REST API, whose client waits minutes);
- a worker in every app process (``cairn.server.upload_checker``) ``claim``\\ s queued
  checks: the database decides who takes which (a conditional update that sets a lease;
  PostgreSQL skips rows locked by another process), so each upload is read once; the
  lease is renewed while the object is read, and a check whose process died is taken
  over when its lease runs out. ``run`` verifies, promotes and records the blob
  (``StagedUploads.verify_staged``) and deletes the row; bytes that do not match leave a
  ``failed`` row (kept a day so the commit can say why) and nothing stored;
- the commit (``settle``) finds a blob that is not stored yet but has a queued check,
  waits for it a bounded time, and otherwise refuses with ``NotReadyError`` (HTTP 503 and
  ``Retry-After``, which both clients retry); once the check is done the blob is in the
  server's record, so the commit reads and copies no object bytes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import secrets
import threading
import time
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, and_, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from cairn.db.models import UploadCheck, utcnow
from cairn.errors import CommError, CorruptionError, NotFoundError, NotReadyError

if TYPE_CHECKING:
    from collections.abc import Callable, Set

    from cairn.service.blob_access import BlobGrant
    from cairn.service.resources import Store
    from cairn.storage.blobstores.interface import StagedUploads

log = logging.getLogger(__name__)

QUEUED = "queued"
FAILED = "failed"
LEASE_SECONDS = 120.0  # a claimed check is another process's to take after this
RENEW_SECONDS = 30.0  # how often a check under way renews its lease
MAX_ATTEMPTS = 5  # checks that fail for other reasons (the bucket unreachable) before giving up
FAILED_KEEP = dt.timedelta(days=1)
COMMIT_WAIT_SECONDS = 20.0  # below the official client's ~30 s request timeout
COMPLETE_WAIT_SECONDS = 120.0  # the REST client waits up to 300 s for an answer
RETRY_AFTER_SECONDS = 5
_POLL_SECONDS = 0.2
_queued = threading.Event()  # set when this process queues a check: wakes its workers

Blob = tuple[str, str]  # (digest, algorithm)


class Interrupted(Exception):
    """A check under way was given up: its lease was lost, or its worker is stopping."""


@dataclasses.dataclass(frozen=True)
class Job:
    """A queued check claimed by one worker (``token``) until its lease runs out."""

    id: int
    entity: str
    digest: str
    algorithm: str
    staged_key: str
    token: str


def staging_of(store: Store) -> StagedUploads | None:
    """The staging area where uploads to ``store`` wait for their check, None when there
    is none (a directory store checks each upload as it is received)."""
    server = store.server_blobs
    return None if server is None else server.staged_uploads()


def queue(store: Store, entity: str, digest: str, algorithm: str, staged_key: str) -> None:
    """Queue the check of the object at ``staged_key``, an upload of the blob ``digest``
    of ``entity`` (again, if an earlier upload to that key failed its check; a check
    queued already stays as it is), and wake this process's workers.

    Raises: sqlalchemy errors (database unreachable).
    """
    row = {
        "entity": entity,
        "algorithm": algorithm,
        "digest": digest,
        "staged_key": staged_key,
        "state": QUEUED,
        "attempts": 0,
        "created_at": utcnow(),
    }
    with store.db.write() as session:
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = insert(UploadCheck).values(row)
        statement = statement.on_conflict_do_update(
            index_elements=["staged_key"],
            set_={"state": QUEUED, "token": None, "lease_until": None, "attempts": 0},
            where=UploadCheck.state == FAILED,
        )
        session.execute(statement)
    _queued.set()


def wait_for_work(timeout: float) -> None:
    """Return when this process queues a check (or ``wake`` is called), or after
    ``timeout`` seconds."""
    _queued.wait(timeout)
    _queued.clear()


def wake() -> None:
    """End the ``wait_for_work`` of this process's workers now (e.g. to stop them)."""
    _queued.set()


def claim(store: Store) -> Job | None:
    """Take the oldest queued check nobody holds (a lease of ``LEASE_SECONDS``); None
    when there is none. Raises: sqlalchemy errors."""
    now = utcnow()
    free = or_(UploadCheck.lease_until.is_(None), UploadCheck.lease_until < now)
    token = secrets.token_hex(16)
    with store.db.write() as session:
        row = session.execute(
            select(UploadCheck)
            .where(UploadCheck.state == QUEUED, free)
            .order_by(UploadCheck.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        ).scalar_one_or_none()
        if row is None:
            return None
        taken = session.execute(
            update(UploadCheck)
            .where(UploadCheck.id == row.id, UploadCheck.state == QUEUED, free)
            .values(
                token=token,
                lease_until=now + dt.timedelta(seconds=LEASE_SECONDS),
                attempts=UploadCheck.attempts + 1,
            )
        )
        if getattr(taken, "rowcount", 0) != 1:  # another process took it meanwhile
            return None
        return Job(row.id, row.entity, row.digest, row.algorithm, row.staged_key, token)


def run(store: Store, job: Job, stopping: Callable[[], bool] = lambda: False) -> bool:
    """Check the claimed upload: on a match the blob is promoted and recorded and the
    check is done; else it is ``failed`` and the object deleted. A failure of the bucket
    or the database leaves it queued for a later attempt (failed after ``MAX_ATTEMPTS``).
    ``stopping`` is asked while the object is read: when it answers True the check is
    given up and left for any worker to take. Returns whether the blob is now stored.

    Raises: Interrupted (the lease was lost or ``stopping``: the check is left queued),
    sqlalchemy errors (the outcome could not be written: the lease runs out and the check
    is taken again).
    """
    server = staging_of(store)
    if server is None:
        _finish(store, job, "this server's store has no staging area")
        return False
    renewed = time.monotonic()

    def keepalive() -> None:
        nonlocal renewed
        if stopping():
            _release(store, job, retry_in=0.0)
            raise Interrupted("the worker is stopping")
        if time.monotonic() - renewed >= RENEW_SECONDS:
            _renew(store, job)
            renewed = time.monotonic()

    try:
        size = server.verify_staged(
            job.entity, job.digest, job.algorithm, job.staged_key, keepalive
        )
    except Interrupted:
        raise
    except KeyError:
        _finish(store, job, "the uploaded object is gone; upload the file again")
        return False
    except Exception as exc:
        log.warning("checking upload %s failed: %s", job.staged_key, exc)
        _release(store, job, retry_in=RETRY_AFTER_SECONDS, error=str(exc))
        return False
    if size is None:
        log.warning("upload %s does not match %s %s", job.staged_key, job.algorithm, job.digest)
        _finish(store, job, f"the uploaded bytes do not match {job.algorithm} {job.digest}")
        return False
    _finish(store, job, None)
    return True


def _mine(job: Job) -> ColumnElement[bool]:
    """The job's row, while this worker holds it."""
    return and_(UploadCheck.id == job.id, UploadCheck.token == job.token)


def _renew(store: Store, job: Job) -> None:
    """Extend the job's lease. Raises: Interrupted (another worker holds it now)."""
    until = utcnow() + dt.timedelta(seconds=LEASE_SECONDS)
    with store.db.write() as session:
        renewed = session.execute(update(UploadCheck).where(_mine(job)).values(lease_until=until))
        if getattr(renewed, "rowcount", 0) != 1:
            raise Interrupted("the check's lease was taken over")


def _release(store: Store, job: Job, retry_in: float, error: str | None = None) -> None:
    """Leave the check queued for another attempt in ``retry_in`` seconds (``failed`` once
    it has had ``MAX_ATTEMPTS``)."""
    until = utcnow() + dt.timedelta(seconds=retry_in)
    with store.db.write() as session:
        if error is not None:  # while the row is still this worker's (``_mine``)
            session.execute(
                update(UploadCheck)
                .where(_mine(job), UploadCheck.attempts >= MAX_ATTEMPTS)
                .values(state=FAILED)
            )
        session.execute(
            update(UploadCheck).where(_mine(job)).values(token=None, lease_until=until, error=error)
        )


def _finish(store: Store, job: Job, failure: str | None) -> None:
    """Done: delete the check (``failure`` None), or mark it failed with that reason."""
    with store.db.write() as session:
        if failure is None:
            session.execute(delete(UploadCheck).where(UploadCheck.id == job.id))
        else:
            session.execute(
                update(UploadCheck)
                .where(UploadCheck.id == job.id)
                .values(state=FAILED, token=None, lease_until=None, error=failure)
            )


def purge_failed(store: Store) -> int:
    """Delete failed checks older than ``FAILED_KEEP``; how many. Raises: sqlalchemy errors."""
    before = utcnow() - FAILED_KEEP
    with store.db.write() as session:
        gone = session.execute(
            delete(UploadCheck).where(UploadCheck.state == FAILED, UploadCheck.created_at < before)
        )
        return int(getattr(gone, "rowcount", 0) or 0)


def _states(store: Store, entity: str, blobs: Set[Blob]) -> dict[Blob, set[str]]:
    """The states of the checks of ``blobs`` in ``entity`` (blobs with none are absent)."""
    digests = sorted({digest for digest, _algorithm in blobs})
    found: dict[Blob, set[str]] = {}
    with store.db.read() as session:
        for start in range(0, len(digests), 500):
            rows = session.execute(
                select(UploadCheck.digest, UploadCheck.algorithm, UploadCheck.state).where(
                    UploadCheck.entity == entity,
                    UploadCheck.digest.in_(digests[start : start + 500]),
                )
            )
            for digest, algorithm, state in rows:
                if (digest, algorithm) in blobs:
                    found.setdefault((digest, algorithm), set()).add(state)
    return found


def settle(
    store: Store, entity: str, missing: Set[Blob], wait: float | None = None
) -> tuple[set[Blob], set[Blob]]:
    """Of the blobs ``missing`` from ``entity``'s area, those still missing once the
    checks queued for them are done (waiting up to ``wait`` seconds, by default
    ``COMMIT_WAIT_SECONDS``), and of these the ones whose upload failed its check. Blobs
    checked meanwhile are in the server's record, so asking for them again reads no
    object.

    Raises: NotReadyError (a check still under way after ``wait``: nothing was done, the
    caller may repeat the request after its ``retry_after``), sqlalchemy and botocore
    errors.
    """
    if not missing:
        return set(), set()
    deadline = time.monotonic() + (COMMIT_WAIT_SECONDS if wait is None else wait)
    states = _states(store, entity, missing)
    while any(QUEUED in found for found in states.values()):
        if time.monotonic() >= deadline:
            pending = sum(QUEUED in found for found in states.values())
            raise NotReadyError(
                f"the content of {pending} large uploaded file(s) is still being verified; "
                f"send the request again in {RETRY_AFTER_SECONDS} s",
                retry_after=RETRY_AFTER_SECONDS,
            )
        time.sleep(_POLL_SECONDS)
        states = _states(store, entity, missing)
    # Asked again even when no check was seen: one may have finished since ``missing``.
    still = store.blobs_of(entity).missing(sorted(missing))
    failed = {blob for blob in still if FAILED in states.get(blob, set())}
    return still, failed


def complete_multipart(
    store: Store,
    grant: BlobGrant,
    digest: str,
    algorithm: str,
    size: int,
    upload_id: str,
    wait: float | None = None,
) -> None:
    """Complete a multipart upload of the REST API for ``grant`` (leave to write): the
    store assembles it, and an object still to be checked is queued and waited for up to
    ``wait`` seconds (by default ``COMPLETE_WAIT_SECONDS``). Completing again waits for the
    same check.

    Raises: NotFoundError (unknown upload), CommError (parts missing), CorruptionError
    (the bytes do not match ``digest``: nothing is stored), NotReadyError (the check is
    still under way after ``wait``; the completion may be repeated), botocore and
    sqlalchemy errors.
    """
    blob = (digest, algorithm)
    try:
        staged = grant.server.complete_multipart(grant.entity, digest, algorithm, size, upload_id)
    except NotFoundError:
        if FAILED in _states(store, grant.entity, {blob}).get(blob, set()):
            raise _mismatch(digest, algorithm) from None
        raise
    if staged is None:
        return
    queue(store, grant.entity, digest, algorithm, staged)
    waited = COMPLETE_WAIT_SECONDS if wait is None else wait
    still, failed = settle(store, grant.entity, {blob}, waited)
    if failed:
        raise _mismatch(digest, algorithm)
    if still:
        raise CommError(f"the upload of {algorithm} {digest} was not stored; upload it again")


def upload_failed(store: Store, entity: str, digest: str, algorithm: str) -> bool:
    """Whether an upload of the blob failed its check lately (within ``FAILED_KEEP``).
    Raises: sqlalchemy errors."""
    blob = (digest, algorithm)
    return FAILED in _states(store, entity, {blob}).get(blob, set())


def _mismatch(digest: str, algorithm: str) -> CorruptionError:
    return CorruptionError(
        f"the uploaded bytes do not match {algorithm} digest {digest}: nothing was stored"
    )
