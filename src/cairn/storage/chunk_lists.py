"""Chunk lists: a large file stored as the ordered list of its chunks (issue 24).

A chunk list names the whole file (its entry digest: MD5, or XXH3-128 for artifacts that
use it, and its size) and then every chunk in order (BLAKE3 digest, size). It is binary,
with a BLAKE3 trailer over everything before it, so a torn or truncated list (a crash, a
bad disk, a partial copy) fails ``decode_chunk_list`` and is taken for a missing blob,
never read as a shorter or other file::

    magic "CAIRNCL1" | algorithm id (1 byte: 0 md5, 1 xxh128) | raw entry digest (16 bytes)
    | file size (u64 LE) | chunk count (u64 LE)
    | count x (BLAKE3 digest (32 bytes), chunk size (u64 LE))
    | BLAKE3 of all the above (32 bytes)

``reassemble`` yields the file's bytes from a chunk reader, checking each chunk's size
(and its BLAKE3 where asked), the total size and, where asked, the entry digest; any
mismatch raises ``CorruptionError`` naming the chunk.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, NamedTuple

import blake3

from cairn.core.digest import MD5, XXH128, b64, b64_to_hex, new_hasher
from cairn.errors import CorruptionError
from cairn.storage.chunking import CHUNK_DIGEST_SIZE, ChunkRef, chunk_digest, chunk_key

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

_MAGIC = b"CAIRNCL1"
_HEADER = struct.Struct("<8sB16sQQ")  # magic, algorithm id, raw digest, file size, count
_RECORD = struct.Struct(f"<{CHUNK_DIGEST_SIZE}sQ")  # chunk digest, chunk size
_TRAILER = 32  # BLAKE3 of header + records
_ALGORITHMS = (MD5, XXH128)
_RAW_DIGEST = 16


class ChunkList(NamedTuple):
    """A decoded chunk list: the file's entry digest (base64), algorithm, size, chunks."""

    digest: str
    algorithm: str
    size: int
    chunks: tuple[ChunkRef, ...]


def encode_chunk_list(digest: str, algorithm: str, size: int, chunks: Sequence[ChunkRef]) -> bytes:
    """The bytes of the chunk list of a file (base64 entry ``digest`` of ``algorithm``).

    Raises:
        ValueError: unknown ``algorithm``, a digest of the wrong length, or chunk sizes
            that do not add up to ``size``.
    """
    raw = _raw_digest(digest)
    if sum(chunk.size for chunk in chunks) != size:
        raise ValueError(f"Chunks of {digest} do not add up to its size {size}")
    parts = [_HEADER.pack(_MAGIC, _algorithm_id(algorithm), raw, size, len(chunks))]
    for chunk in chunks:
        if len(chunk.digest) != CHUNK_DIGEST_SIZE:
            raise ValueError(f"A chunk digest has {CHUNK_DIGEST_SIZE} bytes")
        parts.append(_RECORD.pack(chunk.digest, chunk.size))
    body = b"".join(parts)
    return body + blake3.blake3(body).digest()


def decode_chunk_list(data: bytes, name: str) -> ChunkList:
    """Parse and check the bytes of a chunk list (``name`` says where it was read from).

    Raises:
        CorruptionError: torn, truncated or altered bytes (bad magic, length, trailer,
            algorithm or sizes); the message names ``name``.
    """
    size_ok = len(data) >= _HEADER.size + _TRAILER
    body, trailer = data[:-_TRAILER], data[-_TRAILER:]
    if not size_ok or blake3.blake3(body).digest() != trailer:
        raise CorruptionError(f"Chunk list '{name}' is torn or truncated", context={"list": name})
    magic, alg_id, raw, size, count = _HEADER.unpack_from(body)
    if (
        magic != _MAGIC
        or alg_id >= len(_ALGORITHMS)
        or len(body) != _HEADER.size + count * _RECORD.size
    ):
        raise CorruptionError(f"Chunk list '{name}' is corrupt", context={"list": name})
    chunks = tuple(
        ChunkRef(digest, length)
        for digest, length in _RECORD.iter_unpack(memoryview(body)[_HEADER.size :])
    )
    if sum(chunk.size for chunk in chunks) != size:
        raise CorruptionError(f"Chunk list '{name}' is corrupt", context={"list": name})
    return ChunkList(b64(raw), _ALGORITHMS[alg_id], size, chunks)


def reassemble(
    chunk_list: ChunkList,
    read_chunk: Callable[[bytes, int], bytes],
    check_chunks: bool = False,
    check_digest: bool = False,
) -> Iterator[bytes]:
    """The bytes of the file ``chunk_list`` describes, chunk after chunk.

    ``read_chunk(digest, size)`` returns a chunk's bytes. Each chunk's size is checked,
    its BLAKE3 digest if ``check_chunks``, the total size always and the file's entry
    digest after the last chunk if ``check_digest``.

    Raises:
        CorruptionError: a chunk is missing, has another size or other bytes, or the file
            has another digest; the message names the chunk (``b3/..``) or the file.
    """
    hasher = new_hasher(chunk_list.algorithm) if check_digest else None
    total = 0
    for chunk in chunk_list.chunks:
        key = chunk_key(chunk.digest)
        try:
            data = read_chunk(chunk.digest, chunk.size)
        except FileNotFoundError:
            raise _chunk_error(chunk_list, key, "is missing") from None
        if len(data) != chunk.size or (check_chunks and chunk_digest(data) != chunk.digest):
            raise _chunk_error(chunk_list, key, "is corrupt")
        if hasher is not None:
            hasher.update(data)
        total += len(data)
        yield data
    if total != chunk_list.size:
        raise _chunk_error(chunk_list, "", "has the wrong size")
    if hasher is not None and b64_to_hex(b64(hasher.digest())) != b64_to_hex(chunk_list.digest):
        raise _chunk_error(chunk_list, "", "does not reassemble to its digest")


def _chunk_error(chunk_list: ChunkList, key: str, what: str) -> CorruptionError:
    """The error for a chunk (``key``) or, if ``key`` is empty, the whole file."""
    subject = f"Chunk {key} of {chunk_list.digest}" if key else f"Chunked file {chunk_list.digest}"
    return CorruptionError(
        f"{subject} {what}", context={"digest": chunk_list.digest, "chunk": key or None}
    )


def _algorithm_id(algorithm: str) -> int:
    """The id byte of an entry algorithm. Raises ``ValueError`` for an unknown one."""
    try:
        return _ALGORITHMS.index(algorithm)
    except ValueError:
        raise ValueError(f"Unknown digest algorithm: {algorithm!r}") from None


def _raw_digest(digest: str) -> bytes:
    """The 16 raw bytes of a base64 entry digest. Raises ``ValueError`` otherwise."""
    raw = bytes.fromhex(b64_to_hex(digest))
    if len(raw) != _RAW_DIGEST:
        raise ValueError(f"Not an entry digest: {digest!r}")
    return raw
