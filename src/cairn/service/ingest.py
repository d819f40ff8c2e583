"""Copy a batch of files into the embedded blob store, skipping files the stat cache knows.

``add_dir`` hands over every file of a folder in one call (``Backend.ingest_files``): files
whose size, mtime, inode and ctime match the stat cache and whose blob is still stored are
not read at all; the rest go to ``LocalBlobStore.ingest_many`` (small ones packed, large
ones loose, in parallel) and their digests are recorded for the next time.
"""

from __future__ import annotations

import os
from array import array
from collections.abc import Callable, Sequence
from pathlib import Path

from cairn.protocol import IngestedBlob
from cairn.storage.blobstore import LocalBlobStore
from cairn.storage.statcache import StatCache, StatKey, stat_key


def ingest_files(
    blobs: LocalBlobStore,
    cache: StatCache,
    sources: Sequence[str | Path],
    algorithm: str,
    on_progress: Callable[[int, int, int, int], None] | None = None,
) -> list[IngestedBlob]:
    """Store every file of ``sources``; results are in the order of ``sources``.

    ``on_progress(files_done, files_total, bytes_done, bytes_total)`` is called from the
    calling thread. For a file served by the stat cache, ``local_path`` is the file itself
    (it still has those bytes).

    Raises:
        OSError: a file cannot be read or the store written (files already stored stay).
        ValueError: unknown ``algorithm``.
        StoreError: the stat cache cannot be read or written.
    """
    total = len(sources)
    absolute = [_absolute(os.fspath(source)) for source in sources]
    cached = cache.lookup(absolute, algorithm)
    results: list[IngestedBlob | None] = [None] * total
    todo: list[int] = []
    # The stat fields of the files to read, flat (size, mtime, ctime / inode): a million
    # files' keys cost 32 MB here instead of ~190 MB as tuples of ints.
    todo_times, todo_inodes = array("q"), array("Q")
    total_bytes = hit_bytes = 0
    has, stat = blobs.has, os.stat
    # One pass per file: stat it, compare with its cached key, check the cached blob.
    for index, path in enumerate(absolute):
        info = stat(path)
        size = info.st_size
        total_bytes += size
        hit = cached.get(path)
        if hit is not None and hit[0] == stat_key(info) and has(hit[1], algorithm):
            results[index] = IngestedBlob(hit[1], algorithm, size, sources[index])
            hit_bytes += size
        else:
            todo.append(index)
            todo_times.extend((size, info.st_mtime_ns, info.st_ctime_ns))
            todo_inodes.append(info.st_ino)
    hits = total - len(todo)
    todo_bytes = total_bytes - hit_bytes

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
        sizes=todo_times[::3],
    )
    for index, blob in zip(todo, stored, strict=True):
        results[index] = IngestedBlob(*blob)

    def keys(position: int) -> StatKey:
        size, mtime_ns, ctime_ns = todo_times[3 * position : 3 * position + 3]
        return size, mtime_ns, todo_inodes[position], ctime_ns

    cache.record(
        (
            (absolute[index], keys(position), stored[position].digest)
            for position, index in enumerate(todo)
        ),
        algorithm,
    )
    return [result for result in results if result is not None]


def _absolute(path: str) -> str:
    """``path`` made absolute (the stat cache key); already absolute paths, as ``add_dir``
    passes, are kept as they are (cheaper than ``abspath`` on every file)."""
    return path if path.startswith("/") else os.path.abspath(path)
