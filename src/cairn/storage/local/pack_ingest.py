"""Packing a batch of small files into the blob store (``LocalBlobStore.ingest_many``).

Worker threads read and hash the files a chunk at a time while the calling thread
appends each new blob to a pack (``cairn.storage.local.packs``) and publishes it, so only one
thread writes. A blob already packed is not written again: its pack is marked as used
instead, so a collection keeps it for its grace period as it would new content.

Knowing what is packed means loading every index (15-30 ms for 20,000 blobs) unless the
batch is a few files, as when one file of a big folder changed: those are read first,
then looked for by a byte search of the indexes (``PackTable.probe``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

from cairn.core.digest import b64, new_hasher
from cairn.storage.local.packs import PackTable, PackWriter

if TYPE_CHECKING:
    from pathlib import Path

PACK_MAX_SIZE = 256 * 1024 * 1024  # a pack is published and a new one started past this
PROBE_MAX_FILES = 64  # batches up to this many files are looked up without loading indexes
_CHUNK_FILES = 256  # files read and hashed per worker task
_CHUNK_BYTES = 8 * 1024 * 1024
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)

# Told of the files stored, a chunk at a time: (index in the batch, base64 digest, size).
Packed = Callable[[list[tuple[int, str, int]]], None]
_Chunk = list[tuple[int, bytes, bytes | memoryview]]


def pack_files(
    packs: PackTable,
    tmp_dir: Path,
    srcs: Sequence[str | Path],
    indices: list[int],
    sizes: Sequence[int],
    algorithm: str,
    workers: int,
    packed: Packed,
) -> None:
    """Store ``srcs[i]`` for each ``i`` of ``indices`` (``sizes[i]`` from a ``stat``) in
    packs, telling ``packed`` of them from this thread (a chunk of files at a time).

    Raises:
        OSError: a file cannot be read or a pack written (the pack being written is
            dropped; packs already published stay).
        CorruptionError: a pack index is corrupt.
    """
    if len(indices) <= PROBE_MAX_FILES:
        _pack_few(packs, tmp_dir, srcs, indices, sizes, algorithm, packed)
        return
    chunks = _chunks(indices, sizes)

    def read_chunk(chunk: list[int]) -> _Chunk:
        return read_and_hash(srcs, chunk, sizes, algorithm)

    packs.refresh()
    held, holds = set(), packs.holds  # ``held``: blobs stored already
    writer = PackWriter(tmp_dir, packs.dir)
    # Reading a small file is mostly Python work under the GIL: more threads than cores
    # only contend for it (measured: 4 threads took twice as long as 2).
    workers = min(workers, os.cpu_count() or 1)
    try:
        with ThreadPoolExecutor(max_workers=min(workers, len(chunks))) as pool:
            window = 2 * workers
            pending = [pool.submit(read_chunk, chunk) for chunk in chunks[:window]]
            next_chunk = len(pending)
            try:
                for position in range(len(chunks)):
                    stored = []
                    for index, raw, data in pending[position].result():
                        digest = b64(raw)
                        if holds(algorithm, digest):
                            held.add(digest)
                        else:
                            writer.append(algorithm, raw, data, digest)
                            if writer.size >= PACK_MAX_SIZE:
                                writer.publish(packs)
                                writer = PackWriter(tmp_dir, packs.dir)
                        stored.append((index, digest, len(data)))
                    packed(stored)
                    pending[position] = _DONE  # drop the chunk's bytes
                    if next_chunk < len(chunks):
                        pending.append(pool.submit(read_chunk, chunks[next_chunk]))
                        next_chunk += 1
            except BaseException:
                for future in pending:
                    future.cancel()
                raise
        writer.publish(packs)
    except BaseException:
        writer.abort()
        raise
    _touch({location[0] for d in held if (location := packs.peek(algorithm, d))})


def _chunks(indices: list[int], sizes: Sequence[int]) -> list[list[int]]:
    """``indices`` in order, cut into chunks of at most ``_CHUNK_FILES`` files, a chunk
    ending once it holds ``_CHUNK_BYTES`` or more."""
    chunks: list[list[int]] = [[]]
    chunk_bytes = 0
    for index in indices:
        if len(chunks[-1]) >= _CHUNK_FILES or chunk_bytes >= _CHUNK_BYTES:
            chunks.append([])
            chunk_bytes = 0
        chunks[-1].append(index)
        chunk_bytes += sizes[index]
    return chunks


def _pack_few(
    packs: PackTable,
    tmp_dir: Path,
    srcs: Sequence[str | Path],
    indices: list[int],
    sizes: Sequence[int],
    algorithm: str,
    packed: Packed,
) -> None:
    """``pack_files`` for a few files: read them all, then ask which are packed."""
    read = read_and_hash(srcs, indices, sizes, algorithm)
    stored = packs.probe(algorithm, {raw for _index, raw, _data in read})
    writer = PackWriter(tmp_dir, packs.dir)
    try:
        done = []
        for index, raw, data in read:
            digest = b64(raw)
            if raw not in stored:
                writer.append(algorithm, raw, data, digest)
            done.append((index, digest, len(data)))
        writer.publish(packs)
        packed(done)
    except BaseException:
        writer.abort()
        raise
    _touch({location[0] for location in stored.values()})


def _touch(packs: Iterable[Path]) -> None:
    """Mark packs as just used: content ingested again that was stored already is kept by
    a collection for its grace period, as new content is."""
    for pack in packs:
        with contextlib.suppress(OSError):
            os.utime(pack)


def read_and_hash(
    srcs: Sequence[str | Path], chunk: list[int], sizes: Sequence[int], algorithm: str
) -> _Chunk:
    """Read whole each file ``srcs[i]`` of ``chunk`` and hash it: ``(i, raw digest, bytes)``.

    The files are read into one buffer sized by their ``sizes`` plus a byte each (one
    allocation per chunk instead of one per file), so one read finds a file whole: a read
    of a regular file that stops short of its slot has reached the end. A file that grew
    since its ``stat`` fills its extra byte and is then read to its end on its own.
    Raises ``OSError`` if a file cannot be opened or read.
    """
    buffer = memoryview(bytearray(sum(sizes[index] for index in chunk) + len(chunk)))
    fresh = new_hasher(algorithm).copy  # a copy of an empty hasher: no lookup per file
    out: _Chunk = []
    position = 0
    for index in chunk:
        expected = sizes[index]
        slot = buffer[position : position + expected + 1]
        fd = os.open(srcs[index], _READ_FLAGS)
        try:
            filled = os.readv(fd, [slot])
            while filled < expected and (count := os.readv(fd, [slot[filled:]])):
                filled += count  # a short read before the stat's size: read on
            data: bytes | memoryview = slot[:filled]
            if filled > expected:
                rest = [bytes(data)]
                while more := os.read(fd, 1 << 16):
                    rest.append(more)
                data = b"".join(rest)
        finally:
            os.close(fd)
        position += expected + 1
        hasher = fresh()
        hasher.update(data)
        out.append((index, hasher.digest(), data))
    return out


_DONE: Future[_Chunk] = Future()
_DONE.set_result([])
