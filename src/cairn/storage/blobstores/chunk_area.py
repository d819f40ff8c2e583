"""One entity's chunks and chunk lists in a server's store (issue 24).

A large file (``cairn.storage.chunking``) may be stored on a server as the list of its
content-defined chunks instead of one whole object: a Cairn client uploads only the
chunks the entity's store lacks, then declares the file's chunk list; the official wandb
client uploads whole files, which the server cuts into chunks later, off the request
path. Chunks and lists are kept per entity, as blobs are (DESIGN §4): an entity's
questions are answered from its own chunks only, so no query reveals what another
entity stores.

Both server stores keep them on a ``ChunkShelf`` of their own (a directory of files, or
keys of the bucket), with two kinds of names:

- ``b3/<2 hex>/<62 hex>``: a chunk, named by the BLAKE3 digest of its bytes
  (``chunking.chunk_key``), checked before it is stored;
- ``lists/<32 hex>``: the chunk list of the file whose MD5 that is
  (``chunk_lists``), stored only once it is known to reassemble to that MD5 and size.

Nothing reaches a shelf unverified, and a torn or truncated list reads as missing (its
own self-check fails), never as a wrong file.
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Protocol

from cairn.core.digest import MD5, b64_to_hex, new_hasher
from cairn.errors import CommError, CorruptionError
from cairn.storage import chunk_lists
from cairn.storage.chunking import CHUNK_ALGORITHM, CHUNK_DIGEST_SIZE, chunk_digest, chunk_key

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

LISTS = "lists"
READ_THREADS = 8  # chunks read at once while a file is reassembled (S3: GETs in flight)
READ_WINDOW = 32  # chunks read ahead of the one being sent
CHUNK_KIND = "chunk"  # the algorithm a chunk is recorded and listed under (maintenance)
LIST_KIND = "chunklist"  # the algorithm a chunk list is recorded and listed under


class ChunkShelf(Protocol):
    """Named, immutable objects of one entity: written whole and atomically, never
    changed (a name already there is left as it is)."""

    def get(self, name: str) -> bytes | None:
        """The object's bytes, None when there is none."""
        ...

    def put(self, name: str, data: bytes) -> None: ...

    def put_many(self, items: Sequence[tuple[str, bytes]]) -> None: ...

    def present(self, names: Sequence[str]) -> set[str]:
        """The names of ``names`` that are stored."""
        ...


def chunk_name(hex_id: str) -> str:
    """The shelf name of the chunk ``hex_id`` (64 hex digits).

    Raises: ValueError (not a chunk id).
    """
    return chunk_key(parse_chunk_id(hex_id))


def list_name(md5: str) -> str:
    """The shelf name of the chunk list of the file whose base64 MD5 is ``md5``.

    Raises: ValueError (not an MD5 digest).
    """
    return f"{LISTS}/{b64_to_hex(md5)}"


def parse_chunk_id(hex_id: str) -> bytes:
    """The raw digest of a chunk id written as 64 lowercase hex digits.

    Raises: ValueError (anything else).
    """
    if len(hex_id) != 2 * CHUNK_DIGEST_SIZE or hex_id.strip("0123456789abcdef"):
        raise ValueError(f"Invalid chunk id {hex_id[:80]!r}: expected 64 lowercase hex digits")
    return bytes.fromhex(hex_id)


@dataclasses.dataclass(frozen=True)
class ChunkedFile:
    """A file as a list of chunks: its base64 MD5, size and ``(hex id, size)`` chunks."""

    md5: str
    size: int
    chunks: list[tuple[str, int]]


class ChunkArea:
    """The chunks and chunk lists of one entity, on ``shelf`` (see the module doc)."""

    def __init__(self, shelf: ChunkShelf) -> None:
        self.shelf = shelf

    # ------------------------------------------------------------ chunks

    def lacking(self, ids: Sequence[str]) -> set[str]:
        """The chunk ids of ``ids`` this entity does not store.

        Raises: ValueError (an invalid id, before anything is asked).
        """
        names = {chunk_name(hex_id): hex_id for hex_id in ids}
        present = self.shelf.present(list(names))
        return {hex_id for name, hex_id in names.items() if name not in present}

    def put_chunks(self, chunks: Sequence[tuple[str, bytes | memoryview]]) -> None:
        """Store ``(hex id, bytes)`` chunks once every one is checked against its id.

        Raises: ValueError (an invalid id), CorruptionError (bytes that are not their
        chunk: nothing stored).
        """
        for position, (hex_id, data) in enumerate(chunks):
            if chunk_digest(data) != parse_chunk_id(hex_id):
                raise CorruptionError(
                    f"chunk {position} of the batch ({hex_id}) does not match its id: "
                    "nothing of the batch was stored",
                    context={"chunk": hex_id},
                )
        self.shelf.put_many([(chunk_name(hex_id), bytes(data)) for hex_id, data in chunks])

    def read_chunk(self, hex_id: str) -> bytes:
        """The bytes of one chunk, checked against its id.

        Raises: ValueError (invalid id), KeyError (not stored), CorruptionError (the
        stored bytes are not the chunk: named).
        """
        data = self.shelf.get(chunk_name(hex_id))
        if data is None:
            raise KeyError(f"chunk {hex_id} not found")
        if chunk_digest(data).hex() != hex_id:
            raise CorruptionError(f"chunk {hex_id} is corrupted", context={"chunk": hex_id})
        return data

    # ------------------------------------------------------------ chunk lists

    def read_list(self, md5: str) -> ChunkedFile | None:
        """The chunk list of the file ``md5``, None when there is none or it is torn
        (it fails its self-check, or names another file).

        Raises: ValueError (not an MD5 digest).
        """
        data = self.shelf.get(list_name(md5))
        if data is None:
            return None
        return decode_list(md5, data)

    def list_bytes(self, md5: str) -> bytes | None:
        """The stored chunk list of ``md5`` as it is sent to clients, None when there is
        none or it is torn. Raises: ValueError (not an MD5 digest)."""
        data = self.shelf.get(list_name(md5))
        if data is None or decode_list(md5, data) is None:
            return None
        return data

    def has_files(self, md5s: Sequence[str]) -> set[str]:
        """The MD5s of ``md5s`` stored as chunk lists (present; their self-check is
        made when they are read). Raises: ValueError (an invalid digest)."""
        names = {list_name(md5): md5 for md5 in md5s}
        present = self.shelf.present(list(names))
        return {md5 for name, md5 in names.items() if name in present}

    def readable_files(self, md5s: Sequence[str]) -> set[str]:
        """The MD5s of ``md5s`` whose chunk lists are stored and pass their self-check (a
        torn list reads as a missing file). Raises: ValueError (an invalid digest)."""
        return {md5 for md5 in self.has_files(md5s) if self.read_list(md5) is not None}

    def declare(self, md5: str, size: int, data: bytes) -> ChunkedFile:
        """Store ``data`` as the chunk list of the file ``md5`` of ``size`` bytes, once
        the list is checked: well formed, naming that file, every chunk stored, and its
        chunks reassembled have that size and MD5.

        Raises:
            ValueError: ``data`` is no chunk list of that file (malformed, torn, or
                naming another MD5 or size).
            CommError: chunks of the list are not stored (the message says how many).
            CorruptionError: the chunks reassemble to another MD5 (nothing stored).
        """
        chunked = decode_list(md5, data)
        if chunked is None:
            raise ValueError(f"the chunk list sent for {md5} is malformed or names another file")
        if chunked.size != size:
            raise ValueError(f"the chunk list of {md5} adds up to {chunked.size} bytes, not {size}")
        lacking = self.lacking([hex_id for hex_id, _size in chunked.chunks])
        if lacking:
            raise CommError(
                f"{len(lacking)} chunk(s) of the list of {md5} were never uploaded "
                f"(first: {sorted(lacking)[0]})"
            )
        hasher = new_hasher("md5")
        for piece in self.iter_chunks(chunked):
            hasher.update(piece)
        if b64_to_hex(md5) != hasher.hexdigest():
            raise CorruptionError(
                f"the chunks of the list of {md5} reassemble to MD5 {hasher.hexdigest()}: "
                "nothing was stored",
                context={"digest": md5},
            )
        self.shelf.put(list_name(md5), data)
        return chunked

    def adopt_list(self, md5: str, data: bytes) -> None:
        """Store ``data`` as the chunk list of ``md5`` without reading its chunks back:
        for a list the server made itself while it hashed the very bytes it cut (their
        MD5 checked, every chunk stored or found stored).

        Raises: ValueError (``data`` is no list of ``md5``).
        """
        if decode_list(md5, data) is None:
            raise ValueError(f"not a chunk list of {md5}")
        self.shelf.put(list_name(md5), data)

    def iter_chunks(self, chunked: ChunkedFile, start: int = 0) -> Iterator[bytes]:
        """The file's bytes from ``start``, chunk by chunk, each checked against its id
        and size.

        Raises: KeyError (a chunk is not stored), CorruptionError (a chunk is wrong:
        named).
        """
        wanted: list[tuple[str, int, int]] = []  # id, size, bytes to skip
        offset = 0
        for hex_id, size in chunked.chunks:
            if offset + size > start:
                wanted.append((hex_id, size, max(0, start - offset)))
            offset += size
        with ThreadPoolExecutor(READ_THREADS) as pool:
            for window in range(0, len(wanted), READ_WINDOW):
                part = wanted[window : window + READ_WINDOW]
                datas = pool.map(self.read_chunk, [hex_id for hex_id, _s, _k in part])
                for (hex_id, size, skip), data in zip(part, datas, strict=True):
                    if len(data) != size:
                        raise CorruptionError(
                            f"chunk {hex_id} has {len(data)} bytes, not {size}",
                            context={"chunk": hex_id},
                        )
                    yield data[skip:] if skip else data

    def iter_file(self, md5: str, start: int = 0) -> Iterator[bytes]:
        """The bytes of the chunked file ``md5`` from ``start``. Raises at once, before
        the first chunk: KeyError (no chunk list, or a torn one); then as ``iter_chunks``.
        """
        chunked = self.read_list(md5)
        if chunked is None:
            raise KeyError(f"blob md5 {md5} not found")
        return self.iter_chunks(chunked, start)


def decode_list(md5: str, data: bytes) -> ChunkedFile | None:
    """The chunk list ``data`` of the file ``md5``; None when it is torn, malformed or
    names another file."""
    try:
        parsed = chunk_lists.decode_chunk_list(data, list_name(md5))
    except CorruptionError:
        return None
    if parsed.algorithm != MD5 or b64_to_hex(parsed.digest) != b64_to_hex(md5):
        return None
    chunks = [(ref.digest.hex(), ref.size) for ref in parsed.chunks]
    return ChunkedFile(md5, parsed.size, chunks)


def shelf_kind(name: str) -> tuple[str, str] | None:
    """``(kind, hex digest)`` of a shelf name (``CHUNK_KIND`` or ``LIST_KIND``), None for
    any other name (maintenance walks)."""
    parts = name.split("/")
    hexdigits = "".join(parts[1:])
    if hexdigits.strip("0123456789abcdef"):
        return None
    if len(parts) == 3 and parts[0] == CHUNK_ALGORITHM and len(parts[1]) == 2:
        return (CHUNK_KIND, hexdigits) if len(hexdigits) == 64 else None
    if len(parts) == 2 and parts[0] == LISTS and len(hexdigits) == 32:
        return LIST_KIND, hexdigits
    return None
