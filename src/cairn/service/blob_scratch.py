"""A temporary SQLite file for the server's maintenance jobs: blob listings too large for
memory.

A bucket of 10 million blobs lists as 10 million keys; the garbage collector and the
checker stream that listing, and the blobs live versions need, into this file and ask it
the questions they would ask of two sets (which stored blobs nothing needs, whether a blob
is stored and how large it is), so their memory stays flat whatever the store holds. The
file lives in its own temporary directory and is removed by ``close()``.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from cairn.storage.blobstores.maintenance import StoredObject

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

Key = tuple[str, str, str]  # (entity, algorithm, hex digest)
_BATCH = 10_000  # rows inserted per statement batch


class BlobScratch:
    """Two tables: ``stored`` (the listing) and ``live`` (keys live versions need)."""

    def __init__(self) -> None:
        """Raises: OSError (no temporary directory can be made)."""
        self._dir = Path(tempfile.mkdtemp(prefix="cairn-maintenance-"))
        self._db = sqlite3.connect(self._dir / "scratch.db", check_same_thread=False)
        self._db.executescript(
            """
            PRAGMA journal_mode = OFF;
            PRAGMA synchronous = OFF;
            CREATE TABLE stored (
                entity TEXT, algorithm TEXT, hex TEXT, size INTEGER, modified REAL,
                name TEXT, etag TEXT, PRIMARY KEY (entity, algorithm, hex)
            ) WITHOUT ROWID;
            CREATE TABLE live (
                entity TEXT, algorithm TEXT, hex TEXT, PRIMARY KEY (entity, algorithm, hex)
            ) WITHOUT ROWID;
            """
        )

    def add_stored(self, blobs: Iterable[StoredObject]) -> Iterator[StoredObject]:
        """Record ``blobs`` (streamed), yielding each once recorded (for progress)."""
        batch: list[tuple[object, ...]] = []
        for blob in blobs:
            batch.append(
                (
                    blob.entity,
                    blob.algorithm,
                    blob.hex_digest,
                    blob.size,
                    blob.modified,
                    blob.name,
                    blob.etag,
                )
            )
            if len(batch) >= _BATCH:
                self._insert("stored", batch)
                batch = []
            yield blob
        self._insert("stored", batch)

    def add_live(self, keys: Iterable[Key]) -> None:
        """Record ``keys`` as needed by a live version."""
        batch: list[tuple[object, ...]] = []
        for key in keys:
            batch.append(key)
            if len(batch) >= _BATCH:
                self._insert("live", batch)
                batch = []
        self._insert("live", batch)

    def _insert(self, table: str, rows: list[tuple[object, ...]]) -> None:
        if not rows:
            return
        marks = ",".join("?" * len(rows[0]))
        self._db.executemany(f"INSERT OR IGNORE INTO {table} VALUES ({marks})", rows)
        self._db.commit()

    def unreferenced(self, written_before: float) -> Iterator[StoredObject]:
        """Stored blobs no live key names, last written before ``written_before``."""
        query = (
            "SELECT s.* FROM stored s LEFT JOIN live l USING (entity, algorithm, hex) "
            "WHERE l.hex IS NULL AND s.modified < ? ORDER BY s.entity, s.algorithm, s.hex"
        )
        for row in self._db.execute(query, (written_before,)):
            yield StoredObject(*row)

    def unreferenced_totals(self, written_before: float) -> tuple[int, int]:
        """How many blobs ``unreferenced`` yields, and their bytes."""
        query = (
            "SELECT COUNT(*), COALESCE(SUM(s.size), 0) FROM stored s LEFT JOIN live l "
            "USING (entity, algorithm, hex) WHERE l.hex IS NULL AND s.modified < ?"
        )
        count, size = self._db.execute(query, (written_before,)).fetchone()
        return int(count), int(size)

    def stored(self) -> Iterator[StoredObject]:
        """Every recorded stored blob."""
        for row in self._db.execute("SELECT * FROM stored ORDER BY entity, algorithm, hex"):
            yield StoredObject(*row)

    def stored_totals(self) -> tuple[int, int]:
        """How many stored blobs were recorded, and their bytes."""
        query = "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM stored"
        count, size = self._db.execute(query).fetchone()
        return int(count), int(size)

    def find(self, key: Key) -> StoredObject | None:
        """The stored blob ``key``, or None."""
        row = self._db.execute(
            "SELECT * FROM stored WHERE entity = ? AND algorithm = ? AND hex = ?", key
        ).fetchone()
        return None if row is None else StoredObject(*row)

    def close(self) -> None:
        """Remove the file."""
        self._db.close()
        shutil.rmtree(self._dir, ignore_errors=True)
