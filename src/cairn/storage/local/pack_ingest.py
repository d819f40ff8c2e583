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

import binascii
import contextlib
import functools
import os
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import accumulate
from typing import TYPE_CHECKING, NamedTuple

from cairn.core.digest import new_hasher
from cairn.storage.local.packs import PackTable, PackWriter

if TYPE_CHECKING:
    from pathlib import Path

PACK_MAX_SIZE = 256 * 1024 * 1024  # a pack is published and a new one started past this
PROBE_MAX_FILES = 64  # batches up to this many files are looked up without loading indexes
_CHUNK_FILES = 256  # files read and hashed per worker task
_CHUNK_BYTES = 8 * 1024 * 1024
_TINY_FILE = 1024  # batches of files this size on average are read by one thread
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)

# Told of the files stored, a chunk at a time, in the order of ``indices``: their indices
# in the batch, base64 digests and sizes (three parallel lists).
Packed = Callable[[list[int], list[str], list[int]], None]
_b64 = functools.partial(binascii.b2a_base64, newline=False)


class Chunk(NamedTuple):
    """Files read and hashed together, as parallel lists: their indices in the batch, raw
    and base64 digests, and bytes."""

    indices: list[int]
    raws: list[bytes]
    digests: list[str]
    datas: list[bytes | memoryview]


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

    def read_chunk(chunk: list[int]) -> Chunk:
        return read_and_hash(srcs, chunk, sizes, algorithm)

    packs.refresh()
    held: set[str] = set()  # blobs stored already
    writer = PackWriter(tmp_dir, packs.dir)
    workers = _reader_count(workers, sizes, indices)
    try:
        with ThreadPoolExecutor(max_workers=min(workers, len(chunks))) as pool:
            window = 2 * workers
            pending = [pool.submit(read_chunk, chunk) for chunk in chunks[:window]]
            next_chunk = len(pending)
            try:
                for position in range(len(chunks)):
                    chunk = pending[position].result()
                    _append_new(writer, packs, algorithm, chunk, held)
                    if writer.size >= PACK_MAX_SIZE:
                        writer.publish(packs)
                        writer = PackWriter(tmp_dir, packs.dir)
                    packed(chunk.indices, chunk.digests, list(map(len, chunk.datas)))
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


def _reader_count(workers: int, sizes: Sequence[int], indices: list[int]) -> int:
    """How many threads read the files: at most one a core (reading a small file is
    mostly Python work under the GIL, so more threads only contend for it: 4 took twice
    as long as 2), and one for files of a few hundred bytes, whose hashing is too short
    to release the GIL (MD5 does from 2 KiB): 200,000 files of 100 B took 3.8 s with one
    reading thread and 5.5 s with two."""
    workers = min(workers, os.cpu_count() or 1)
    if sum(map(sizes.__getitem__, indices)) < _TINY_FILE * len(indices):
        return 1
    return workers


def _append_new(
    writer: PackWriter, packs: PackTable, algorithm: str, chunk: Chunk, held: set[str]
) -> None:
    """Append the blobs of ``chunk`` that no published pack holds to ``writer``; add the
    others' digests to ``held``."""
    stored = packs.held(algorithm, chunk.digests)
    if not stored:  # the common case: all new
        writer.append_many(algorithm, chunk.raws, chunk.datas, chunk.digests)
        return
    held |= stored
    new = [position for position, digest in enumerate(chunk.digests) if digest not in stored]
    writer.append_many(
        algorithm,
        [chunk.raws[position] for position in new],
        [chunk.datas[position] for position in new],
        [chunk.digests[position] for position in new],
    )


def _chunks(indices: list[int], sizes: Sequence[int]) -> list[list[int]]:
    """``indices`` in order, cut into chunks of at most ``_CHUNK_FILES`` files, a chunk
    ending once it holds ``_CHUNK_BYTES`` or more. A run of ``_CHUNK_FILES`` files is cut
    whole when it is under ``_CHUNK_BYTES`` (small files: no Python step per file)."""
    chunks: list[list[int]] = []
    start, count = 0, len(indices)
    while start < count:
        run = indices[start : start + _CHUNK_FILES]
        ends = list(accumulate(map(sizes.__getitem__, run)))
        # The first file that brings the chunk to ``_CHUNK_BYTES`` ends it.
        cut = bisect_left(ends, _CHUNK_BYTES) + 1
        chunks.append(run[:cut])
        start += min(cut, len(run))
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
    stored = packs.probe(algorithm, set(read.raws))
    writer = PackWriter(tmp_dir, packs.dir)
    try:
        for raw, data, digest in zip(read.raws, read.datas, read.digests, strict=True):
            if raw not in stored:
                writer.append(algorithm, raw, data, digest)
        writer.publish(packs)
        packed(read.indices, read.digests, list(map(len, read.datas)))
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
) -> Chunk:
    """Read whole each file ``srcs[i]`` of ``chunk`` and hash it (see ``Chunk``).

    The files are read into one buffer sized by their ``sizes`` plus a byte each (one
    allocation per chunk instead of one per file), so one read finds a file whole: a read
    of a regular file that stops short of its slot has reached the end. A file that grew
    since its ``stat`` fills its extra byte and is then read to its end on its own.
    Raises ``OSError`` if a file cannot be opened or read.
    """
    buffer = memoryview(bytearray(sum(sizes[index] for index in chunk) + len(chunk)))
    fresh = new_hasher(algorithm).copy  # a copy of an empty hasher: no lookup per file
    raws: list[bytes] = []
    datas: list[bytes | memoryview] = []
    add_raw, add_data = raws.append, datas.append
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
        add_raw(hasher.digest())
        add_data(data)
    return Chunk(chunk, raws, list(map(bytes.decode, map(_b64, raws))), datas)


_DONE: Future[Chunk] = Future()
_DONE.set_result(Chunk([], [], [], []))
