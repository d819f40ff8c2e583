"""The local content-addressed blob store: loose files under ``root/<blob_key>`` and packs.

This is where the bytes of the embedded mode live (DESIGN §4): each blob is a file named
by its entry digest (``md5/b1/946ac9...``, ``xxh128/...``). A blob is written to a unique
temporary file in ``root/tmp`` (same file system), hashed while it is copied, fsynced,
made read-only (0o444) and renamed into place, so a reader never sees a partial file under
a final name and a crash leaves at most a stale temporary file (``cleanup_tmp`` removes
those). Writing a blob that is already stored keeps the existing file (deduplication).

``ingest_many`` packs blobs of at most ``PACK_MAX_BLOB`` bytes into pack files with an
index (``cairn.storage.local.packs``), published just as atomically: one sequential write and
one fsync instead of one file and one fsync per blob. A store opened with a
``chunk_threshold`` keeps files of at least that size as content-defined chunks and a
chunk list (``cairn.storage.local.chunk_store``); a blob stored loose before stays loose.
Every read (``has``, ``read_bytes``, ``iter_bytes``, ``copy_to``, ``verify``,
``iter_blobs``) serves loose, packed and chunked blobs alike; only ``path_for`` and
``local_path`` name loose files.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import functools
import os
import secrets
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from itertools import compress, repeat
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, NamedTuple

from cairn.core.digest import MD5, XXH128, b64_to_hex, blob_key, digest_bytes, new_hasher
from cairn.errors import CorruptionError, StoreError
from cairn.storage.chunking import CHUNK_ALGORITHM, chunk_digest
from cairn.storage.hashing import copy_and_hash, default_workers, hash_file
from cairn.storage.local import durable_batch
from cairn.storage.local.chunk_store import ChunkStore
from cairn.storage.local.durable_batch import DurableBatch
from cairn.storage.local.pack_ingest import pack_files
from cairn.storage.local.packs import PACKS_DIR, PackTable, PackWriter, rewrite_pack
from cairn.storage.local.placing import copy_fd, new_file, write_all, write_new_file

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

TMP_DIR = "tmp"
BLOB_MODE = 0o444
COPY_MODE = 0o644
PACK_MAX_BLOB = 256 * 1024  # larger blobs stay loose files (reflinks, hard links apply)
_HEX_LENGTH = 32  # MD5 and XXH3-128 are both 128-bit digests
_HEX_DIGITS = frozenset("0123456789abcdef")
_READ_CHUNK = 8 * 1024 * 1024


class StoredBlob(NamedTuple):
    """A blob held by the store: its base64 entry digest, algorithm id, size and a file
    holding exactly its bytes: the loose blob, or for a packed blob the source it was
    read from (packed bytes have no file of their own)."""

    digest: str
    algorithm: str
    size: int
    path: str | Path


# ``StoredBlob`` from a tuple without a Python call per file.
_as_stored = functools.partial(tuple.__new__, StoredBlob)


class LocalBlobStore:
    """Content-addressed blobs as read-only loose files under one root directory.

    Safe for many threads and processes at once: every writer uses its own temporary
    file and publishes it with an atomic rename.
    """

    def __init__(self, root: Path, chunk_threshold: int = 0) -> None:
        """Open (creating if needed) the store at ``root``. Files of at least
        ``chunk_threshold`` bytes are stored as chunks (0: every file whole).

        Raises:
            StoreError: ``root`` (or its ``tmp`` directory) cannot be created or written;
                the message names ``root``.
        """
        self.root = Path(root).absolute()
        self.tmp_dir = self.root / TMP_DIR
        self.packs = PackTable(self.root / PACKS_DIR)
        self.chunks = ChunkStore(self.root, self.tmp_dir)
        self.chunk_threshold = chunk_threshold
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self.tmp_dir.mkdir(exist_ok=True)
            probe = self._tmp_path()
            os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            os.unlink(probe)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise StoreError(
                f"Cannot use '{self.root}' as a blob store: {reason}",
                context={"root": str(self.root)},
            ) from exc

    def path_for(self, digest: str, algorithm: str) -> Path:
        """Return the final path of the blob with base64 ``digest`` (it may not exist).

        Raises:
            ValueError: ``digest`` is not a valid digest for ``algorithm``.
        """
        return self.root / blob_key(digest, algorithm)

    def has(self, digest: str, algorithm: str) -> bool:
        """Return True if the blob is stored (loose, packed, or as chunks that are all
        there: a torn chunk list is no blob).

        Raises:
            ValueError: ``digest`` is not a valid digest for ``algorithm``.
            CorruptionError: a pack index is corrupt.
        """
        if self.packs.holds(algorithm, digest):
            return True
        if self.path_for(digest, algorithm).is_file():
            return True
        if self.packs.lookup(algorithm, digest) is not None:
            return True
        return self.chunks.has(digest, algorithm)

    def missing(self, blobs: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        """The ``(digest, algorithm)`` pairs of ``blobs`` that are not stored.

        The pack tables (small blobs, chunks) are refreshed first: a pack the garbage
        collector rewrote in another process since it was loaded must not vouch for blobs
        it no longer holds.

        Raises:
            ValueError: a digest is not valid for its algorithm.
            CorruptionError: a pack index is corrupt.
        """
        if not blobs:
            return set()
        self.packs.refresh()
        self.chunks.packs.refresh()
        return {blob for blob in blobs if not self._has_loaded(*blob)}

    def _has_loaded(self, digest: str, algorithm: str) -> bool:
        """``has`` without reloading the pack indexes on a miss (the caller just did):
        20,000 new blobs then cost no listing of the packs each."""
        if self.packs.holds(algorithm, digest):
            return True
        return self.path_for(digest, algorithm).is_file() or self.chunks.has(digest, algorithm)

    def delete(self, digest: str, algorithm: str) -> bool:
        """Remove a stored loose blob or chunk list (the garbage collector's only way to
        free them; chunks are packed, ``drop_packed`` frees those).

        Returns True if it was removed, False if it was not stored.

        Raises:
            OSError: the blob exists but cannot be removed.
            ValueError: ``digest`` is not a valid digest for ``algorithm``.
        """
        try:
            os.unlink(self.path_for(digest, algorithm))
        except FileNotFoundError:
            return self.chunks.delete(digest, algorithm)
        return True

    def drop_packed(self, pack: Path, dead: set[tuple[str, str]]) -> int:
        """Remove the ``(algorithm, base64 digest)`` blobs in ``dead`` from ``pack`` by
        rewriting it (the garbage collector's way to free packed bytes); return the bytes
        freed. Every other blob of the pack stays readable throughout.

        Raises:
            OSError: the rewritten pack cannot be written (the old one is left as it was).
            CorruptionError: the pack is shorter than its index says.
        """
        table = self.chunks.packs if pack.parent == self.chunks.packs.dir else self.packs
        return rewrite_pack(table, self.tmp_dir, pack, dead)

    def ingest(self, src: str | Path, algorithm: str) -> StoredBlob:
        """Copy the file ``src`` into the store, hashing it on the way (one read, one write).

        Raises:
            OSError: ``src`` cannot be read or the store cannot be written; nothing is left
                under a final name and the temporary file is removed.
            ValueError: ``algorithm`` is unknown.
        """
        return self._ingest(src, algorithm, expected=None)

    def ingest_many(
        self,
        srcs: Sequence[str | Path],
        algorithm: str,
        workers: int | None = None,
        on_progress: Callable[[int, int], None] | None = None,
        sizes: Sequence[int] | None = None,
    ) -> list[StoredBlob]:
        """Ingest many files in parallel; results are in the order of ``srcs``.

        Files of at most ``PACK_MAX_BLOB`` bytes are appended to pack files (published
        when this call ends, or every ``pack_ingest.PACK_MAX_SIZE`` bytes); files of at
        least ``chunk_threshold`` bytes are stored as chunks; others become loose blobs.
        ``on_progress(files_done, files_total)`` is called from the calling thread after
        each loose or chunked file and each chunk of packed ones. ``workers`` defaults to
        ``hashing.default_workers()``. ``sizes`` (from a ``stat`` the caller made anyway)
        only chooses between packing, chunks and a loose blob.

        Raises:
            OSError: a file cannot be ingested (remaining work is cancelled; blobs of
                packs already published and loose blobs already written stay stored).
            ValueError: ``algorithm`` is unknown.
        """
        new_hasher(algorithm)  # ValueError before anything is read
        total = len(srcs)
        count = max(1, workers if workers is not None else default_workers())
        if sizes is None:
            sizes = [os.stat(src).st_size for src in srcs]
        blobs: list[StoredBlob | None] = [None] * total
        done = 0

        def tick(count: int = 1) -> None:
            nonlocal done
            done += count
            if on_progress is not None:
                on_progress(done, total)

        # Which files are packed, picked in C (a million tiny files take no Python step).
        small = list(compress(range(total), map(PACK_MAX_BLOB.__ge__, sizes)))
        large = list(compress(range(total), map(PACK_MAX_BLOB.__lt__, sizes)))
        chunked = [index for index in large if self._chunked(sizes[index])]
        large = [index for index in large if not self._chunked(sizes[index])]
        packed_blobs: list[StoredBlob] = []  # in the order of ``small``
        if small:

            def packed(indices: list[int], digests: list[str], sizes: list[int]) -> None:
                sources = map(srcs.__getitem__, indices)
                found = zip(digests, repeat(algorithm), sizes, sources)
                packed_blobs.extend(map(_as_stored, found))
                tick(len(indices))

            pack_files(self.packs, self.tmp_dir, srcs, small, sizes, algorithm, count, packed)
        if not large and not chunked:
            return packed_blobs  # no Python step per file for a folder of small files
        for index, blob in zip(small, packed_blobs, strict=True):
            blobs[index] = blob
        if large:
            self._ingest_loose(srcs, large, algorithm, count, blobs, tick)
        for index in chunked:  # each one hashes on a helper thread: one at a time
            blobs[index] = self._ingest_chunked(srcs[index], algorithm, expected=None)
            tick()
        return [blob for blob in blobs if blob is not None]

    def _ingest_loose(
        self,
        srcs: Sequence[str | Path],
        indices: list[int],
        algorithm: str,
        workers: int,
        blobs: list[StoredBlob | None],
        tick: Callable[[], None],
    ) -> None:
        """Ingest ``srcs[i]`` for ``i`` in ``indices`` as loose blobs on a thread pool; a
        batch is made durable by a few file-system syncs where it can (``durable_batch``)."""
        if workers <= 1 or len(indices) <= 1:
            for index in indices:
                blobs[index] = self.ingest(srcs[index], algorithm)
                tick()
            return
        batch = DurableBatch(self.tmp_dir, self._publish) if durable_batch.available() else None
        if batch is not None:  # no fsync to wait for: hashing is the work, one thread a core
            workers = min(workers, os.cpu_count() or 1)
        with batch or contextlib.nullcontext():
            ingest = self.ingest if batch is None else functools.partial(self._ingest_into, batch)
            with ThreadPoolExecutor(max_workers=min(workers, len(indices))) as pool:
                futures: dict[Future[StoredBlob], int] = {
                    pool.submit(ingest, srcs[index], algorithm): index for index in indices
                }
                try:
                    for future in as_completed(futures):
                        blobs[futures[future]] = future.result()
                        tick()
                except BaseException:
                    for future in futures:
                        future.cancel()
                    raise

    def _ingest_into(self, batch: DurableBatch, src: str | Path, algorithm: str) -> StoredBlob:
        """Copy ``src`` while hashing it, without a sync: ``batch`` publishes it later."""
        tmp = self._tmp_path()
        try:
            digest, size = copy_and_hash(src, tmp, algorithm, sync=False)
            final = self.path_for(digest, algorithm)
        except BaseException:
            _unlink_quietly(tmp)
            raise
        batch.add(tmp, final, size)
        return StoredBlob(digest=digest, algorithm=algorithm, size=size, path=final)

    def put(self, src: Path, digest: str, algorithm: str) -> StoredBlob:
        """Store the file ``src`` whose content must have the base64 ``digest``.

        If the blob is already stored, ``src`` is only hashed to check it.

        Raises:
            CorruptionError: the content of ``src`` does not match ``digest``; nothing is
                stored (neither under ``digest`` nor under the actual digest).
            OSError: ``src`` cannot be read or the store cannot be written.
            ValueError: ``digest`` is not a valid digest for ``algorithm``.
        """
        if self.has(digest, algorithm):
            actual, size = hash_file(src, algorithm)
            self._check_digest(src, digest, actual)
            final = self.path_for(digest, algorithm)
            return StoredBlob(
                digest=digest,
                algorithm=algorithm,
                size=size,
                path=final if final.is_file() else src,
            )
        return self._ingest(src, algorithm, expected=digest)

    def adopt(self, tmp: Path, digest: str, algorithm: str) -> StoredBlob:
        """Publish ``tmp``, a file in this store's ``tmp/`` that the caller wrote, fsynced
        and hashed to ``digest`` while writing it, as that blob: moved, not copied again
        (for a file assembled from parts). If the blob is stored already ``tmp`` is
        removed instead.

        Raises:
            ValueError: ``tmp`` is not in ``tmp/``; ``digest`` is not valid for ``algorithm``.
            OSError: ``tmp`` cannot be published.
        """
        if Path(tmp).parent != self.tmp_dir:
            raise ValueError(f"Not a temporary file of the store '{self.root}': '{tmp}'")
        final = self.path_for(digest, algorithm)
        size = os.stat(tmp).st_size
        if self.has(digest, algorithm):
            _unlink_quietly(Path(tmp))
        else:
            self._publish(Path(tmp), final)
        return StoredBlob(digest=digest, algorithm=algorithm, size=size, path=final)

    def put_bytes(self, data: bytes, algorithm: str = MD5) -> StoredBlob:
        """Store ``data`` as a blob and return it. Bytes too big to be packed are looked
        for as a loose file only (a manifest of 20,000 files need not load every pack
        index to learn it is not packed; at worst a blob packed after growing past
        ``PACK_MAX_BLOB`` while read is stored a second time, loose).

        Raises:
            OSError: the store cannot be written.
            ValueError: ``algorithm`` is unknown.
        """
        digest = digest_bytes(data, algorithm)
        final = self.path_for(digest, algorithm)
        stored = final.is_file() if len(data) > PACK_MAX_BLOB else self.has(digest, algorithm)
        if not stored:
            tmp = self._tmp_path()
            with new_file(tmp, 0o600) as fd:
                write_all(fd, data)
                os.fsync(fd)
            self._publish(tmp, final)
        return StoredBlob(digest=digest, algorithm=algorithm, size=len(data), path=final)

    def put_many_checked(self, blobs: Sequence[tuple[bytes, str, str]], workers: int = 8) -> None:
        """Store many ``(bytes, base64 digest, algorithm)`` blobs whose digests the caller
        has just checked (a server's batch upload: ``verify_batch``), without hashing them
        again, durably before this returns. Blobs of at most ``PACK_MAX_BLOB`` bytes go into
        one new pack (one write, an fsync for the pack and one for its index: 20,000
        fsynced files of 4 KiB cost seconds, their pack a tenth of one); larger ones are
        loose files, each written, fsynced and published as ``put_bytes`` does, ``workers``
        at a time. Blobs stored already are skipped, looked for without reloading the pack
        indexes per blob (at worst a blob stored meanwhile is stored a second time).

        Raises:
            OSError: the store cannot be written (the pack is all or nothing; loose blobs
                published stay; nothing else is left behind).
            ValueError: a digest is not valid for its algorithm.
        """
        self.packs.refresh()
        holds = self.packs.holds
        new = [
            (data, digest, algorithm)
            for data, digest, algorithm in blobs
            if not holds(algorithm, digest) and not self.path_for(digest, algorithm).is_file()
        ]
        small = [blob for blob in new if len(blob[0]) <= PACK_MAX_BLOB]
        if small:
            self._pack_checked(small)
        large = [
            (data, self.path_for(digest, algorithm))
            for data, digest, algorithm in new
            if len(data) > PACK_MAX_BLOB
        ]

        def put(item: tuple[bytes, Path]) -> None:
            data, final = item
            tmp = self._tmp_path()
            with new_file(tmp, 0o600) as fd:  # removed if the write fails
                write_all(fd, data)
                os.fsync(fd)
            self._publish(tmp, final)

        with ThreadPoolExecutor(max(1, min(workers, len(large)))) as pool:
            list(pool.map(put, large))

    def _pack_checked(self, blobs: Sequence[tuple[bytes, str, str]]) -> None:
        """Publish ``(bytes, base64 digest, algorithm)`` blobs, checked already, as one
        pack (a blob repeated in ``blobs`` is packed once). Raises: OSError (nothing of
        the pack is visible), ValueError (a digest that is not base64)."""
        writer = PackWriter(self.tmp_dir, self.packs.dir)
        try:
            for data, digest, algorithm in blobs:
                writer.append(algorithm, base64.b64decode(digest, validate=True), data, digest)
        except BaseException:
            writer.abort()
            raise
        writer.publish(self.packs)

    def read_bytes(self, digest: str, algorithm: str) -> bytes:
        """Return the content of a stored blob.

        Raises:
            FileNotFoundError: the blob is not stored.
            CorruptionError: its pack is shorter than its index says.
            ValueError: ``digest`` is not a valid digest for ``algorithm``.
        """
        if self.packs.holds(algorithm, digest):  # no failed open of a loose path first
            with contextlib.suppress(CorruptionError):  # a loose copy may be whole
                packed = self.packs.read(algorithm, digest)
                if packed is not None:
                    return packed
        try:
            return self.path_for(digest, algorithm).read_bytes()
        except FileNotFoundError:
            data = self.packs.read(algorithm, digest)
            if data is None:
                return b"".join(self.chunks.iter_bytes(digest, algorithm))
            return data

    def local_path(self, digest: str, algorithm: str) -> Path | None:
        """The blob's loose file, or None (packed, or not stored).

        Raises: ValueError (``digest`` is not a valid digest for ``algorithm``).
        """
        path = self.path_for(digest, algorithm)
        return path if path.is_file() else None

    def iter_bytes(self, digest: str, algorithm: str) -> Iterator[bytes]:
        """The blob's bytes in chunks (a packed blob, small, in one). The file is opened,
        the packed bytes or the chunk list read, before this returns.

        Raises: as ``read_bytes`` (a chunk that is missing while iterating:
        CorruptionError).
        """
        try:
            handle = open(self.path_for(digest, algorithm), "rb")  # noqa: SIM115 (closed by _chunks)
        except FileNotFoundError:
            data = self.packs.read(algorithm, digest)
            if data is None:
                return self.chunks.iter_bytes(digest, algorithm)
            return iter((data,))
        return _chunks(handle)

    def copy_to(self, digest: str, algorithm: str, dest: Path) -> None:
        """Copy a stored blob to the new regular file ``dest`` (mode 0o644, writable).

        Uses ``os.copy_file_range`` (in-kernel copy, reflink where the file system can)
        and falls back to a buffered copy. ``dest`` must not exist (callers pass a fresh
        temporary path) and is never followed if it is a symlink. It is not fsynced.

        A chunked blob is reassembled (``ChunkStore.write_to``); callers check the digest
        of what was written, as for any copy.

        Raises:
            FileNotFoundError: the blob is not stored (a torn chunk list included).
            FileExistsError: ``dest`` already exists; it is left untouched.
            CorruptionError: a chunk of a chunked blob is missing (named).
            OSError: ``dest`` cannot be written; a partial ``dest`` is removed.
            ValueError: ``digest`` is not a valid digest for ``algorithm``.
        """
        src = self.path_for(digest, algorithm)
        packed: bytes | None = None
        if not src.is_file():
            blob_key(digest, algorithm)  # ValueError for a digest that is not one
            packed = self.packs.read(algorithm, digest)
            if packed is None:
                if self.chunks.read_list(digest, algorithm) is None:
                    raise FileNotFoundError(errno.ENOENT, "Blob not stored", str(src))
                with new_file(dest) as fd:
                    self.chunks.write_to(digest, algorithm, fd)
                return
        if packed is not None:
            write_new_file(dest, packed)
            return
        with open(src, "rb", buffering=0) as reader, new_file(dest) as fd:
            copy_fd(reader.fileno(), fd)

    def iter_blobs(self) -> Iterator[tuple[str, str, Path]]:
        """Yield ``(algorithm, hex digest, path)`` for every stored blob: loose ones sorted,
        chunked files (whose path is their chunk list), then packed ones (whose path is
        their pack file; chunks among them, algorithm ``b3``).

        Files under the algorithm directories whose names do not form a 32-digit
        lowercase hex digest are skipped; ``root/tmp`` is never listed.

        Raises:
            OSError: a directory of the store cannot be listed.
            CorruptionError: a pack index is corrupt.
        """
        yield from self.iter_loose()
        yield from self.chunks.iter_lists()
        for table in (self.packs, self.chunks.packs):
            for algorithm, digest, (pack, _offset, _size) in table.items():
                yield algorithm, b64_to_hex(digest), pack

    def iter_loose(self) -> Iterator[tuple[str, str, Path]]:
        """Yield ``(algorithm, hex digest, path)`` for every loose blob, sorted."""
        for algorithm in (MD5, XXH128):
            base = self.root / algorithm
            if not base.is_dir():
                continue
            for prefix in sorted(os.listdir(base)):
                prefix_dir = base / prefix
                if len(prefix) != 2 or not prefix_dir.is_dir():
                    continue
                for name in sorted(os.listdir(prefix_dir)):
                    hex_digest = prefix + name
                    path = prefix_dir / name
                    if _is_hex_digest(hex_digest) and path.is_file():
                        yield algorithm, hex_digest, path

    def verify(self, digest: str, algorithm: str) -> bool:
        """Rehash a stored blob; True if its content matches ``digest``, False if it does
        not or the blob is missing. A chunk (algorithm ``b3``) is checked against its
        BLAKE3 name; a chunked file is reassembled and checked chunk by chunk and whole
        (``ChunkStore.verify`` says which chunk is wrong).

        Raises:
            OSError: the blob exists but cannot be read.
            ValueError: ``digest`` is not a valid digest for ``algorithm``.
        """
        if algorithm == CHUNK_ALGORITHM:
            data = self._packed_or_none(self.chunks.packs, algorithm, digest)
            return data is not None and chunk_digest(data).hex() == b64_to_hex(digest)
        path = self.path_for(digest, algorithm)
        try:
            actual, _size = hash_file(path, algorithm)
        except FileNotFoundError:
            data = self._packed_or_none(self.packs, algorithm, digest)
            if data is None:
                try:
                    self.chunks.verify(digest, algorithm)
                except (FileNotFoundError, CorruptionError):
                    return False
                return True
            actual = digest_bytes(data, algorithm)
        return b64_to_hex(actual) == b64_to_hex(digest)

    @staticmethod
    def _packed_or_none(table: PackTable, algorithm: str, digest: str) -> bytes | None:
        """A blob's bytes from ``table``; None if not packed there, or its pack is truncated."""
        try:
            return table.read(algorithm, digest)
        except CorruptionError:
            return None

    def cleanup_tmp(self, older_than_seconds: float) -> int:
        """Remove temporary files, and packs a crash left without an index, last modified
        more than ``older_than_seconds`` ago.

        Use an age well above the longest write in progress: younger files may belong to
        a writer in another process. Returns the number of files removed.

        Raises:
            OSError: ``root/tmp`` cannot be listed.
        """
        cutoff = time.time() - older_than_seconds
        removed = 0
        with os.scandir(self.tmp_dir) as entries:
            for entry in entries:
                try:
                    if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < cutoff:
                        os.unlink(entry.path)
                        removed += 1
                except FileNotFoundError:
                    continue
        for pack in [*self.packs.orphan_packs(), *self.chunks.packs.orphan_packs()]:
            try:
                if pack.stat().st_mtime < cutoff:
                    os.unlink(pack)
                    removed += 1
            except FileNotFoundError:
                continue
        return removed

    def _chunked(self, size: int) -> bool:
        """Whether a file of ``size`` bytes is stored as chunks."""
        return 0 < self.chunk_threshold <= size

    def _ingest_chunked(self, src: str | Path, algorithm: str, expected: str | None) -> StoredBlob:
        """Store ``src`` as chunks (``ChunkStore.ingest``); a blob stored already, loose or
        as chunks, stays as it is and is marked as just used."""
        digest, size = self.chunks.ingest(
            src, algorithm, lambda found: self._stored_touched(found, algorithm), expected
        )
        final = self.path_for(digest, algorithm)
        return StoredBlob(
            digest=digest, algorithm=algorithm, size=size, path=final if final.is_file() else src
        )

    def _stored_touched(self, digest: str, algorithm: str) -> bool:
        """Whether the blob is stored (loose, packed or chunked); if so it is marked as just
        used, as ``_publish`` marks a loose blob written again."""
        final = self.path_for(digest, algorithm)
        try:
            os.utime(final)
        except FileNotFoundError:
            return self.packs.lookup(algorithm, digest) is not None or self.chunks.touch(
                digest, algorithm
            )
        except PermissionError:
            pass
        return True

    def _ingest(self, src: str | Path, algorithm: str, expected: str | None) -> StoredBlob:
        """Copy ``src`` to a temporary file while hashing, check ``expected``, publish (or
        store it as chunks, from the chunk threshold on)."""
        if self.chunk_threshold and self._chunked(os.stat(src).st_size):
            return self._ingest_chunked(src, algorithm, expected)
        tmp = self._tmp_path()
        digest, size = copy_and_hash(src, tmp, algorithm)
        try:
            if expected is not None:
                self._check_digest(src, expected, digest)
            final = self.path_for(digest, algorithm)
        except BaseException:
            _unlink_quietly(tmp)
            raise
        self._publish(tmp, final)
        return StoredBlob(digest=digest, algorithm=algorithm, size=size, path=final)

    def _publish(self, tmp: Path, final: Path) -> None:
        """Make ``tmp`` read-only and rename it to ``final``, or drop it if ``final`` exists
        (then ``final`` is marked as just used, as new content would be)."""
        try:
            if final.is_file():
                os.unlink(tmp)
                with contextlib.suppress(OSError):
                    os.utime(final)
                return
            os.chmod(tmp, BLOB_MODE)
            try:
                os.replace(tmp, final)
            except FileNotFoundError:
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp, final)
        except BaseException:
            _unlink_quietly(tmp)
            raise

    def _tmp_path(self) -> Path:
        """A temporary file name unique to this process, thread and call."""
        token = secrets.token_hex(8)
        return self.tmp_dir / f"{os.getpid()}-{threading.get_ident()}-{token}.tmp"

    @staticmethod
    def _check_digest(src: str | Path, expected: str, actual: str) -> None:
        """Raise CorruptionError if ``actual`` differs from ``expected``."""
        if b64_to_hex(actual) != b64_to_hex(expected):
            raise CorruptionError(
                f"Content of '{src}' has digest {actual}, expected {expected}",
                context={"path": str(src), "expected": expected, "actual": actual},
            )


def _is_hex_digest(value: str) -> bool:
    """True if ``value`` is a 32-digit lowercase hex string."""
    return len(value) == _HEX_LENGTH and set(value) <= _HEX_DIGITS


def _chunks(handle: BinaryIO) -> Iterator[bytes]:
    """The bytes of the open file ``handle`` in chunks; it is closed at the end."""
    with handle:
        while chunk := handle.read(_READ_CHUNK):
            yield chunk


def _unlink_quietly(path: Path) -> None:
    """Remove ``path`` if it exists (cleanup after a failure)."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
