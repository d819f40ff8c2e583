"""Copy a batch of files into the embedded blob store, skipping files the stat cache knows.

``add_dir`` hands over every file of a folder in one call (``Backend.ingest_files``). Each
file is stat'ed once. A file whose size, mtime, inode and ctime match what the stat cache
recorded is not read: first the folder's snapshot is consulted (one row for the whole
batch; when nothing changed, two byte strings are compared and done), then the per-file
rows for the files the snapshot does not cover. A digest known this way is only used if
its blob is still stored: a snapshot taken in the store's current generation
(``known_blobs.generation``) vouches for its blobs; any other hit is checked (and its blob
marked as used, ``gc.freshen``). The rest goes to ``LocalBlobStore.ingest_many`` (small
files packed, large ones loose, in parallel), and the folder's new snapshot and the new
digests are recorded.
"""

from __future__ import annotations

import os
import time
from array import array
from collections.abc import Callable, Sequence
from functools import partial
from itertools import repeat
from operator import methodcaller
from pathlib import Path

from cairn.protocol import IngestedBlob
from cairn.service.gc import freshen
from cairn.storage.blobstore import LocalBlobStore
from cairn.storage.statcache import (
    SNAPSHOT_MAX_FILES,
    FolderSnapshot,
    StatCache,
    StatKey,
    snapshot_folder,
)

Progress = Callable[[int, int, int, int], None]
_IS_ABSOLUTE = methodcaller("startswith", "/")
# ``IngestedBlob`` from a ``(digest, algorithm, size, local path)`` tuple without a Python
# call per file (a namedtuple's own constructor is Python code).
_as_ingested = partial(tuple.__new__, IngestedBlob)


class _Stats:
    """The stat fields of a batch, flat: a million files cost 32 MB here instead of
    ~190 MB as tuples of ints. ``fields`` holds size, mtime_ns, ctime_ns per file."""

    def __init__(self, paths: Sequence[str]) -> None:
        fields, inodes = array("q"), array("Q")
        add_fields, add_inode, stat = fields.extend, inodes.append, os.stat
        for path in paths:
            info = stat(path)
            add_fields((info.st_size, info.st_mtime_ns, info.st_ctime_ns))
            add_inode(info.st_ino)
        self.fields, self.inodes = fields, inodes

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
        mine = 3 * index
        theirs = 3 * other
        return (
            self.inodes[index] == inodes[other]
            and self.fields[mine : mine + 3] == fields[theirs : theirs + 3]
        )

    def untrusted(self, cache: StatCache, hashed_ns: int) -> list[int]:
        """The files too recently changed to trust a digest taken at ``hashed_ns``."""
        return cache.untrusted(hashed_ns, self.fields[1::3], self.fields[2::3])


def ingest_files(
    blobs: LocalBlobStore,
    cache: StatCache,
    sources: Sequence[str | Path],
    algorithm: str,
    on_progress: Progress | None = None,
    *,
    generation: str,
) -> list[IngestedBlob]:
    """Store every file of ``sources``; results are in the order of ``sources``.

    ``on_progress(files_done, files_total, bytes_done, bytes_total)`` is called from the
    calling thread. For a file served by the stat cache, ``local_path`` is the file itself
    (it still has those bytes). ``generation`` is the store's ``known_blobs.generation``,
    read before this call: a snapshot taken in the same generation vouches for its blobs.

    Raises:
        OSError: a file cannot be read or the store written (files already stored stay).
        ValueError: unknown ``algorithm``.
        StoreError: the stat cache cannot be read or written.
    """
    total = len(sources)
    if not total:
        return []
    absolute: list[str] = [os.fspath(source) for source in sources]
    if not all(map(_IS_ABSOLUTE, absolute)):  # the stat cache's keys are absolute paths
        absolute = [os.path.abspath(path) for path in absolute]
    joined = "\0".join(absolute)
    folder = snapshot_folder(absolute) if total <= SNAPSHOT_MAX_FILES else None
    previous = cache.snapshot(folder, algorithm) if folder is not None else None
    stats = _Stats(absolute)
    if (
        previous is not None
        and previous.generation == generation
        and previous.paths == joined
        and previous.fields == stats.fields
        and previous.inodes == stats.inodes
        and not stats.untrusted(cache, previous.hashed_ns)
    ):
        # Nothing changed since the snapshot, and its blobs are all still stored.
        sizes = stats.sizes()
        if on_progress is not None:
            on_progress(total, total, sum(sizes), sum(sizes))
        return list(map(_as_ingested, zip(previous.digests, repeat(algorithm), sizes, sources)))

    digests: list[str | None] = [None] * total
    vouched = _from_snapshot(previous, absolute, joined, stats, cache, generation, digests)
    _from_file_rows(cache, absolute, stats, algorithm, digests)
    # Hits the snapshot cannot vouch for: their blobs are checked (and marked as used).
    unchecked = [
        index for index, digest in enumerate(digests) if digest is not None and not vouched[index]
    ]
    gone = freshen(blobs, ((digests[index] or "", algorithm) for index in unchecked))
    for index in unchecked:
        if (digests[index], algorithm) in gone:
            digests[index] = None
    results = _store_unknown(
        blobs, cache, sources, absolute, stats, algorithm, digests, on_progress
    )
    if folder is not None:
        known = [blob.digest for blob in results]
        snapshot = FolderSnapshot(
            joined, stats.fields, stats.inodes, known, time.time_ns(), generation
        )
        cache.record_snapshot(folder, algorithm, snapshot)
    return results


def _store_unknown(
    blobs: LocalBlobStore,
    cache: StatCache,
    sources: Sequence[str | Path],
    absolute: Sequence[str],
    stats: _Stats,
    algorithm: str,
    digests: list[str | None],
    on_progress: Progress | None,
) -> list[IngestedBlob]:
    """Ingest the files whose digest is None and record them in the per-file rows; the
    result of every file (known ones served by the files themselves)."""
    total = len(sources)
    todo = [index for index, digest in enumerate(digests) if digest is None]
    total_bytes = sum(stats.sizes())
    todo_bytes = sum(stats.size(index) for index in todo)
    hits, hit_bytes = total - len(todo), total_bytes - todo_bytes

    def progress(done: int, count: int) -> None:
        if on_progress is not None:
            estimate = hit_bytes + todo_bytes * done // max(count, 1)
            on_progress(hits + done, total, estimate, total_bytes)

    if on_progress is not None and hits:
        on_progress(hits, total, hit_bytes, total_bytes)
    stored = blobs.ingest_many(
        [sources[i] for i in todo],
        algorithm,
        on_progress=progress,
        sizes=[stats.size(index) for index in todo],
    )
    # A blob just written for a file may have been stored long ago: mark it as used.
    freshen(blobs, ((blob.digest, algorithm) for blob in stored))
    results = list(map(_as_ingested, zip(digests, repeat(algorithm), stats.sizes(), sources)))
    for index, blob in zip(todo, stored, strict=True):
        results[index] = IngestedBlob(*blob)
    cache.record(
        (
            (absolute[index], stats.key(index), stored[position].digest)
            for position, index in enumerate(todo)
        ),
        algorithm,
    )
    return results


def _from_snapshot(
    previous: FolderSnapshot | None,
    absolute: Sequence[str],
    joined: str,
    stats: _Stats,
    cache: StatCache,
    generation: str,
    digests: list[str | None],
) -> list[bool]:
    """Fill ``digests`` for the files the snapshot knows unchanged (and not racily clean);
    return, per file, whether the snapshot also vouches that its blob is stored."""
    count = len(absolute)
    if previous is None:
        return [False] * count
    positions: Sequence[int | None]  # each file's position in the snapshot
    if previous.paths == joined:  # the same files in the same order (the common case)
        positions = range(count)
        unchanged = _unchanged_in_place(stats, previous)
    else:
        where = {path: position for position, path in enumerate(previous.paths.split("\0"))}
        positions = [where.get(path) for path in absolute]
        unchanged = [
            position is not None and stats.same(index, previous.fields, previous.inodes, position)
            for index, position in enumerate(positions)
        ]
    for index in stats.untrusted(cache, previous.hashed_ns):  # a matching stat is not enough
        unchanged[index] = False
    known = previous.digests
    for index, position in enumerate(positions):
        if unchanged[index] and position is not None:
            digests[index] = known[position]
    same_generation = previous.generation == generation
    return [same and same_generation for same in unchanged]


_BLOCK = 512  # files compared at once by ``_unchanged_in_place``


def _unchanged_in_place(stats: _Stats, previous: FolderSnapshot) -> list[bool]:
    """Per file, whether its stat fields equal those at the same position of ``previous``
    (same paths): blocks of files are compared whole, a differing block file by file."""
    count = len(stats.inodes)
    unchanged = [True] * count
    new_fields, old_fields = stats.fields, previous.fields
    new_inodes, old_inodes = stats.inodes, previous.inodes
    for start in range(0, count, _BLOCK):
        end = min(count, start + _BLOCK)
        if (
            new_fields[3 * start : 3 * end] != old_fields[3 * start : 3 * end]
            or new_inodes[start:end] != old_inodes[start:end]
        ):
            for index in range(start, end):
                unchanged[index] = stats.same(index, old_fields, old_inodes, index)
    return unchanged


def _from_file_rows(
    cache: StatCache,
    absolute: Sequence[str],
    stats: _Stats,
    algorithm: str,
    digests: list[str | None],
) -> None:
    """Fill ``digests`` of files still unknown from their per-file rows, when unchanged."""
    unknown = [index for index, digest in enumerate(digests) if digest is None]
    if not unknown:
        return
    cached = cache.lookup([absolute[index] for index in unknown], algorithm)
    for index in unknown:
        hit = cached.get(absolute[index])
        if hit is not None and hit[0] == stats.key(index):
            digests[index] = hit[1]
