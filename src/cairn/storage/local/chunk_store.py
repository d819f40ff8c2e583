"""Large files as chunks in the local blob store (issue 24).

A file of at least the store's chunk threshold is not kept as a loose blob: while it is
copied and hashed (one read, as ``copy_and_hash`` does) it is cut into content-defined
chunks (``cairn.storage.chunking``); chunks the store does not hold yet are appended to
packs of their own (``root/chunks/pack-*.pack`` and ``.idx``: the format of ``packs.py``,
algorithm ``b3``, 32-byte digests; apart from ``root/packs`` so a store's small-blob packs
keep the exact format they had), and the file becomes its chunk list
(``cairn.storage.chunk_lists``) at ``root/chunklists/<md5|xxh128>/<2 hex>/<30 hex>``,
named by the file's entry digest as a loose blob would be. Order makes it crash-safe: the
chunks' packs are fsynced and published before the list, and the list is written to a
temporary file, fsynced, made read-only and renamed, so a list is only ever visible with
all its chunks. A list that is torn anyway (a bad disk, a partial copy of the store)
fails its checksum and is treated as a missing blob, never read as another file.

Reading reassembles: ``write_to`` copies the chunks' ranges of their packs in the kernel
(``copy_file_range``, adjacent chunks at once), ``iter_bytes`` yields them; callers check
the file's digest on what they wrote, as for any copy. ``verify`` reads every chunk,
checks its BLAKE3 and the file's digest, and names the chunk that is wrong.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

from cairn.core.digest import MD5, XXH128, b64, b64_to_hex, blob_key, new_hasher
from cairn.errors import CorruptionError
from cairn.storage.chunk_lists import ChunkList, decode_chunk_list, encode_chunk_list, reassemble
from cairn.storage.chunking import CHUNK_ALGORITHM, ChunkRef, chunk_key, cut_and_hash
from cairn.storage.local.packs import PackTable, PackWriter
from cairn.storage.local.placing import new_file, write_all

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from pathlib import Path

    from cairn.storage.local.packs import Location

LISTS_DIR = "chunklists"
CHUNK_PACKS_DIR = "chunks"
LIST_MODE = 0o444
PACK_MAX_SIZE = 256 * 1024 * 1024  # a pack of chunks is published past this
_BLOCK = 1024 * 1024  # bytes copied at once when the kernel cannot copy a range
_PACK_BUFFER = 16 * 1024  # below the smallest chunk but the last one of a file
_FLUSH_BYTES = 64 * 1024 * 1024  # new chunk bytes written between background flushes
_HEX_NAME = re.compile(r"[0-9a-f]{32}")
_UNSUPPORTED = frozenset({errno.EXDEV, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL})


class ChunkStore:
    """The chunk lists of one blob store and the packs of their chunks (``packs``)."""

    def __init__(self, root: Path, tmp_dir: Path) -> None:
        self.dir = root / LISTS_DIR
        self.packs = PackTable(root / CHUNK_PACKS_DIR)
        self._tmp_dir = tmp_dir

    def list_path(self, digest: str, algorithm: str) -> Path:
        """Where the chunk list of the file with entry ``digest`` lives (it may not).

        Raises: ValueError (``digest`` is not valid for ``algorithm``).
        """
        return self.dir / blob_key(digest, algorithm)

    def read_list(self, digest: str, algorithm: str) -> ChunkList | None:
        """The checked chunk list of the file, or None: not stored, or torn (a list that
        fails its checksum, or names another file, is no list).

        Raises: ValueError (bad digest); OSError (the list cannot be read).
        """
        path = self.list_path(digest, algorithm)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            chunk_list = decode_chunk_list(data, str(path))
        except CorruptionError:
            return None
        same = chunk_list.algorithm == algorithm and b64_to_hex(chunk_list.digest) == b64_to_hex(
            digest
        )
        return chunk_list if same else None

    def has(self, digest: str, algorithm: str) -> bool:
        """Whether the file is stored as chunks: its list is whole and every chunk is in a
        pack (the pack table is reloaded once if one is not).

        Raises: ValueError (bad digest); CorruptionError (a pack index is corrupt).
        """
        chunk_list = self.read_list(digest, algorithm)
        if chunk_list is None:
            return False
        keys = [b64(chunk.digest) for chunk in chunk_list.chunks]
        if all(self.packs.holds(CHUNK_ALGORITHM, key) for key in keys):
            return True
        self.packs.refresh()
        return all(self.packs.holds(CHUNK_ALGORITHM, key) for key in keys)

    def touch(self, digest: str, algorithm: str) -> bool:
        """Mark a chunked file as just used (its list and the packs of its chunks), so a
        collection keeps it for its grace period; False if it is not stored whole.

        Raises: ValueError (bad digest); CorruptionError (a pack index is corrupt).
        """
        if not self.has(digest, algorithm):
            return False
        chunk_list = self.read_list(digest, algorithm)
        with contextlib.suppress(OSError):
            os.utime(self.list_path(digest, algorithm))
        if chunk_list is not None:
            _touch(location[0] for location in self._locations(chunk_list))
        return True

    def ingest(
        self,
        src: str | Path,
        algorithm: str,
        stored: Callable[[str], bool],
        expected: str | None = None,
    ) -> tuple[str, int]:
        """Store the file ``src`` as chunks while hashing it; return (base64 digest, size).

        Only chunks not stored yet are written. When the file turns out to be stored
        already (``stored(digest)``: loose, or as chunks) its new chunks are dropped and
        the stored copy stays as it is.

        Raises:
            CorruptionError: ``expected`` is given and the content has another digest;
                nothing is published.
            OSError: ``src`` cannot be read or the store written (packs of chunks already
                published stay until a collection frees them).
            ValueError: unknown ``algorithm``.
        """
        hasher = new_hasher(algorithm)
        self.packs.refresh()
        sink = _ChunkSink(self.packs, self._tmp_dir)
        try:
            size = 0
            with open(src, "rb", buffering=0) as reader:
                for chunk_digest, data in cut_and_hash(reader, hasher):
                    sink.add(chunk_digest, data)
                    size += len(data)
            digest = b64(hasher.digest())
            if expected is not None and b64_to_hex(expected) != b64_to_hex(digest):
                raise CorruptionError(
                    f"Content of '{src}' has digest {digest}, expected {expected}",
                    context={"path": str(src), "expected": expected, "actual": digest},
                )
            if stored(digest):
                sink.abort()
                return digest, size
            sink.publish()
        except BaseException:
            sink.abort()
            raise
        self._publish_list(encode_chunk_list(digest, algorithm, size, sink.refs), digest, algorithm)
        return digest, size

    def write_to(self, digest: str, algorithm: str, fd: int) -> int:
        """Write the file's bytes to the open file ``fd`` (from its position); return its
        size. Adjacent chunks of a pack are copied at once, in the kernel where it can.
        Every pack needed is opened before the first byte is copied: a pack the collector
        rewrites meanwhile (in another process) stays readable through its open file, and
        one already gone makes the table reload once.

        Raises:
            FileNotFoundError: the file is not stored as chunks (or its list is torn).
            CorruptionError: a chunk is missing or has another size; names the chunk.
            OSError: a pack cannot be read or ``fd`` written.
        """
        chunk_list = self._require(digest, algorithm)
        with contextlib.ExitStack() as stack:
            for attempt in range(2):
                runs = self._runs(chunk_list)
                try:
                    files = {
                        pack: stack.enter_context(open(pack, "rb", buffering=0))
                        for pack in {run[0] for run in runs}
                    }
                    break
                except FileNotFoundError:
                    stack.close()
                    if attempt:
                        raise
                    self.packs.refresh()
            for pack, offset, length in runs:
                _copy_range(files[pack].fileno(), fd, offset, length)
        return chunk_list.size

    def iter_bytes(self, digest: str, algorithm: str) -> Iterator[bytes]:
        """The file's bytes chunk after chunk (its list is read before this returns).

        Raises: as ``write_to`` (FileNotFoundError at once, the others while iterating).
        """
        chunk_list = self._require(digest, algorithm)
        return reassemble(chunk_list, self._read_chunk)

    def verify(self, digest: str, algorithm: str) -> None:
        """Read the file back from its chunks, checking each chunk's BLAKE3 and the file's
        entry digest.

        Raises:
            FileNotFoundError: the file is not stored as chunks (or its list is torn).
            CorruptionError: a chunk is missing or corrupt (named), or the file does not
                reassemble to its digest.
        """
        chunk_list = self._require(digest, algorithm)
        for _data in reassemble(chunk_list, self._read_chunk, check_chunks=True, check_digest=True):
            pass

    def iter_lists(self) -> Iterator[tuple[str, str, Path]]:
        """Yield ``(algorithm, hex digest, path)`` for every chunk list, sorted (files
        whose names are no digest are skipped)."""
        for algorithm in (MD5, XXH128):
            base = self.dir / algorithm
            for prefix in sorted(os.listdir(base)) if base.is_dir() else ():
                if len(prefix) != 2 or not (base / prefix).is_dir():
                    continue
                for name in sorted(os.listdir(base / prefix)):
                    hex_digest = prefix + name
                    if _HEX_NAME.fullmatch(hex_digest):
                        yield algorithm, hex_digest, base / prefix / name

    def chunks_of(self, digest: str, algorithm: str) -> list[ChunkRef]:
        """The chunks a stored list names (none for a missing or torn list).

        Raises: ValueError (bad digest); OSError (the list cannot be read).
        """
        chunk_list = self.read_list(digest, algorithm)
        return [] if chunk_list is None else list(chunk_list.chunks)

    def delete(self, digest: str, algorithm: str) -> bool:
        """Remove a chunk list (its chunks stay until a collection finds them unused);
        True if it was there.

        Raises: ValueError (bad digest); OSError (it cannot be removed).
        """
        try:
            os.unlink(self.list_path(digest, algorithm))
        except FileNotFoundError:
            return False
        return True

    def _require(self, digest: str, algorithm: str) -> ChunkList:
        chunk_list = self.read_list(digest, algorithm)
        if chunk_list is None:
            path = self.list_path(digest, algorithm)
            raise FileNotFoundError(
                errno.ENOENT, "Blob not stored (no whole chunk list)", str(path)
            )
        return chunk_list

    def _read_chunk(self, digest: bytes, _size: int) -> bytes:
        data = self.packs.read(CHUNK_ALGORITHM, b64(digest))
        if data is None:
            raise FileNotFoundError(errno.ENOENT, "Chunk not stored", chunk_key(digest))
        return data

    def _locations(self, chunk_list: ChunkList) -> list[Location]:
        """Where each chunk is packed, in order.

        Raises: CorruptionError (a chunk is not stored, or has another size: named).
        """
        locations = []
        for chunk in chunk_list.chunks:
            location = self.packs.lookup(CHUNK_ALGORITHM, b64(chunk.digest))
            if location is None or location[2] != chunk.size:
                what = "is missing" if location is None else "has another size"
                raise CorruptionError(
                    f"Chunk {chunk_key(chunk.digest)} of {chunk_list.digest} {what}",
                    context={"digest": chunk_list.digest, "chunk": chunk_key(chunk.digest)},
                )
            locations.append(location)
        return locations

    def _runs(self, chunk_list: ChunkList) -> list[Location]:
        """The chunks' pack ranges, adjacent ones merged (a first version is one run per
        pack). Raises: as ``_locations``."""
        runs: list[Location] = []
        for pack, offset, size in self._locations(chunk_list):
            if runs and runs[-1][0] == pack and runs[-1][1] + runs[-1][2] == offset:
                runs[-1] = (pack, runs[-1][1], runs[-1][2] + size)
            else:
                runs.append((pack, offset, size))
        return runs

    def _publish_list(self, data: bytes, digest: str, algorithm: str) -> None:
        """Write the list atomically under its final name, or keep the one there."""
        final = self.list_path(digest, algorithm)
        if self.read_list(digest, algorithm) is not None:
            with contextlib.suppress(OSError):
                os.utime(final)
            return
        tmp = self._tmp_dir / f"{final.name}-{os.getpid()}-{secrets.token_hex(8)}.list.tmp"
        try:
            with new_file(tmp, 0o600) as fd:
                write_all(fd, data)
                os.fsync(fd)
            os.chmod(tmp, LIST_MODE)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, final)  # replaces a torn list, never a whole one
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise


class _ChunkSink:
    """The chunks of one file being ingested: new ones appended to packs (published every
    ``PACK_MAX_SIZE`` bytes, flushed to disk in the background every ``_FLUSH_BYTES``),
    known ones only noted and their packs marked as used (at once, so a collection in
    another process keeps them from now on, and again at the end)."""

    def __init__(self, packs: PackTable, tmp_dir: Path) -> None:
        self._packs = packs
        self._tmp_dir = tmp_dir
        self._writer: PackWriter | None = None
        self._flusher = ThreadPoolExecutor(max_workers=1)
        self._flush: Future[None] | None = None
        self._unflushed = 0
        self._reused: set[Path] = set()  # the packs of chunks stored already
        self.refs: list[ChunkRef] = []

    def add(self, digest: bytes, data: memoryview) -> None:
        """Take the next chunk of the file. Raises ``OSError`` if a pack cannot be written."""
        self.refs.append(ChunkRef(digest, len(data)))
        key = b64(digest)
        if self._packs.holds(CHUNK_ALGORITHM, key):
            location = self._packs.peek(CHUNK_ALGORITHM, key)
            if location is not None and location[0] not in self._reused:
                self._reused.add(location[0])
                _touch([location[0]])
            return
        if self._writer is None:
            # chunks are larger than the buffer: written through, not copied into it
            self._writer = PackWriter(self._tmp_dir, self._packs.dir, buffer_size=_PACK_BUFFER)
        before = self._writer.size
        self._writer.append(CHUNK_ALGORITHM, digest, data, key)
        self._unflushed += self._writer.size - before
        if self._writer.size >= PACK_MAX_SIZE:
            self._wait_flush()
            self._writer.publish(self._packs)
            self._writer, self._unflushed = None, 0
        elif self._unflushed >= _FLUSH_BYTES and (self._flush is None or self._flush.done()):
            self._wait_flush()
            self._flush = self._flusher.submit(os.fdatasync, self._writer.hand_to_os())
            self._unflushed = 0

    def publish(self) -> None:
        """Publish the last pack and mark the packs of reused chunks as used.

        Raises ``OSError`` if the pack cannot be written."""
        self._wait_flush()
        if self._writer is not None:
            self._writer.publish(self._packs)
            self._writer = None
        self._flusher.shutdown()
        _touch(self._reused)

    def abort(self) -> None:
        """Drop the pack being written (published ones stay for a collection)."""
        with contextlib.suppress(OSError):
            self._wait_flush()
        if self._writer is not None:
            self._writer.abort()
            self._writer = None
        self._flusher.shutdown()

    def _wait_flush(self) -> None:
        if self._flush is not None:
            self._flush.result()
            self._flush = None


def _copy_range(src_fd: int, dest_fd: int, offset: int, length: int) -> None:
    """Copy ``length`` bytes of ``src_fd`` from ``offset`` to ``dest_fd``'s position: in
    the kernel where it can, else by read and write.

    Raises: OSError; CorruptionError (the source ends early: a truncated pack).
    """
    copy_range = getattr(os, "copy_file_range", None)
    while length and copy_range is not None:
        try:
            copied = copy_range(src_fd, dest_fd, length, offset)
        except OSError as exc:
            if exc.errno not in _UNSUPPORTED:
                raise
            break
        if not copied:
            raise CorruptionError("A pack of chunks is truncated", context={"offset": offset})
        offset += copied
        length -= copied
    while length:
        data = os.pread(src_fd, min(length, 8 * _BLOCK), offset)
        if not data:
            raise CorruptionError("A pack of chunks is truncated", context={"offset": offset})
        write_all(dest_fd, data)
        offset += len(data)
        length -= len(data)


def _touch(packs: Iterable[Path]) -> None:
    """Mark ``packs`` as just used (each once)."""
    for pack in set(packs):
        with contextlib.suppress(OSError):
            os.utime(pack)


__all__ = ["LISTS_DIR", "ChunkStore"]
