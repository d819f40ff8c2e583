"""The client cache's small blobs, kept in packs: one file per batch of blobs, not one each.

A download from a server asks for its small blobs in batches of a few MiB
(``cairn.remote.batch_download``); each answer is kept here as one pack with an index, in the
embedded store's format (``cairn.storage.local.packs``: published atomically, index last), under
``<cache>/packs/``. One file per 4 KiB blob would cost a file creation each on the way
in (20,000 such files: 0.7-1.9 s more on a 6-10 s download, measured here) and, worse, a
``stat`` each whenever the cache measures itself (about 1 s per 20,000 files, at the end
of every download that may have grown it); a pack costs one sequential write.

The cache evicts a pack as one unit (its index first, so no reader is sent to a pack that
is gone). The cache never vouches for bytes: callers check each blob's digest, a corrupt
index is removed when it is met, and a pack with a wrong blob is dropped by its reader.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import os
from pathlib import Path
from typing import TYPE_CHECKING

from cairn.errors import CorruptionError
from cairn.storage.local.packs import INDEX_SUFFIX, PACK_SUFFIX, Location, PackTable, PackWriter

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

PACKS_DIR = "packs"
# Corrupt indexes removed by one ``locate`` before it gives up on the cache (a file
# system that keeps answering garbage is not worth more attempts: the server has it all).
_CORRUPT_RETRIES = 8

Key = tuple[str, str]  # algorithm, base64 digest


@dataclasses.dataclass(frozen=True)
class PackFile:
    """A pack on disk as the cache's size accounting and eviction see it: ``path`` (the
    pack, or an index left without its pack), its ``index`` (None if absent), their bytes
    together, and the pack's last use and change (epoch seconds)."""

    path: Path
    index: Path | None
    size: int
    last_used: float
    modified: float


class CachePacks:
    """The packs of one cache root (``<root>/packs``); thread-safe, one per process and root."""

    def __init__(self, root: Path, tmp_dir: Path) -> None:
        self.dir = root / PACKS_DIR
        self._tmp_dir = tmp_dir
        self._table = PackTable(self.dir)

    def write(self, blobs: Sequence[tuple[str, str, bytes | memoryview]]) -> Path | None:
        """Publish ``(algorithm, base64 digest, bytes)`` blobs, each already checked by the
        caller, as one new pack; return it (None for no blobs).

        Raises:
            OSError: the pack cannot be written (nothing of it is visible).
            ValueError: an unknown algorithm.
        """
        if not blobs:
            return None
        self._tmp_dir.mkdir(parents=True, exist_ok=True)
        writer = PackWriter(self._tmp_dir, self.dir)
        try:
            for algorithm, digest, data in blobs:
                writer.append(algorithm, base64.b64decode(digest), data, digest)
        except BaseException:
            writer.abort()
            raise
        return writer.publish(self._table)

    def locate(self, keys: Iterable[Key]) -> dict[Key, Location]:
        """Where each of ``keys`` is packed, for those that are (indexes published since
        the last call are loaded first; a corrupt one is removed with its pack).

        Raises: OSError (the packs folder cannot be listed), ValueError (unknown algorithm).
        """
        for _attempt in range(_CORRUPT_RETRIES):
            try:
                self._table.refresh()
                break
            except CorruptionError as exc:
                index = Path(str((exc.context or {}).get("index", "")))
                if index.parent != self.dir:
                    return {}
                discard(index.with_suffix(PACK_SUFFIX))
        else:
            return {}
        found: dict[Key, Location] = {}
        for key in keys:
            location = self._table.peek(*key)
            if location is not None:
                found[key] = location
        return found

    def scan(self) -> list[PackFile]:
        """Every pack, and every index without its pack, as eviction sees them.

        Raises: OSError (the packs folder cannot be listed).
        """
        try:
            names = set(os.listdir(self.dir))
        except FileNotFoundError:
            return []
        found = []
        for name in sorted(names):
            path = self.dir / name
            stem, suffix = os.path.splitext(name)
            if suffix == PACK_SUFFIX:
                index = self.dir / (stem + INDEX_SUFFIX) if stem + INDEX_SUFFIX in names else None
            elif suffix == INDEX_SUFFIX and stem + PACK_SUFFIX not in names:
                index = None  # a pack's index alone (its pack removed by hand): evictable
            else:
                continue
            try:
                info = path.lstat()
                size = info.st_size + (index.lstat().st_size if index is not None else 0)
            except FileNotFoundError:
                continue  # evicted meanwhile
            found.append(PackFile(path, index, size, info.st_atime, info.st_mtime))
        return found


def discard(pack: Path) -> bool:
    """Remove a pack: its index first (no reader finds it afterwards), then its bytes.
    True if anything was removed (False: another process did it first).

    Raises: OSError (a file exists but cannot be removed).
    """
    removed = False
    for path in (pack.with_suffix(INDEX_SUFFIX), pack):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
            removed = True
    return removed
