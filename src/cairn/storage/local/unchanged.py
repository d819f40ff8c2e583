"""Which files of a batch are unchanged since the stat cache saw them, and their digests.

Both places that copy a folder's files use it: the embedded store (``service.ingest``)
and the remote client's staging area (``remote.transfer``). ``Survey`` stats every file
once, then fills in the digests it can trust: from the folder's snapshot (one file for
the whole batch; when nothing changed, two byte strings are compared and done), then
from the per-file rows for the files the snapshot does not cover. What a digest is worth
beyond that (is its blob still stored?) is the caller's business; ``record`` files the
batch's new snapshot (or, for a batch too big to have one, a row per file read).
"""

from __future__ import annotations

import os
import time
from array import array
from functools import partial
from itertools import compress, repeat
from operator import attrgetter, is_, itemgetter
from typing import TYPE_CHECKING, cast

from cairn.storage.local.blobs import LocalBlobStore, StoredBlob
from cairn.storage.local.folder_snapshots import SNAPSHOT_MAX_FILES, FolderSnapshot, snapshot_folder

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from pathlib import Path

    from cairn.storage.local.statcache import StatCache, StatKey

_FIRST_CHARACTER = itemgetter(slice(0, 1))
# ``StoredBlob`` from a tuple without a Python call per file (a namedtuple's own
# constructor is Python code).
_as_stored = partial(tuple.__new__, StoredBlob)
_DIGEST = attrgetter("digest")
_BLOCK = 512  # files compared at once against the snapshot's same positions


def _all_absolute(paths: list[str], joined: str) -> bool:
    """Whether every one of ``paths`` (also ``joined`` by NUL, if not empty) is absolute."""
    if joined:  # counted in C
        return joined.startswith("/") and joined.count("\0/") == len(paths) - 1
    return all(map("/".__eq__, map(_FIRST_CHARACTER, paths)))


class FileStats:
    """The stat fields of a batch, flat: a million files cost 32 MB here instead of
    ~190 MB as tuples of ints. ``fields`` holds size, mtime_ns, ctime_ns per file
    (``os.stat``, following symlinks), ``inodes`` the inodes.
    """

    def __init__(self, fields: array[int], inodes: array[int]) -> None:
        self.fields, self.inodes = fields, inodes

    @classmethod
    def of(cls, paths: Sequence[str]) -> FileStats:
        """Stat each of ``paths``. Raises OSError for a file that cannot be stat'ed."""
        fields, inodes = array("q"), array("Q")
        add_fields, add_inode, stat = fields.extend, inodes.append, os.stat
        for path in paths:
            info = stat(path)
            add_fields((info.st_size, info.st_mtime_ns, info.st_ctime_ns))
            add_inode(info.st_ino)
        return cls(fields, inodes)

    def sizes(self) -> array[int]:
        return self.fields[::3]

    def size(self, index: int) -> int:
        return self.fields[3 * index]

    def key(self, index: int) -> StatKey:
        """File ``index``'s key in the per-file rows of the stat cache."""
        size, mtime_ns, ctime_ns = self.fields[3 * index : 3 * index + 3]
        return size, mtime_ns, self.inodes[index], ctime_ns

    def same(self, index: int, fields: array[int], inodes: array[int], other: int) -> bool:
        """Whether file ``index`` has the stat fields of file ``other`` of another batch."""
        mine, theirs = 3 * index, 3 * other
        return (
            self.inodes[index] == inodes[other]
            and self.fields[mine : mine + 3] == fields[theirs : theirs + 3]
        )

    def untrusted(self, cache: StatCache, hashed_ns: int) -> list[int]:
        """The files too recently changed to trust a digest taken at ``hashed_ns``."""
        return cache.untrusted(hashed_ns, self.fields[1::3], self.fields[2::3])


class Survey:
    """One batch of files against the stat cache (see the module doc).

    ``digests[i]`` is file ``i``'s trusted digest or None; ``from_snapshot[i]`` says the
    folder snapshot gave it. ``previous`` is that snapshot (or None). ``stats`` are the
    files' ``(fields, inodes)`` as ``FileStats`` holds them, if the caller took them when
    it listed the files (before reading any); else each file is stat'ed here.

    Raises (at construction):
        OSError: a file cannot be stat'ed.
        StoreError: the stat cache cannot be read.
        ValueError: ``stats`` do not have one record per source.
    """

    def __init__(
        self,
        cache: StatCache,
        sources: Sequence[str | Path],
        algorithm: str,
        stats: tuple[array[int], array[int]] | None = None,
    ) -> None:
        self.cache, self.algorithm = cache, algorithm
        absolute = list(map(str, sources))  # a ``Path`` as ``os.fspath`` spells it
        count = len(absolute)
        # The paths as a snapshot holds them (only for a batch that has one: ~70 MB for a
        # million paths). The stat cache's keys are absolute paths.
        self.joined = "\0".join(absolute) if 0 < count <= SNAPSHOT_MAX_FILES else ""
        if not _all_absolute(absolute, self.joined):
            absolute = [os.path.abspath(path) for path in absolute]
            self.joined = "\0".join(absolute) if self.joined else ""
        self.absolute = absolute
        self.folder = snapshot_folder(self.joined) if self.joined else None
        self.previous = cache.snapshot(self.folder, algorithm) if self.folder else None
        self.stats = FileStats.of(absolute) if stats is None else FileStats(*stats)
        if len(self.stats.inodes) != count:
            raise ValueError(f"{len(self.stats.inodes)} stat records for {count} files")
        self.digests: list[str | None] = [None] * count
        self.from_snapshot = [False] * count
        if not self._all_unchanged():
            self._from_snapshot()
            self._from_file_rows()

    def _all_unchanged(self) -> bool:
        """Fill every digest from the snapshot if no file changed (the common case)."""
        previous, stats = self.previous, self.stats
        if (
            previous is None
            or previous.paths != self.joined
            or previous.fields != stats.fields
            or previous.inodes != stats.inodes
            or stats.untrusted(self.cache, previous.hashed_ns)
        ):
            return False
        self.digests = list(previous.digests)
        self.from_snapshot = [True] * len(self.digests)
        return True

    @property
    def unchanged(self) -> bool:
        """Whether every file was found unchanged in the folder snapshot."""
        return bool(self.from_snapshot) and all(self.from_snapshot)

    def unknown(self) -> list[int]:
        """The positions of the files whose digest is unknown (None)."""
        return list(compress(range(len(self.digests)), map(is_, self.digests, repeat(None))))

    def _from_snapshot(self) -> None:
        previous, stats, count = self.previous, self.stats, len(self.absolute)
        if previous is None:
            return
        untrusted = stats.untrusted(self.cache, previous.hashed_ns)
        if previous.paths == self.joined:  # the same files in the same order
            # Every digest from the snapshot but those of the files that changed, or
            # changed too recently for a matching stat to be enough.
            self.digests = list(previous.digests)
            self.from_snapshot = [True] * count
            for index in {*self._changed_in_place(previous), *untrusted}:
                self.digests[index] = None
                self.from_snapshot[index] = False
            return
        # Other files, or in another order: each is looked for by its path.
        where = {path: position for position, path in enumerate(previous.paths.split("\0"))}
        positions = [where.get(path) for path in self.absolute]
        unchanged = [
            position is not None and stats.same(index, previous.fields, previous.inodes, position)
            for index, position in enumerate(positions)
        ]
        for index in untrusted:
            unchanged[index] = False  # changed too recently: a matching stat is not enough
        known = previous.digests
        for index, position in enumerate(positions):
            if unchanged[index] and position is not None:
                self.digests[index] = known[position]
                self.from_snapshot[index] = True

    def _changed_in_place(self, previous: FolderSnapshot) -> list[int]:
        """The files whose stat fields differ from those at the same position of the
        snapshot: blocks of files are compared whole, a differing block file by file."""
        stats = self.stats
        count = len(stats.inodes)
        changed: list[int] = []
        new_fields, old_fields = stats.fields, previous.fields
        new_inodes, old_inodes = stats.inodes, previous.inodes
        for start in range(0, count, _BLOCK):
            end = min(count, start + _BLOCK)
            if (
                new_fields[3 * start : 3 * end] != old_fields[3 * start : 3 * end]
                or new_inodes[start:end] != old_inodes[start:end]
            ):
                changed.extend(
                    index
                    for index in range(start, end)
                    if not stats.same(index, old_fields, old_inodes, index)
                )
        return changed

    def _from_file_rows(self) -> None:
        unknown = self.unknown()
        if not unknown:
            return
        absolute = self.absolute
        wanted = absolute if len(unknown) == len(absolute) else [absolute[i] for i in unknown]
        cached = self.cache.lookup(wanted, self.algorithm)
        if not cached:
            return
        for index in unknown:
            hit = cached.get(self.absolute[index])
            if hit is not None and hit[0] == self.stats.key(index):
                self.digests[index] = hit[1]

    def store_unknown(
        self,
        store: LocalBlobStore,
        sources: Sequence[str | Path],
        on_progress: Callable[[int, int, int, int], None] | None = None,
        generation: str = "",
    ) -> list[StoredBlob]:
        """Ingest into ``store`` the files whose digest is unknown (None), record them
        (``record``), and return every file's blob: a known one served by the file itself.
        ``on_progress(files_done, files_total, bytes_done, bytes_total)`` counts the whole
        batch, from the calling thread.

        Raises: as ``LocalBlobStore.ingest_many``, and StoreError (the stat cache).
        """
        stats, total, algorithm = self.stats, len(sources), self.algorithm
        sizes = stats.sizes()
        todo = self.unknown()
        total_bytes = sum(sizes)
        todo_bytes = sum(sizes[index] for index in todo)
        hits, hit_bytes = total - len(todo), total_bytes - todo_bytes

        def progress(done: int, count: int) -> None:
            if on_progress is not None:
                estimate = hit_bytes + todo_bytes * done // max(count, 1)
                on_progress(hits + done, total, estimate, total_bytes)

        if on_progress is not None and hits:
            on_progress(hits, total, hit_bytes, total_bytes)
        stored = store.ingest_many(
            [sources[index] for index in todo],
            algorithm,
            on_progress=progress,
            sizes=[sizes[index] for index in todo],
        )
        if len(stored) == total and self.folder is not None:
            # Every file was read (a new folder): no Python step per file.
            self.digests = list(map(_DIGEST, stored))
            self.record((), generation)
            return stored
        read = ((index, blob.digest) for index, blob in zip(todo, stored, strict=True))
        self.record(read, generation)  # every digest is known from here on
        results = list(map(_as_stored, zip(self.digests, repeat(algorithm), sizes, sources)))
        for index, blob in zip(todo, stored, strict=True):
            results[index] = blob
        return results

    def record(self, read: Iterable[tuple[int, str]], generation: str = "") -> None:
        """File the digests of the files just read (``(index, digest)``): in the batch's
        snapshot, with every digest now known (taken in the store ``generation``, for
        callers that vouch for blobs by it), or as per-file rows for a batch too big to
        have one. A snapshot serves its files whatever batch they come back in (by path,
        if not in place), so its files need no rows: 20,000 of them cost ~0.1 s to write.

        Raises: StoreError (the cache cannot be written).
        """
        digests, stats, absolute = self.digests, self.stats, self.absolute
        if self.folder is None:

            def rows() -> Iterable[tuple[str, StatKey, str]]:
                for index, digest in read:
                    digests[index] = digest
                    yield absolute[index], stats.key(index), digest

            self.cache.record(rows(), self.algorithm)
            return
        for index, digest in read:
            digests[index] = digest
        # Every digest is known but those of files that vanished meanwhile (a scan in C).
        known = cast("list[str]", digests) if None not in digests else [d or "" for d in digests]
        snapshot = FolderSnapshot(
            self.joined, stats.fields, stats.inodes, known, time.time_ns(), generation
        )
        self.cache.record_snapshot(self.folder, self.algorithm, snapshot)
