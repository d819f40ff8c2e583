"""Staged copies that drafts never logged left behind (server mode, ``<cache>/staging``).

In server mode a draft's files are copied into a staging blob store while they are added
(``cairn.remote.transfer``), and the copies are dropped once their version is committed.
A draft that is never logged (a crashed script, an ``Artifact`` built and thrown away)
leaves them there for good. ``abandoned(root, older_than)`` finds the staged blobs and
packs last written or used (staging an equal file again touches them) more than
``older_than`` seconds ago; ``remove`` deletes them, a pack's index before the pack, so a
reader never finds an index whose pack is gone. ``cairn cache cleanup`` runs both with an
age of a day: a draft kept open in a process for longer loses its staged copies and
must add its files again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from typing import TYPE_CHECKING

from cairn.storage.local.packs import INDEX_SUFFIX, PACK_SUFFIX, PACKS_DIR

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

STAGING_AGE_SECONDS = 86400.0
_ALGORITHMS = ("md5", "xxh128")


@dataclasses.dataclass(frozen=True)
class Leftovers:
    """Staged blob files and packs (with their indexes) to remove, and their bytes."""

    paths: list[Path]
    bytes: int


def _files(root: Path) -> Iterator[Path]:
    for algorithm in _ALGORITHMS:
        base = root / algorithm
        if base.is_dir():
            yield from (path for path in base.glob("*/*") if path.is_file())
    packs = root / PACKS_DIR
    if packs.is_dir():
        yield from packs.glob(f"*{PACK_SUFFIX}")


def abandoned(root: Path, older_than: float) -> Leftovers:
    """The staged blobs and packs under ``root`` untouched for ``older_than`` seconds.

    Raises: OSError (a directory cannot be listed).
    """
    cutoff = time.time() - older_than
    paths: list[Path] = []
    size = 0
    for path in _files(root):
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        if stat.st_mtime < cutoff:
            paths.append(path)
            size += stat.st_size
    return Leftovers(paths, size)


def remove(leftovers: Leftovers) -> int:
    """Delete the leftovers (a pack's index first); the number of blob files and packs
    removed. Raises: OSError (a file exists but cannot be removed)."""
    removed = 0
    for path in leftovers.paths:
        if path.suffix == PACK_SUFFIX:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path.with_suffix(INDEX_SUFFIX))
        try:
            os.unlink(path)
        except FileNotFoundError:
            continue
        removed += 1
    return removed
