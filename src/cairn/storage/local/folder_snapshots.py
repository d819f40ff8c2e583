"""Folder snapshots: a batch of files as it was when ingested, one file per folder.

Re-versioning an unchanged folder of 20,000 files then reads one file and compares two
byte strings instead of fetching and checking 20,000 rows of the stat cache. A snapshot is
a cache entry like those rows, but a big one (2.4 MB for 20,000 files): SQLite took 15-60
ms to write one here, a plain file 2-7 ms. So it is a file of its own in the stat cache's
``snapshots`` folder, written to a temporary name and renamed, and never synced: a crash
can leave it empty or torn, which its length fields and CRC-32 catch, and a snapshot
that cannot be read is simply absent (the files are then looked at one by one).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import secrets
import struct
import zlib
from array import array
from typing import TYPE_CHECKING

from cairn.storage.local.placing import new_file, write_all

if TYPE_CHECKING:
    from pathlib import Path

SNAPSHOT_MAX_FILES = 4_000_000  # larger batches use the per-file rows only (~100 MB a million)
_MAGIC = b"CAIRNSN1"
# magic, hashed_ns, then the byte lengths of: folder and algorithm, generation, paths,
# digests; and the file count (fields and inodes are 32 bytes per file).
_HEADER = struct.Struct("<8sqQQQQQ")
_CRC = struct.Struct("<I")


@dataclasses.dataclass(frozen=True)
class FolderSnapshot:
    """A batch of files as it was when ingested: what ``SnapshotFiles.read`` returns.

    ``paths`` are the batch's absolute paths joined by NUL (a byte no path holds), in the
    batch's order; ``fields`` holds ``size, mtime_ns, ctime_ns`` of each file in turn and
    ``inodes`` its inode; ``digests`` are the files' digests in the same order. For the
    embedded store, every blob was stored when the snapshot was taken, in the store's
    ``generation`` (``cairn.service.known_blobs``; empty for the remote client's staging);
    the stat fields were taken at or before ``hashed_ns``.
    """

    paths: str
    fields: array[int]
    inodes: array[int]
    digests: list[str]
    hashed_ns: int
    generation: str


def snapshot_folder(joined: str) -> str:
    """The folder a batch of absolute paths (``joined`` by NUL) is filed under: the
    deepest directory holding them all, so the same folder listed again finds its snapshot.

    Each of the first path's directories, deepest first, is counted as a prefix in the
    joined text (a C loop) rather than the paths compared pairwise in Python.
    """
    marked = "\0" + joined
    count = marked.count("\0")
    first = joined.split("\0", 1)[0]
    end = first.rfind("/") + 1
    while end > 1:
        folder = first[:end]
        if marked.count("\0" + folder) == count:
            return folder
        end = first.rfind("/", 0, end - 1) + 1
    return "/"


class SnapshotFiles:
    """The snapshot files of one stat cache, in ``directory`` (created on first write)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def read(self, folder: str, algorithm: str) -> FolderSnapshot | None:
        """The snapshot last written for ``folder`` and ``algorithm``, or None (also when
        its file is torn or was written for another folder). Raises nothing."""
        try:
            data = (self.directory / _name(folder, algorithm)).read_bytes()
        except OSError:
            return None
        return _decode(data, _key(folder, algorithm))

    def write(self, folder: str, algorithm: str, snapshot: FolderSnapshot) -> None:
        """Replace the snapshot of ``folder`` and ``algorithm`` (atomically, not durably).

        Raises:
            OSError: the file cannot be written.
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        final = self.directory / _name(folder, algorithm)
        temporary = final.with_name(f"{final.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
        with new_file(temporary, 0o600) as fd:
            for part in _encode(snapshot, _key(folder, algorithm)):
                write_all(fd, part)
        try:
            os.replace(temporary, final)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise


def _key(folder: str, algorithm: str) -> bytes:
    return f"{algorithm}\0{folder}".encode("utf-8", "surrogateescape")


def _name(folder: str, algorithm: str) -> str:
    return hashlib.sha256(_key(folder, algorithm)).hexdigest()[:32] + ".snap"


def _encode(snapshot: FolderSnapshot, key: bytes) -> list[bytes | memoryview]:
    """The parts of a snapshot file, in order: written one after another, never joined
    (a million files' snapshot is ~100 MB; a joined copy of it was the peak of a fresh add)."""
    generation = snapshot.generation.encode("utf-8")
    paths = snapshot.paths.encode("utf-8", "surrogateescape")
    digests = "\n".join(snapshot.digests).encode("ascii")
    count = len(snapshot.inodes)
    header = _HEADER.pack(
        _MAGIC, snapshot.hashed_ns, len(key), len(generation), len(paths), len(digests), count
    )
    fields, inodes = memoryview(snapshot.fields).cast("B"), memoryview(snapshot.inodes).cast("B")
    parts: list[bytes | memoryview] = [header, key, generation, paths, fields, inodes, digests]
    crc = 0
    for part in parts:
        crc = zlib.crc32(part, crc)
    parts.append(_CRC.pack(crc))
    return parts


def _decode(data: bytes, key: bytes) -> FolderSnapshot | None:
    if len(data) < _HEADER.size + _CRC.size:
        return None
    magic, hashed_ns, key_len, generation_len, paths_len, digests_len, count = _HEADER.unpack_from(
        data
    )
    body_len = _HEADER.size + key_len + generation_len + paths_len + 32 * count + digests_len
    if magic != _MAGIC or len(data) != body_len + _CRC.size:
        return None
    body = memoryview(data)[:body_len]
    if _CRC.unpack_from(data, body_len)[0] != zlib.crc32(body):
        return None
    offset = _HEADER.size
    parts = []
    for length in (key_len, generation_len, paths_len, 24 * count, 8 * count, digests_len):
        parts.append(body[offset : offset + length])
        offset += length
    if parts[0] != key:  # another folder whose name hashed alike
        return None
    fields, inodes = array("q"), array("Q")
    fields.frombytes(parts[3])
    inodes.frombytes(parts[4])
    digests = bytes(parts[5]).decode("ascii").split("\n") if count else []
    return FolderSnapshot(
        bytes(parts[2]).decode("utf-8", "surrogateescape"),
        fields,
        inodes,
        digests,
        hashed_ns,
        bytes(parts[1]).decode("utf-8"),
    )
