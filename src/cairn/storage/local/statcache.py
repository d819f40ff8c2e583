"""The stat cache: (path, size, mtime, inode, ctime) -> digest; unchanged files are not re-read.

Re-versioning a folder would otherwise hash every file again (DESIGN §6). The cache is
its own SQLite file (``$CAIRN_DIR/statcache.db``), apart from the store's database: it is
an optimisation only, so losing it costs a re-read, never correctness.

It keeps one *folder snapshot* per folder ingested as a batch (``folder_snapshots``: a
file each, in ``statcache.snapshots`` beside the database), and one row per file of the
batches too big for a snapshot.

A hit needs the same size, ``mtime_ns``, inode and ``ctime_ns`` as when the file was
hashed, and a file modified shortly before the moment it was hashed is never trusted (git's
"racily clean" rule): with a coarse file-system clock, a write in the same tick as the hash
would leave every stat field unchanged. How shortly depends on the clock the file's times
show: whole seconds (ext3, HFS+, FAT's two seconds) need ``RACY_SECONDS``; finer times
(ext4, XFS, btrfs, NTFS: the kernel's clock tick, at most 10 ms) ``FINE_RACY_SECONDS``.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from itertools import compress
from typing import TYPE_CHECKING

from cairn.errors import StoreError
from cairn.sqlite_wal import enter_wal_mode
from cairn.storage.local.folder_snapshots import FolderSnapshot, SnapshotFiles

if TYPE_CHECKING:
    from array import array
    from collections.abc import Iterable, Sequence
    from pathlib import Path

STATCACHE_FILE = "statcache.db"
RACY_SECONDS = 2.0  # above the coarsest common timestamp granularity (1-2 s on ext3, FAT)
FINE_RACY_SECONDS = 0.1  # above the kernel's clock tick (1-10 ms) for sub-second times
_NS = 1_000_000_000
_SCHEMA = """
CREATE TABLE IF NOT EXISTS stat_cache (
    path TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    ctime_ns INTEGER NOT NULL,
    hashed_ns INTEGER NOT NULL,
    digest TEXT NOT NULL,
    PRIMARY KEY (path, algorithm)
) WITHOUT ROWID;
DROP TABLE IF EXISTS folder_snapshot;
"""

# (size, mtime_ns, inode, ctime_ns)
StatKey = tuple[int, int, int, int]


def stat_key(info: os.stat_result) -> StatKey:
    """The fields a cached digest is tied to."""
    return info.st_size, info.st_mtime_ns, info.st_ino, info.st_ctime_ns


class StatCache:
    """A persistent map from a file's path and stat fields to its digest; thread-safe."""

    def __init__(
        self,
        path: Path,
        racy_seconds: float | None = None,
        fine_racy_seconds: float | None = None,
    ) -> None:
        """Open (creating if needed) the cache file at ``path``; entries whose file changed
        (mtime or ctime) less than ``racy_seconds`` (default ``RACY_SECONDS``) before it
        was hashed are not trusted, or less than ``fine_racy_seconds`` (default
        ``FINE_RACY_SECONDS``) if its times are not whole seconds.

        Raises:
            StoreError: the file cannot be opened or is not a usable SQLite database.
        """
        self.path = path
        self._snapshots = SnapshotFiles(path.with_name(f"{path.stem}.snapshots"))
        racy = RACY_SECONDS if racy_seconds is None else racy_seconds
        fine = FINE_RACY_SECONDS if fine_racy_seconds is None else fine_racy_seconds
        self._racy_ns = int(racy * 1e9)
        self._fine_racy_ns = min(self._racy_ns, int(fine * 1e9))
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(path, timeout=60, check_same_thread=False)
            enter_wal_mode(self._db, timeout=60)
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            self._db.commit()
        except sqlite3.Error as exc:
            raise StoreError(
                f"Cannot open the stat cache '{path}': {exc}", context={"path": str(path)}
            ) from exc

    def lookup(self, paths: Sequence[str], algorithm: str) -> dict[str, tuple[StatKey, str]]:
        """Cached ``(stat key, digest)`` of each of ``paths`` (absolute) that has a
        trustworthy entry; the caller compares the stat key with a fresh ``os.stat``.

        Raises:
            StoreError: the cache cannot be read.
        """
        if not paths:
            return {}
        # Only the rows whose path starts as all of ``paths`` do (a range of the primary
        # key): the cache also holds every other folder ever added.
        low = os.path.commonprefix([min(paths), max(paths)])  # noqa: RUF071 - a string range
        high = low + "\U0010ffff"
        try:
            with self._lock:
                # The racy-entry rule is applied by SQLite, so Python only sees usable rows.
                rows = self._db.execute(
                    "SELECT path, size, mtime_ns, inode, ctime_ns, digest FROM stat_cache "
                    "WHERE path >= ? AND path <= ? AND algorithm = ? "
                    "AND hashed_ns - max(mtime_ns, ctime_ns) > CASE "
                    "WHEN mtime_ns % ? = 0 AND ctime_ns % ? = 0 THEN ? ELSE ? END",
                    (low, high, algorithm, _NS, _NS, self._racy_ns, self._fine_racy_ns),
                ).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"Cannot read the stat cache '{self.path}': {exc}") from exc
        if not rows:  # the common case since folder snapshots: no set of a million paths
            return {}
        wanted = set(paths)
        return {
            path: ((size, mtime_ns, inode, ctime_ns), digest)
            for path, size, mtime_ns, inode, ctime_ns, digest in rows
            if path in wanted
        }

    def record(self, items: Iterable[tuple[str, StatKey, str]], algorithm: str) -> None:
        """Remember ``(absolute path, stat key taken before hashing, digest)`` items
        (consumed as they are written: a generator keeps a million rows out of memory).

        Raises:
            StoreError: the cache cannot be written.
        """
        now = time.time_ns()
        rows = ((path, algorithm, *key, now, digest) for path, key, digest in items)
        try:
            with self._lock, self._db:
                self._db.executemany(
                    "INSERT OR REPLACE INTO stat_cache "
                    "(path, algorithm, size, mtime_ns, inode, ctime_ns, hashed_ns, digest) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
        except sqlite3.Error as exc:
            raise StoreError(f"Cannot write the stat cache '{self.path}': {exc}") from exc

    def snapshot(self, folder: str, algorithm: str) -> FolderSnapshot | None:
        """The snapshot last recorded for ``folder`` (see ``snapshot_folder``), or None.
        Raises nothing (a snapshot that cannot be read is absent)."""
        return self._snapshots.read(folder, algorithm)

    def record_snapshot(self, folder: str, algorithm: str, snapshot: FolderSnapshot) -> None:
        """Store ``snapshot`` as ``folder``'s, replacing the previous one.

        Raises:
            StoreError: the snapshot cannot be written.
        """
        try:
            self._snapshots.write(folder, algorithm, snapshot)
        except OSError as exc:
            raise StoreError(f"Cannot write a folder snapshot of '{self.path}': {exc}") from exc

    def untrusted(self, hashed_ns: int, mtimes: array[int], ctimes: array[int]) -> list[int]:
        """The positions of the files, given by their ``mtime_ns`` and ``ctime_ns``, whose
        digest taken at ``hashed_ns`` must not be trusted (see the module doc)."""
        coarse_until = hashed_ns - self._racy_ns
        if max(mtimes, default=0) <= coarse_until and max(ctimes, default=0) <= coarse_until:
            return []  # the common case: nothing changed shortly before the hash
        fine_until = hashed_ns - self._fine_racy_ns
        # The few files changed within the coarse window, found without a Python step per
        # file (a folder re-versioned right after an edit has one).
        after = coarse_until.__lt__
        positions = range(len(mtimes))
        recent = {
            *compress(positions, map(after, mtimes)),
            *compress(positions, map(after, ctimes)),
        }
        return [
            index
            for index in sorted(recent)
            if max(mtimes[index], ctimes[index]) > fine_until
            or (mtimes[index] % _NS == 0 and ctimes[index] % _NS == 0)
        ]

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()
