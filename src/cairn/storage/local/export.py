"""Writing many stored blobs out to new files at once (a download from the embedded store).

``copy_to`` one blob at a time opens its pack, reads a few KiB and closes it again, and the
caller then re-reads the copy to check its digest: for 20,000 small files that is several
times the work of ``cp -r``. ``export_blobs`` instead reads each pack sequentially in large
ranges (blobs sorted by offset), checks every packed blob's digest on the bytes in memory
before writing them, and writes each destination once. Loose blobs (large files) are copied
in the kernel and their copy is hashed, as ``copy_to`` callers do, on a few threads.

Every destination is created exclusively (``O_EXCL | O_NOFOLLOW``, mode 0o644) and not
fsynced, like ``copy_to``; a failure removes the destination it was writing.
"""

from __future__ import annotations

import contextlib
import os
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from cairn.core.digest import digest_bytes
from cairn.errors import CorruptionError
from cairn.storage.hashing import hash_file
from cairn.storage.local.placing import write_new_file

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from cairn.storage.local.blobs import LocalBlobStore

# (base64 entry digest, algorithm, destination path)
ExportItem = tuple[str, str, Path]
READ_RANGE = 8 * 1024 * 1024  # bytes of a pack read at once
LOOSE_WORKERS = 4


def export_blobs(
    store: LocalBlobStore,
    items: Sequence[ExportItem],
    on_progress: Callable[[int, int], None] | None = None,
) -> None:
    """Write each item's blob to its destination, a new file whose parent exists.

    ``on_progress(files_done, bytes_done)`` is called from the calling thread.

    Raises:
        FileNotFoundError: a blob is not stored (destinations written so far stay).
        FileExistsError: a destination exists; it is left untouched.
        CorruptionError: stored bytes do not match their digest (nothing is written for
            that blob).
        OSError: a destination cannot be written or a pack read.
        ValueError: an unknown algorithm.
    """
    done_files = 0
    done_bytes = 0

    def advance(size: int) -> None:
        nonlocal done_files, done_bytes
        done_files += 1
        done_bytes += size
        if on_progress is not None:
            on_progress(done_files, done_bytes)

    with ThreadPoolExecutor(max_workers=LOOSE_WORKERS) as pool:
        futures: list[Future[int]] = []
        try:
            pending = list(items)
            for attempt in range(2):
                by_pack, loose = _locate(store, pending, refresh=attempt > 0)
                futures.extend(pool.submit(_export_loose, store, item) for item in loose)
                pending = []
                for pack, members in by_pack.items():
                    members.sort(key=lambda member: member[0])
                    try:
                        fd = os.open(pack, os.O_RDONLY)
                    except FileNotFoundError:
                        if attempt:
                            raise
                        # The collector rewrote this pack since the table was loaded:
                        # look its blobs up again (PackTable.read does the same).
                        pending.extend(item for _offset, _size, item in members)
                        continue
                    try:
                        _export_pack(fd, pack, members, advance)
                    finally:
                        os.close(fd)
                if not pending:
                    break
            for future in futures:
                advance(future.result())
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def _locate(
    store: LocalBlobStore, items: Sequence[ExportItem], refresh: bool
) -> tuple[dict[Path, list[tuple[int, int, ExportItem]]], list[ExportItem]]:
    """Group ``items`` by the pack holding them (``(offset, size, item)`` each); the rest
    are loose (or missing: ``copy_to`` says so). The table is reloaded once on a miss."""
    if refresh:
        store.packs.refresh()
    by_pack: dict[Path, list[tuple[int, int, ExportItem]]] = {}
    loose: list[ExportItem] = []
    refreshed = refresh
    for item in items:
        location = store.packs.peek(item[1], item[0])
        if location is None and not refreshed:
            refreshed = True
            store.packs.refresh()
            location = store.packs.peek(item[1], item[0])
        if location is None:
            loose.append(item)
        else:
            pack, offset, size = location
            by_pack.setdefault(pack, []).append((offset, size, item))
    return by_pack, loose


def _export_pack(
    fd: int,
    pack: Path,
    members: list[tuple[int, int, ExportItem]],
    advance: Callable[[int], None],
) -> None:
    """Write ``members`` (sorted by offset) of the pack open as ``fd``, read in large ranges."""
    start = 0
    while start < len(members):
        first = members[start][0]
        end = start + 1
        while end < len(members) and members[end][0] + members[end][1] - first <= READ_RANGE:
            end += 1
        stop = max(offset + size for offset, size, _item in members[start:end])
        data = os.pread(fd, stop - first, first)
        for offset, size, (digest, algorithm, dest) in members[start:end]:
            chunk = data[offset - first : offset - first + size]
            if len(chunk) != size:
                raise CorruptionError(f"Pack '{pack}' is truncated", context={"pack": str(pack)})
            actual = digest_bytes(chunk, algorithm)
            if actual != digest:
                raise CorruptionError(
                    f"Stored bytes of blob {digest} do not match their digest (found {actual})",
                    context={"pack": str(pack), "expected": digest, "actual": actual},
                )
            write_new_file(dest, chunk)
            advance(size)
        start = end


def _export_loose(store: LocalBlobStore, item: ExportItem) -> int:
    """Copy one loose blob to its destination and check the copy; return its size."""
    digest, algorithm, dest = item
    store.copy_to(digest, algorithm, dest)
    try:
        actual, size = hash_file(dest, algorithm)
        if actual != digest:
            raise CorruptionError(
                f"Stored bytes of blob {digest} do not match their digest (found {actual})",
                context={"path": str(dest), "expected": digest, "actual": actual},
            )
    except BaseException:
        _unlink_quietly(dest)
        raise
    return size


def _unlink_quietly(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


__all__ = ["ExportItem", "export_blobs"]
