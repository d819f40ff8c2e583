"""Pack files: many small blobs in one file plus an index, as git packs objects (DESIGN §4, §6).

Writing 20,000 small files costs far more than writing their bytes (file creation, one
fsync each). The blob store therefore appends small blobs to one pack file and publishes
it with an index:

1. blobs are appended to a temporary file in ``root/tmp`` (unique per writer);
2. the pack is fsynced, made read-only and renamed to ``packs/pack-<id>.pack``;
3. the index (a header, one fixed record per blob, an MD5 trailer over everything before
   it) is written to a temporary file, fsynced and renamed to ``packs/pack-<id>.idx``.

A blob is visible only through an index, and an index is published only after its pack is
durable under its final name, so a crash at any point leaves no partial blob visible: at
worst a temporary file or a pack without an index, which ``orphan_packs`` lists for
cleanup. Readers load every index into one in-memory table and reload when a lookup
misses (another process may have published a pack since).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import secrets
import struct
import threading
from array import array
from itertools import accumulate, repeat
from operator import lshift, or_
from pathlib import Path
from typing import TYPE_CHECKING

from cairn.core.digest import MD5, XXH128
from cairn.errors import CorruptionError
from cairn.storage.chunking import CHUNK_ALGORITHM, CHUNK_DIGEST_SIZE
from cairn.storage.local.placing import new_file, write_all

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

PACKS_DIR = "packs"
PACK_SUFFIX = ".pack"
INDEX_SUFFIX = ".idx"
PACK_MODE = 0o444
_MAGIC = b"CAIRNIX1"  # records of 16-byte digests (MD5, XXH3-128: whole small blobs)
_MAGIC_WIDE = b"CAIRNIX2"  # records of 32-byte digests (BLAKE3 chunks; shorter ones padded)
_HEADER = struct.Struct("<8sQ")  # magic, record count
_RECORD = struct.Struct("<B16sQQ")  # algorithm id, raw digest, offset, size
_RECORD_WIDE = struct.Struct("<B32sQQ")
_FORMATS = {_MAGIC: _RECORD, _MAGIC_WIDE: _RECORD_WIDE}
_TRAILER = 16  # MD5 of header + records
_ALGORITHMS = (MD5, XXH128, CHUNK_ALGORITHM)
_RAW_SIZES = (16, 16, CHUNK_DIGEST_SIZE)
_ALGORITHM_IDS = {name: index for index, name in enumerate(_ALGORITHMS)}

# (pack path, offset, size)
Location = tuple[Path, int, int]
# A table entry packs a location in one int: pack number, then offset, then size.
_SIZE_BITS = 40  # offsets and sizes below 1 TiB (a pack is published past 256 MiB)
_PACK_SHIFT = 2 * _SIZE_BITS
_MASK = (1 << _SIZE_BITS) - 1


def index_key(algorithm: str, digest: str) -> tuple[int, str]:
    """The table key of a blob: (algorithm id, base64 entry digest), so a lookup needs no
    decoding (a digest spelt another way than base64's canonical form simply misses).

    Raises ``ValueError`` for an unknown algorithm.
    """
    try:
        return _ALGORITHM_IDS[algorithm], digest
    except KeyError:
        raise ValueError(f"Unknown digest algorithm: {algorithm!r}") from None


def encode_index(records: list[tuple[str, bytes, int, int]]) -> bytes:
    """The bytes of an index for ``(algorithm, raw digest, offset, size)`` records: the
    first format (``CAIRNIX1``, as every store before chunks wrote) unless a record holds a
    32-byte chunk digest (``CAIRNIX2``)."""
    ids = _ALGORITHM_IDS
    wide = any(len(raw) > _RAW_SIZES[0] for _alg, raw, _offset, _size in records)
    record = _RECORD_WIDE if wide else _RECORD
    return _index_bytes(
        len(records),
        [record.pack(ids[alg], raw, offset, size) for alg, raw, offset, size in records],
        wide=wide,
    )


def _index_bytes(count: int, encoded: list[bytes], *, wide: bool) -> bytes:
    """An index of ``count`` records from their encoded bytes (in any grouping), in the
    wide format (``CAIRNIX2``) when ``wide``."""
    body = b"".join((_HEADER.pack(_MAGIC_WIDE if wide else _MAGIC, count), *encoded))
    return body + hashlib.md5(body).digest()


def _record_of(alg_id: int) -> struct.Struct:
    """The record struct an ``alg_id`` digest is written in: wide for chunk digests."""
    return _RECORD_WIDE if _RAW_SIZES[alg_id] > _RAW_SIZES[0] else _RECORD


def decode_index(data: bytes, name: str) -> Iterator[tuple[int, bytes, int, int]]:
    """Parse index bytes into ``(algorithm id, raw digest, offset, size)`` records (checked
    whole first, then yielded one by one; a padded digest is cut to its algorithm's size).

    Raises:
        CorruptionError: bad magic, length or trailer checksum (``name`` is in the message).
    """
    body, record = _checked_body(data, name)
    records = record.iter_unpack(memoryview(body)[_HEADER.size :])
    if record is _RECORD:
        return records
    return ((alg, raw[: _RAW_SIZES[alg]], offset, size) for alg, raw, offset, size in records)


def _checked_body(data: bytes, name: str) -> tuple[bytes, struct.Struct]:
    """Index bytes without their trailer, once magic, length and checksum are checked, and
    the struct of their records.

    Raises ``CorruptionError`` naming the index.
    """
    if len(data) < _HEADER.size + _TRAILER:
        raise CorruptionError(f"Pack index '{name}' is truncated", context={"index": name})
    body, trailer = data[:-_TRAILER], data[-_TRAILER:]
    magic, count = _HEADER.unpack_from(body)
    record = _FORMATS.get(magic)
    if (
        record is None
        or len(body) != _HEADER.size + count * record.size
        or hashlib.md5(body).digest() != trailer
    ):
        raise CorruptionError(f"Pack index '{name}' is corrupt", context={"index": name})
    return body, record


def _find_record(
    body: bytes, record: struct.Struct, alg_id: int, raw: bytes
) -> tuple[int, bytes, int, int] | None:
    """The record of ``raw`` (an ``alg_id`` digest) in checked index ``body`` of records
    ``record``, or None: a byte search, each match accepted only where a record's digest
    starts."""
    position = body.find(raw, _HEADER.size + 1)
    while position != -1:
        start = position - 1  # the record's algorithm byte
        if (start - _HEADER.size) % record.size == 0 and body[start] == alg_id:
            alg, padded, offset, size = record.unpack_from(body, start)
            return alg, padded[: len(raw)], offset, size
        position = body.find(raw, position + 1)
    return None


class PackTable:
    """Every published pack index of one store, loaded into memory; thread-safe."""

    def __init__(self, packs_dir: Path) -> None:
        self.dir = packs_dir
        self._lock = threading.Lock()
        self._loaded: set[str] = set()
        # One dict per algorithm: base64 digest -> pack number, offset and size packed in
        # one int (see _pack_location); a million packed blobs then cost ~150 MB, not ~300.
        self._tables: tuple[dict[str, int], ...] = tuple({} for _ in _ALGORITHMS)
        self._packs: list[Path] = []

    def lookup(self, algorithm: str, digest: str) -> Location | None:
        """Where the blob lives, or None; reloads the indexes once on a miss.

        Raises:
            CorruptionError: a newly published index is corrupt.
            ValueError: unknown ``algorithm``.
        """
        found = self.peek(algorithm, digest)
        if found is None:
            # Look again even if this call loaded nothing: another thread may just have.
            self.refresh()
            found = self.peek(algorithm, digest)
        return found

    def peek(self, algorithm: str, digest: str) -> Location | None:
        """Like ``lookup`` but without reloading (for callers that refreshed just before).

        Raises ``ValueError`` for an unknown algorithm.
        """
        packed = self._tables[index_key(algorithm, digest)[0]].get(digest)
        if packed is None:
            return None
        return self._packs[packed >> _PACK_SHIFT], (packed >> _SIZE_BITS) & _MASK, packed & _MASK

    def holds(self, algorithm: str, digest: str) -> bool:
        """Whether the blob is in a loaded pack (no reload; cheaper than ``peek``).

        Raises ``ValueError`` for an unknown algorithm.
        """
        return digest in self._tables[index_key(algorithm, digest)[0]]

    def held(self, algorithm: str, digests: Iterable[str]) -> set[str]:
        """Those of ``digests`` (base64) in a loaded pack, without a reload: one set
        operation in C for a chunk of files.

        Raises ``ValueError`` for an unknown algorithm.
        """
        return self._tables[index_key(algorithm, "")[0]].keys() & digests

    def split_packed(
        self, refs: Iterable[tuple[str, str]]
    ) -> tuple[set[Path], list[tuple[str, str]]]:
        """For ``(base64 digest, algorithm)`` refs: the packs holding those in loaded packs,
        and the refs that are not (no reload). One pass, for a million refs at once.

        Raises ``ValueError`` for an unknown algorithm.
        """
        numbers: set[int] = set()
        rest: list[tuple[str, str]] = []
        tables = self._tables
        for ref in refs:
            packed = tables[index_key(ref[1], ref[0])[0]].get(ref[0])
            if packed is None:
                rest.append(ref)
            else:
                numbers.add(packed >> _PACK_SHIFT)
        packs = self._packs
        return {packs[number] for number in numbers}, rest

    def refresh(self) -> bool:
        """Load indexes published since the last call, and forget packs removed since
        (the garbage collector rewrites packs); True if anything changed.

        Raises:
            CorruptionError: an index is corrupt.
        """
        try:
            names = {n for n in os.listdir(self.dir) if n.endswith(INDEX_SUFFIX)}
        except FileNotFoundError:
            names = set()
        with self._lock:
            if self._loaded - names:
                for table in self._tables:
                    table.clear()
                self._packs.clear()
                self._loaded.clear()
            new = sorted(names - self._loaded)
            for name in new:
                self._load(name)
        return bool(new)

    def probe(self, algorithm: str, raws: Iterable[bytes]) -> dict[bytes, Location]:
        """Where each of a few blobs (raw digests) is packed, if it is: looked up in the
        loaded indexes and searched for in the bytes of those published since, which are
        not loaded (cheaper than ``refresh`` for a handful of blobs: a store of 20,000
        packed blobs takes 15-30 ms to load). If an index loaded before is gone (the
        collector rewrote a pack), everything is loaded again as ``refresh`` does.

        Raises:
            CorruptionError: an index is corrupt.
            ValueError: unknown ``algorithm``.
        """
        alg_id = index_key(algorithm, "")[0]
        try:
            names = {n for n in os.listdir(self.dir) if n.endswith(INDEX_SUFFIX)}
        except FileNotFoundError:
            names = set()
        with self._lock:
            stale = bool(self._loaded - names)
            unloaded = sorted(names - self._loaded)
        if stale:
            self.refresh()
            unloaded = []
        found: dict[bytes, Location] = {}
        wanted: list[bytes] = []
        for raw in raws:
            location = self.peek(algorithm, base64.b64encode(raw).decode("ascii"))
            if location is None:
                wanted.append(raw)
            else:
                found[raw] = location
        for name in unloaded:
            if not wanted:
                break
            path = self.dir / name
            body, layout = _checked_body(path.read_bytes(), str(path))
            for raw in list(wanted):
                record = _find_record(body, layout, alg_id, raw)
                if record is not None:
                    found[raw] = (path.with_suffix(PACK_SUFFIX), record[2], record[3])
                    wanted.remove(raw)
        return found

    def read(self, algorithm: str, digest: str) -> bytes | None:
        """The bytes of a packed blob (None if it is not packed); a pack that vanished
        under a stale index (rewritten by the garbage collector) is looked up again.

        Raises:
            CorruptionError: a pack is shorter than its index says, or an index is corrupt.
            ValueError: unknown ``algorithm``.
        """
        for _attempt in range(2):
            location = self.lookup(algorithm, digest)
            if location is None:
                return None
            try:
                return read_range(location)
            except FileNotFoundError:
                self.refresh()
        return None

    def blobs_of(self, pack: Path) -> list[tuple[str, str, int]]:
        """``(algorithm, base64 digest, size)`` of every blob the table serves from ``pack``."""
        return [
            (alg, digest, size) for alg, digest, (path, _o, size) in self.items() if path == pack
        ]

    def _load(self, name: str) -> None:
        path = self.dir / name
        number = len(self._packs)
        records = decode_index(path.read_bytes(), str(path))
        self._packs.append(path.with_suffix(PACK_SUFFIX))
        base = number << _PACK_SHIFT
        tables = self._tables
        for alg_id, raw, offset, size in records:
            digest = base64.b64encode(raw).decode("ascii")
            tables[alg_id].setdefault(digest, base | offset << _SIZE_BITS | size)
        self._loaded.add(name)

    def adopt(
        self,
        pack: Path,
        alg_ids: Sequence[int],
        digests: Sequence[str],
        offsets: Sequence[int],
        sizes: Sequence[int],
    ) -> None:
        """Serve the pack this process just published from its records (algorithm id,
        base64 digest, offset and size of each blob, four parallel sequences), without
        reading its index back. A blob the table serves already keeps its location."""
        name = pack.with_suffix(INDEX_SUFFIX).name
        with self._lock:
            if name in self._loaded:
                return
            base = len(self._packs) << _PACK_SHIFT
            self._packs.append(pack)
            # ``base | offset << _SIZE_BITS | size`` of each blob, computed in C.
            shifted = map(lshift, offsets, repeat(_SIZE_BITS))
            packed = list(map(or_, map(or_, repeat(base), shifted), sizes))
            tables = self._tables
            if len(set(alg_ids)) == 1 and tables[alg_ids[0]].keys().isdisjoint(digests):
                tables[alg_ids[0]].update(zip(digests, packed, strict=True))  # the common case
            else:
                for alg_id, digest, location in zip(alg_ids, digests, packed, strict=True):
                    tables[alg_id].setdefault(digest, location)
            self._loaded.add(name)

    def items(self) -> Iterator[tuple[str, str, Location]]:
        """Every packed blob as ``(algorithm, base64 digest, location)`` (after a refresh)."""
        self.refresh()
        with self._lock:
            packs = list(self._packs)
            entries = [(alg_id, list(table.items())) for alg_id, table in enumerate(self._tables)]
        for alg_id, pairs in entries:
            for digest, packed in pairs:
                location = (
                    packs[packed >> _PACK_SHIFT],
                    (packed >> _SIZE_BITS) & _MASK,
                    packed & _MASK,
                )
                yield _ALGORITHMS[alg_id], digest, location

    def orphan_packs(self) -> list[Path]:
        """Pack files without an index (left by a crash between steps 2 and 3)."""
        try:
            names = set(os.listdir(self.dir))
        except FileNotFoundError:
            return []
        return [
            self.dir / name
            for name in sorted(names)
            if name.endswith(PACK_SUFFIX) and name[: -len(PACK_SUFFIX)] + INDEX_SUFFIX not in names
        ]


class PackWriter:
    """Appends blobs to one temporary pack; ``publish`` makes them all visible at once.

    What the index will hold is kept compact, a million tiny blobs being the case it is
    built for: the records already encoded (33 bytes each), offsets and sizes in arrays,
    and the base64 digests (shared with the caller's) for the table.
    """

    def __init__(self, tmp_dir: Path, packs_dir: Path, buffer_size: int = 1 << 20) -> None:
        """A new temporary pack; appends are buffered up to ``buffer_size`` bytes (a
        larger blob is written straight through, without a copy into the buffer)."""
        self._tmp_dir = tmp_dir
        self._packs_dir = packs_dir
        self._token = f"{os.getpid()}-{threading.get_ident()}-{secrets.token_hex(8)}"
        self._tmp = tmp_dir / f"{self._token}{PACK_SUFFIX}.tmp"
        self._file = open(self._tmp, "xb", buffering=buffer_size)  # noqa: SIM115 - closed in publish/abort
        self._offset = 0
        self._reset()
        self.final = packs_dir / f"pack-{secrets.token_hex(12)}{PACK_SUFFIX}"

    def _reset(self) -> None:
        self._index: list[bytes] = []  # encoded records, a blob or a batch of blobs each
        self._alg_ids, self._offsets, self._sizes = array("B"), array("Q"), array("Q")
        self._digests: list[str] = []  # base64, in record order
        self._wide: bool | None = None  # the index's format, fixed by the first record
        # Per algorithm id: the base64 digests this pack holds.
        self._seen: tuple[set[str], ...] = tuple(set() for _ in _ALGORITHMS)

    @property
    def size(self) -> int:
        """Bytes appended so far."""
        return self._offset

    def hand_to_os(self) -> int:
        """Write what is buffered to the temporary pack and return its descriptor, for a
        caller that ``fdatasync``s a large pack while it is still being written."""
        self._file.flush()
        return self._file.fileno()

    def _record(self, alg_id: int) -> struct.Struct:
        """The record struct of this pack's index, fixed by its first record: a pack holds
        whole small blobs or chunks, never both.

        Raises ``ValueError`` for a digest of the other width.
        """
        record = _record_of(alg_id)
        wide = record is _RECORD_WIDE
        if self._wide is None:
            self._wide = wide
        elif self._wide != wide:
            raise ValueError("A pack holds either chunks or whole blobs, not both")
        return record

    def append(
        self, algorithm: str, raw: bytes, data: bytes | memoryview, digest: str | None = None
    ) -> None:
        """Append one blob (skipped if this pack holds it already). ``digest`` is ``raw``
        in base64 when the caller has it already.

        Raises ``OSError`` if the temporary pack cannot be written; ``ValueError`` for an
        unknown algorithm or a digest of the other width than the pack's.
        """
        digest = digest or base64.b64encode(raw).decode("ascii")
        alg_id = index_key(algorithm, digest)[0]
        seen = self._seen[alg_id]
        if digest in seen:
            return
        record = self._record(alg_id)
        offset, size = self._offset, len(data)
        self._file.write(data)
        self._offset += size
        self._index.append(record.pack(alg_id, raw, offset, size))
        self._alg_ids.append(alg_id)
        self._offsets.append(offset)
        self._sizes.append(size)
        self._digests.append(digest)
        seen.add(digest)

    def append_many(
        self,
        algorithm: str,
        raws: Sequence[bytes],
        datas: Sequence[bytes | memoryview],
        digests: Sequence[str],
    ) -> None:
        """``append`` for many blobs at once (``digests`` are ``raws`` in base64): when no
        blob repeats, in the batch or in this pack, they are written and recorded without
        a Python step per blob (a folder of tiny files is mostly such steps).

        Raises ``OSError`` if the temporary pack cannot be written; ``ValueError`` for an
        unknown algorithm or a digest of the other width than the pack's.
        """
        alg_id = index_key(algorithm, "")[0]
        seen = self._seen[alg_id]
        if len(set(digests)) != len(digests) or not seen.isdisjoint(digests):
            for raw, data, digest in zip(raws, datas, digests, strict=True):
                self.append(algorithm, raw, data, digest)
            return
        record = self._record(alg_id)
        sizes = list(map(len, datas))
        offsets = list(accumulate(sizes, initial=self._offset))
        self._file.writelines(datas)
        self._offset = offsets.pop()
        self._index.append(b"".join(map(record.pack, repeat(alg_id), raws, offsets, sizes)))
        self._alg_ids.extend(repeat(alg_id, len(sizes)))
        self._offsets.extend(offsets)
        self._sizes.extend(sizes)
        self._digests.extend(digests)
        seen.update(digests)

    def publish(self, table: PackTable | None = None) -> Path | None:
        """Fsync and publish the pack, then its index; return the pack path (None if empty).
        ``table`` then serves the pack at once (``PackTable.adopt``).

        Raises:
            OSError: the pack or its index cannot be written; the temporary files are
                removed and nothing is visible.
        """
        try:
            self._file.flush()
            if not self._digests:
                self._file.close()
                os.unlink(self._tmp)
                return None
            os.fsync(self._file.fileno())
            self._file.close()
            os.chmod(self._tmp, PACK_MODE)
            self._packs_dir.mkdir(exist_ok=True)
            os.replace(self._tmp, self.final)
            index_tmp = self._tmp_dir / f"{self._token}{INDEX_SUFFIX}.tmp"
            try:
                with new_file(index_tmp, 0o600) as fd:
                    write_all(
                        fd, _index_bytes(len(self._digests), self._index, wide=bool(self._wide))
                    )
                    os.fsync(fd)
                os.chmod(index_tmp, PACK_MODE)
                os.replace(index_tmp, self.final.with_suffix(INDEX_SUFFIX))
            except BaseException:
                _unlink_quietly(index_tmp)
                _unlink_quietly(self.final)
                raise
        except BaseException:
            self.abort()
            raise
        if table is not None:
            table.adopt(self.final, self._alg_ids, self._digests, self._offsets, self._sizes)
        self._reset()  # the index holds them now
        return self.final

    def abort(self) -> None:
        """Drop the temporary pack (nothing of it was visible)."""
        with contextlib.suppress(OSError):
            self._file.close()
        _unlink_quietly(self._tmp)


def rewrite_pack(table: PackTable, tmp_dir: Path, pack: Path, dead: set[tuple[str, str]]) -> int:
    """Drop the ``(algorithm, base64 digest)`` blobs in ``dead`` from ``pack``; return the
    bytes freed.

    The blobs kept are first published in a new pack (so every one stays readable
    throughout), then the old index and pack are removed. Callers hold the store's write
    lock, so no commit can start needing a dropped blob meanwhile.

    Raises:
        OSError: the new pack cannot be written (the old one is then left untouched).
        CorruptionError: the old pack is shorter than its index says.
    """
    blobs = table.blobs_of(pack)
    keep = [(alg, digest) for alg, digest, _size in blobs if (alg, digest) not in dead]
    if len(keep) == len(blobs):
        return 0
    if keep:
        writer = PackWriter(tmp_dir, table.dir)
        try:
            for alg, digest in keep:
                location = table.peek(alg, digest)
                assert location is not None  # listed by blobs_of just above
                writer.append(alg, base64.b64decode(digest), read_range(location))
        except BaseException:
            writer.abort()
            raise
        writer.publish()
    _unlink_quietly(pack.with_suffix(INDEX_SUFFIX))
    _unlink_quietly(pack)
    table.refresh()
    return sum(size for alg, digest, size in blobs if (alg, digest) in dead)


def read_range(location: Location) -> bytes:
    """The bytes of a packed blob.

    Raises:
        OSError: the pack cannot be read.
        CorruptionError: the pack is shorter than its index says.
    """
    pack, offset, size = location
    fd = os.open(pack, os.O_RDONLY)
    try:
        data = os.pread(fd, size, offset)
    finally:
        os.close(fd)
    if len(data) != size:
        raise CorruptionError(f"Pack '{pack}' is truncated", context={"pack": str(pack)})
    return data


def _unlink_quietly(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
