"""A server's record of the blobs its S3 store holds (table ``stored_blob``).

Asking an S3 bucket whether a blob is there costs a request (two when a finished upload
may be waiting under ``incoming/``), and moto or a remote bucket serve only so many per
second, so a server that asked the bucket for each of 20,000 files spent most of a log
on it. The S3 store (``cairn.storage.blobstores.s3``) therefore records each blob at the
moment it is in the bucket under its final key (an upload promoted after its check, a
batch or multipart upload, the server's own writes) through this class, and trusts the
record afterwards. What is not recorded (blobs stored before the record existed) is
checked against the bucket as before and recorded when found.

The storage layer cannot reach the database, so it only knows the ``BlobRecord``
protocol (``cairn.storage.blobstores.interface``); this is its implementation over the server's
database. The garbage collector (``cairn.service.server_gc``) drops the rows of the blobs
it deletes (``forget``), holding the lock that keeps commits out meanwhile.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from cairn.db.models import StoredBlob, utcnow

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.orm import Session

    from cairn.db.engine import Database

_CHUNK = 500  # digests per query (well under every database's parameter limit)


class BlobRegistry:
    """The ``stored_blob`` rows of one database (thread-safe: one session per call)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def recorded(self, entity: str, blobs: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        """The ``(digest, algorithm)`` pairs of ``blobs`` recorded as stored for ``entity``.

        Raises: sqlalchemy errors (database unreachable).
        """
        wanted = set(blobs)
        found: set[tuple[str, str]] = set()
        digests = sorted({digest for digest, _algorithm in wanted})
        with self._db.read() as session:
            for start in range(0, len(digests), _CHUNK):
                rows = session.execute(
                    select(StoredBlob.digest, StoredBlob.algorithm).where(
                        StoredBlob.entity == entity,
                        StoredBlob.digest.in_(digests[start : start + _CHUNK]),
                    )
                )
                found.update((digest, algorithm) for digest, algorithm in rows)
        return found & wanted

    def record(self, entity: str, blobs: Sequence[tuple[str, str, int]]) -> None:
        """Record ``(digest, algorithm, size)`` blobs as stored for ``entity`` (in one
        transaction; blobs already recorded are left as they are).

        Raises: sqlalchemy errors (database unreachable or not writable).
        """
        if not blobs:
            return
        now = utcnow()
        unique = {(digest, algorithm): size for digest, algorithm, size in blobs}
        rows = [
            {"entity": entity, "algorithm": a, "digest": d, "size": s, "created_at": now}
            for (d, a), s in sorted(unique.items())
        ]
        with self._db.write() as session:
            dialect = session.get_bind().dialect.name
            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            for start in range(0, len(rows), _CHUNK):
                statement = insert(StoredBlob).on_conflict_do_nothing(
                    index_elements=["entity", "algorithm", "digest"]
                )
                session.execute(statement, rows[start : start + _CHUNK])


def forget(session: Session, entity: str, blobs: Sequence[tuple[str, str]]) -> None:
    """Drop the rows of the ``(digest, algorithm)`` blobs of ``entity`` in the write
    transaction ``session`` (the garbage collector deleted those blobs).

    Raises: sqlalchemy errors (database unreachable or not writable).
    """
    by_algorithm: dict[str, list[str]] = {}
    for digest, algorithm in blobs:
        by_algorithm.setdefault(algorithm, []).append(digest)
    for algorithm, digests in by_algorithm.items():
        for start in range(0, len(digests), _CHUNK):
            session.execute(
                delete(StoredBlob).where(
                    StoredBlob.entity == entity,
                    StoredBlob.algorithm == algorithm,
                    StoredBlob.digest.in_(digests[start : start + _CHUNK]),
                )
            )
