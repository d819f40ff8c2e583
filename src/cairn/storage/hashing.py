"""Chunked file hashing, hashing while copying, and parallel hashing of many files.

Entry digests (base64 MD5 or XXH3-128, see ``cairn.core.digest``) are computed here for
every file Cairn reads. Files are read in 1 MiB chunks into one reused buffer, never
mapped or loaded whole, so memory stays flat for any file size. ``copy_and_hash`` reads
the source once and writes the copy once (DESIGN §4, §6), hashing a large file's chunks
on a helper thread while it writes them. hashlib releases the GIL on
large updates, so a thread pool hashes several files truly in parallel.
"""

from __future__ import annotations

import itertools
import os
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, cast

from cairn.core.digest import Hasher, b64, new_hasher
from cairn.storage.local.placing import new_file, write_all

if TYPE_CHECKING:
    import io
    from collections.abc import Sequence
    from pathlib import Path

CHUNK_SIZE = 1024 * 1024
OVERLAP_MIN_SIZE = 16 * CHUNK_SIZE  # from this size a copy hashes on a helper thread
_OVERLAP_DEPTH = 4  # chunks in flight: 4 MiB of buffers
_FLUSH_BYTES = 64 * CHUNK_SIZE  # a large copy is flushed to disk in the background this often


def default_workers() -> int:
    """The thread count used when a caller passes ``workers=None``."""
    return min(32, (os.cpu_count() or 1) + 4)


def hash_file(path: Path, algorithm: str) -> tuple[str, int]:
    """Return the base64 entry digest and the size in bytes of the file at ``path``.

    ``algorithm`` is an entry-level id (``"md5"`` or ``"xxh128"``).

    Raises:
        OSError: the file cannot be opened or read (``FileNotFoundError``,
            ``IsADirectoryError``, ...).
        ValueError: ``algorithm`` is unknown.
    """
    hasher = new_hasher(algorithm)
    buffer = bytearray(CHUNK_SIZE)
    view = memoryview(buffer)
    size = 0
    with open(path, "rb", buffering=0) as src:
        while n := src.readinto(buffer):
            hasher.update(_as_bytes(view[:n]))
            size += n
    return b64(hasher.digest()), size


def copy_and_hash(
    src: str | Path, dest: Path, algorithm: str, sync: bool = True
) -> tuple[str, int]:
    """Copy ``src`` to the new file ``dest`` while hashing it; return (b64 digest, size).

    The source is read once and the copy written once, in 1 MiB chunks; ``dest`` is
    created exclusively with mode 0o600 and, unless ``sync`` is False (the caller makes a
    batch durable at once: ``durable_batch``), fsynced before returning. If anything fails,
    ``dest`` is removed before the error propagates, so no partial copy is left behind.

    Raises:
        FileExistsError: ``dest`` already exists (callers pass a fresh temporary name).
        OSError: ``src`` cannot be read or ``dest`` cannot be written.
        ValueError: ``algorithm`` is unknown.
    """
    hasher = new_hasher(algorithm)
    with open(src, "rb", buffering=0) as reader, new_file(dest, 0o600) as fd:
        if os.fstat(reader.fileno()).st_size >= OVERLAP_MIN_SIZE:
            size = _copy_overlapped(reader, fd, hasher)
        else:
            size = _copy_serial(reader, fd, hasher)
        if sync:
            os.fsync(fd)
    return b64(hasher.digest()), size


def _copy_serial(reader: io.FileIO, fd: int, hasher: Hasher) -> int:
    """Read, hash and write chunk after chunk in this thread; return the bytes copied."""
    buffer = bytearray(CHUNK_SIZE)
    view = memoryview(buffer)
    size = 0
    while n := reader.readinto(buffer):
        chunk = view[:n]
        hasher.update(_as_bytes(chunk))
        write_all(fd, chunk)
        size += n
    return size


def _copy_overlapped(reader: io.FileIO, fd: int, hasher: Hasher) -> int:
    """Like ``_copy_serial``, but each chunk is hashed on a helper thread while this thread
    writes it (both release the GIL), so a large copy costs about the longer of the two
    instead of their sum. Chunks are hashed in order (one helper); a buffer is reused only
    once its hash is done. Every ``_FLUSH_BYTES`` written, a second helper ``fdatasync``s
    what is written so far (one flush at a time): the disk writes while this thread reads
    and hashes, instead of all of it in the caller's final ``fsync`` (the kernel would
    start only once gigabytes are dirty). Returns the bytes copied.

    Raises ``OSError`` from a read, a write or a flush.
    """
    buffers = [bytearray(CHUNK_SIZE) for _ in range(_OVERLAP_DEPTH)]
    hashed: list[Future[None] | None] = [None] * _OVERLAP_DEPTH
    flush: Future[None] | None = None
    size = flushed = 0
    with ThreadPoolExecutor(max_workers=1) as helper, ThreadPoolExecutor(1) as flusher:
        try:
            for slot in itertools.cycle(range(_OVERLAP_DEPTH)):
                previous = hashed[slot]
                if previous is not None:
                    previous.result()
                n = reader.readinto(buffers[slot])
                if not n:
                    break
                chunk = memoryview(buffers[slot])[:n]
                hashed[slot] = helper.submit(hasher.update, _as_bytes(chunk))
                write_all(fd, chunk)
                size += n
                if size - flushed >= _FLUSH_BYTES and (flush is None or flush.done()):
                    if flush is not None:
                        flush.result()
                    flush = flusher.submit(os.fdatasync, fd)
                    flushed = size
            for future in [*hashed, flush]:
                if future is not None:
                    future.result()
        except BaseException:
            for future in [*hashed, flush]:
                if future is not None:
                    future.cancel()
            raise
    return size


def hash_files(
    paths: Sequence[Path], algorithm: str, workers: int | None = None
) -> list[tuple[str, int]]:
    """Hash many files on a thread pool; results are in the order of ``paths``.

    ``workers`` defaults to ``default_workers()``; 1 (or a single path) hashes serially.

    Raises:
        OSError: a file cannot be read (the first failure in ``paths`` order; remaining
            work is cancelled).
        ValueError: ``algorithm`` is unknown.
    """
    count = workers if workers is not None else default_workers()
    if count <= 1 or len(paths) <= 1:
        return [hash_file(path, algorithm) for path in paths]
    with ThreadPoolExecutor(max_workers=min(count, len(paths))) as pool:
        futures = [pool.submit(hash_file, path, algorithm) for path in paths]
        try:
            return [future.result() for future in futures]
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def _as_bytes(chunk: memoryview) -> bytes:
    """Type ``chunk`` as bytes: hashlib and xxhash accept any buffer, and a memoryview
    slice of the reused read buffer avoids copying each chunk (``Hasher`` says bytes)."""
    return cast("bytes", chunk)
