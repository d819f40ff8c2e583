"""Content-defined chunks of large files: a streaming chunker and chunk ids (issue 24).

A file of at least ``DEFAULT_THRESHOLD`` bytes (``Settings.chunk_threshold``,
``CAIRN_CHUNK_THRESHOLD``) is stored
as the list of its chunks, so a new version that differs in a few places, or grows by an
append, stores only the chunks it does not share with the old one. Cuts are
content-defined (FastCDC 2020, ``pyfastcdc``'s compiled core): an edit moves only the
cuts next to it, never the ones after it. A chunk is named by its BLAKE3 digest
(``chunk_key``: ``b3/<2 hex>/<62 hex>``), apart from the MD5 or XXH3 names of whole
blobs, so a chunk can never be taken for a file.

``StreamChunker`` is fed the blocks a copy loop reads anyway (the file is read once, as
for any blob): it buffers them and yields each chunk once the bytes after its start can
no longer move its end, so the chunks are exactly those of the whole file cut at once.
Sizes chosen by measurement (bench/README.md, "Chunk size"): 256 KiB average (FastCDC's
``avg_size``; 64 KiB minimum and 1 MiB maximum), ~1.4 % of a 1 GiB file new after ten
scattered 1 MiB edits, ~1 % after a 1 % append, ~1.3 GB/s to cut and hash on one core.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, NamedTuple

import blake3
from pyfastcdc.cy import FastCDC

from cairn.settings import DEFAULT_CHUNK_THRESHOLD

if TYPE_CHECKING:
    import io
    from collections.abc import Callable, Iterator

    from cairn.core.digest import Hasher

DEFAULT_THRESHOLD = DEFAULT_CHUNK_THRESHOLD  # files from this size are stored as chunks
AVG_SIZE = 256 * 1024
MIN_SIZE = AVG_SIZE // 4
MAX_SIZE = AVG_SIZE * 4
CHUNK_ALGORITHM = "b3"  # the directory and pack-index name of chunk digests
CHUNK_DIGEST_SIZE = 32  # BLAKE3's full 256-bit output
_WINDOW = 8 * 1024 * 1024  # bytes buffered before cutting (at least 2 x MAX_SIZE)
_READ_BLOCK = 1024 * 1024  # bytes read (and handed to the hash) at once


class ChunkRef(NamedTuple):
    """One chunk of a file: its raw BLAKE3 digest and its size in bytes."""

    digest: bytes
    size: int


def chunk_digest(data: bytes | memoryview) -> bytes:
    """The raw 32-byte BLAKE3 digest that names a chunk of bytes ``data``."""
    return blake3.blake3(data).digest()


def chunk_key(digest: bytes) -> str:
    """The store name of a chunk: ``b3/<first 2 hex digits>/<other 62>``.

    Raises:
        ValueError: ``digest`` is not 32 bytes.
    """
    if len(digest) != CHUNK_DIGEST_SIZE:
        raise ValueError(f"A chunk digest has {CHUNK_DIGEST_SIZE} bytes, not {len(digest)}")
    text = digest.hex()
    return f"{CHUNK_ALGORITHM}/{text[:2]}/{text[2:]}"


class StreamChunker:
    """Cuts a stream fed block by block into content-defined chunks.

    ``feed`` each block in order, then ``finish``; both yield ``(digest, data)`` for the
    chunks complete so far. ``data`` is a view of the chunker's buffer, valid only until
    the next call to ``feed`` or ``finish`` (write or copy it before). A reader can skip
    the copy into the buffer instead: read into ``space()``, then ``commit`` the bytes
    read. Memory stays at two windows of ``_WINDOW + MAX_SIZE`` bytes for any file size.
    Not thread-safe.

    The buffer is two windows used in turn: once one is full its chunks are cut and the
    bytes after the last complete one are carried to the front of the other. A window is
    written again only after a whole other window was filled, so a block read into it
    may still be read elsewhere meanwhile (hashed on another thread, ``_read_cut_and_hash``
    in ``storage/local/chunk_store.py``): ``before_reuse(window)`` is called just before
    a window (0 or 1) is written again, to wait for such readers.
    """

    def __init__(self, before_reuse: Callable[[int], None] | None = None) -> None:
        self._cdc = FastCDC(AVG_SIZE, min_size=MIN_SIZE, max_size=MAX_SIZE)
        self._windows = [memoryview(bytearray(_WINDOW + MAX_SIZE)) for _ in range(2)]
        self._current = 0  # the window being filled
        self._length = 0  # bytes buffered in it, not yet cut
        self._before_reuse = before_reuse

    def space(self) -> tuple[int, memoryview]:
        """The window being filled (0 or 1) and its free part (never empty): the next
        bytes of the stream go there, then ``commit`` says how many."""
        return self._current, self._windows[self._current][self._length : _WINDOW]

    def commit(self, count: int) -> Iterator[tuple[bytes, memoryview]]:
        """Take the next ``count`` bytes of the stream, written at the start of
        ``space()``; yield the chunks they complete."""
        self._length += count
        if self._length >= _WINDOW:
            yield from self._cut(final=False)

    def feed(self, block: bytes | memoryview) -> Iterator[tuple[bytes, memoryview]]:
        """Take the next ``block`` of the stream; yield the chunks it completes."""
        block = memoryview(block).cast("B")
        while block:
            _, free = self.space()
            part = block[: len(free)]
            free[: len(part)] = part
            block = block[len(part) :]
            yield from self.commit(len(part))

    def finish(self) -> Iterator[tuple[bytes, memoryview]]:
        """Yield the chunks still buffered: the end of the stream."""
        if self._length:
            yield from self._cut(final=True)

    def _cut(self, final: bool) -> Iterator[tuple[bytes, memoryview]]:
        """Yield the buffered chunks whose end no later byte can move (all if ``final``),
        then carry the rest to the front of the other window and fill that one."""
        window = self._windows[self._current]
        length = self._length
        start = length
        for chunk in self._cdc.cut_buf(window[:length]):
            offset: int = chunk.offset
            if not final and length - offset < MAX_SIZE:
                start = offset  # FastCDC looks at most MAX_SIZE bytes ahead of a start
                break
            data: memoryview = chunk.data
            yield chunk_digest(data), data
        if final:
            self._length = 0
            return
        other = 1 - self._current
        if self._before_reuse is not None:
            self._before_reuse(other)
        rest = length - start
        self._windows[other][:rest] = window[start:length]
        self._current, self._length = other, rest


def cut_and_hash(reader: io.FileIO, hasher: Hasher) -> Iterator[tuple[bytes, memoryview]]:
    """Read ``reader`` to its end once, straight into a chunker's window, and yield its
    chunks as ``StreamChunker`` does; ``hasher`` (the file's MD5 or XXH3) is fed every
    byte on a helper thread meanwhile, and is complete once the generator is exhausted.

    The two overlap (hashing, cutting and BLAKE3 release the GIL): the hash may lag the
    reads by up to a whole window (8 MiB), and this thread waits for it only before the
    chunker writes over a window again (``before_reuse``), never block by block. A shorter
    lag (a ring of a few blocks, as ``copy_and_hash`` has) serialised the two: this thread
    waited for the hash while it filled a window, and the hash ran dry while a full window
    was cut (bench/README.md, "Chunks").

    Raises ``OSError`` from a read.
    """
    pending: list[list[Future[None]]] = [[], []]  # hashes of the blocks in each window

    def before_reuse(window: int) -> None:
        for future in pending[window]:
            future.result()
        pending[window].clear()

    chunker = StreamChunker(before_reuse)
    with ThreadPoolExecutor(max_workers=1) as helper:
        try:
            while True:
                window, free = chunker.space()
                count = reader.readinto(free[:_READ_BLOCK])
                if not count:
                    break
                pending[window].append(helper.submit(hasher.update, free[:count]))
                yield from chunker.commit(count)
            yield from chunker.finish()
            before_reuse(0)
            before_reuse(1)
        except BaseException:
            for future in pending[0] + pending[1]:
                future.cancel()
            raise
