"""Moving bytes in server mode: staging, uploads and downloads through signed URLs.

``ingest_file`` copies a draft's file into a staging blob store under
``<cache_dir>/staging`` while hashing it (one read, one write), so later edits of the
source cannot change what gets logged; ``stage_many`` does it for a folder, small files
packed (one write and one fsync per pack, not per file), except files the stat cache knows
unchanged since an earlier add (their digest is known: nothing is read). ``missing`` asks
the server once which blobs the entity lacks and fetches upload URLs for the large ones in
the same breath; ``upload_many`` sends the small ones from their staged bytes in batches
(``cairn.remote.batch_upload``) and PUTs each large one straight to its signed URL, or, for a
blob the server marks ``multipart``, in parts that are PUT in parallel and survive an
interruption (the server remembers the parts it has; a retry sends only the others). The
staged copies, packed or loose, are dropped once their version is committed (``release``).
Downloads go through the client cache (``storage.cache``, W&B's ``obj/md5/...`` layout): a
blob found there with the right digest is copied without touching the network; otherwise
it is fetched from a signed URL into the cache (``cairn.remote.fetching``: large ones as
parallel ``Range`` requests, hashed as they arrive; the digest is checked before the file
is published) and copied to the caller's path from the file just checked, by reflink or in
the kernel, without hashing it again. A download into a new folder (``export``) asks for
its small blobs in batches instead (``cairn.remote.batch_download``): one request per few
MiB, not two per file, each answer kept in the cache as one pack. Small blobs the cache
holds, packed or loose, are never asked for again, on either path.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cairn.core.digest import Hasher, b64, new_hasher
from cairn.core.manifest import Manifest
from cairn.errors import CorruptionError
from cairn.protocol import BlobRef, IngestedBlob, SourceStats
from cairn.remote import batch_download, batch_upload, fetching
from cairn.remote.chunked import ChunkTransfers
from cairn.remote.http import ApiClient, check_retryable, raise_for, with_retries
from cairn.storage.cache.client_cache import ClientCache
from cairn.storage.hashing import copy_and_hash
from cairn.storage.local.blobs import LocalBlobStore
from cairn.storage.local.placing import COPY_MODE, copy_file
from cairn.storage.local.statcache import STATCACHE_FILE, StatCache
from cairn.storage.local.unchanged import Survey

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    import httpx

    from cairn.settings import Settings

STAGING_DIR = "staging"
URL_MARGIN_SECONDS = 30  # a cached upload URL this close to expiry is not used
CHUNK = 1024 * 1024
# Blobs asked about in one request: within a server's default limit (``max_blob_list``,
# 100,000), so a version of any size is asked about in requests it accepts.
BLOB_LIST_MAX = 50_000
PART_WORKERS = 4  # parallel requests for the parts (or ranges) of one blob
UPLOAD_WORKERS = 8  # large blobs uploaded at once
RANGE_MIN_BYTES = 64 * 1024 * 1024  # blobs this large come down in parallel ranges
RANGE_BYTES = 16 * 1024 * 1024

_Key = tuple[str, str, str]  # entity, algorithm, digest


@dataclasses.dataclass(frozen=True)
class _Signed:
    url: str
    headers: dict[str, str]
    expires_at: int
    multipart: bool


def _signed(data: dict[str, Any]) -> _Signed:
    return _Signed(
        url=str(data.get("url", "")),
        headers={str(k): str(v) for k, v in (data.get("headers") or {}).items()},
        expires_at=int(data.get("expires_at", 0)),
        multipart=bool(data.get("multipart", False)),
    )


def _file_range(
    path: Path, offset: int, length: int, hasher: Hasher | None = None
) -> Iterator[bytes]:
    """The bytes ``[offset, offset + length)`` of ``path`` in chunks (a request body),
    fed to ``hasher`` on the way when one is given."""
    with open(path, "rb") as source:
        source.seek(offset)
        left = length
        while left > 0:
            chunk = source.read(min(CHUNK, left))
            if not chunk:
                raise CorruptionError(f"'{path}' is shorter than expected: it changed")
            left -= len(chunk)
            if hasher is not None:
                hasher.update(chunk)
            yield chunk


def _blob_json(blob: BlobRef) -> dict[str, Any]:
    return {"digest": blob.digest, "algorithm": blob.algorithm, "size": blob.size}


class Transfers:
    """Staging, uploads and downloads of one remote backend (thread-safe)."""

    def __init__(self, client: ApiClient, settings: Settings) -> None:
        self._client = client
        self._settings = settings
        self._staging: LocalBlobStore | None = None
        self._cache: ClientCache | None = None
        self._stat_cache: StatCache | None = None
        self._lock = threading.Lock()
        self._upload_urls: dict[_Key, _Signed] = {}
        self.chunks = ChunkTransfers(client, lambda: self.cache)

    def chunked(self, blob: BlobRef) -> bool:
        """Whether ``blob`` moves as chunks (``cairn.remote.chunked``): an MD5 file of at
        least ``Settings.chunk_threshold`` bytes (0: none does)."""
        threshold = self._settings.chunk_threshold
        return 0 < threshold <= blob.size and blob.algorithm == "md5"

    # ------------------------------------------------------------ staging

    @property
    def staging(self) -> LocalBlobStore:
        """The staging store (created on first use). Raises: StoreError naming it."""
        with self._lock:
            if self._staging is None:
                self._staging = LocalBlobStore(self._settings.cache_dir / STAGING_DIR)
            return self._staging

    def stage(self, source: Path, algorithm: str) -> IngestedBlob:
        """Copy ``source`` into staging while hashing it.

        Raises: OSError (read or write), ValueError (unknown algorithm), StoreError.
        """
        blob = self.staging.ingest(source, algorithm)
        return IngestedBlob(blob.digest, blob.algorithm, blob.size, blob.path)

    def stage_many(
        self,
        sources: Sequence[str | Path],
        algorithm: str,
        on_progress: Callable[[int, int, int, int], None] | None = None,
        stats: SourceStats | None = None,
    ) -> list[IngestedBlob]:
        """``stage`` for many files at once, skipping the files the stat cache knows
        unchanged (``storage.unchanged``: their digest is known, and their ``local_path``
        is the file itself, read and checked again only if the server lacks the blob).
        The others go to ``LocalBlobStore.ingest_many`` (small files packed, large ones
        loose, read in parallel); a packed blob's ``local_path`` is its source (its staged
        bytes are read back by ``upload_many``). Results in ``sources`` order;
        ``on_progress`` called from this thread.

        Raises: as ``stage`` (the first failure; the remaining work is cancelled; packs
        already published stay staged, like staged files of a draft never logged), and
        StoreError (the stat cache).
        """
        new_hasher(algorithm)  # ValueError before anything is read
        survey = Survey(self.stat_cache, sources, algorithm, stats)
        stored = survey.store_unknown(self.staging, sources, on_progress)
        return [IngestedBlob(*blob) for blob in stored]

    @property
    def stat_cache(self) -> StatCache:
        """The client's stat cache (``<cache_dir>/statcache.db``, opened on first use).
        Raises: StoreError naming it."""
        with self._lock:
            if self._stat_cache is None:
                self._settings.cache_dir.mkdir(parents=True, exist_ok=True)
                self._stat_cache = StatCache(self._settings.cache_dir / STATCACHE_FILE)
            return self._stat_cache

    def close(self) -> None:
        """Close the stat cache, if it was opened."""
        with self._lock:
            if self._stat_cache is not None:
                self._stat_cache.close()
                self._stat_cache = None

    def release(self, manifest_json: bytes) -> None:
        """Drop the staged copies of a committed manifest's blobs (now on the server):
        loose files are deleted, packs rewritten without them (removed when nothing else
        of theirs is staged).

        Raises nothing: a manifest or file that cannot be read or removed is left alone.
        """
        staging = self._staging
        if staging is None:
            return
        try:
            manifest = Manifest.from_json(manifest_json)
        except ValueError:
            return
        refs = [(e.digest, e.algorithm()) for e in manifest.entries.values() if e.ref is None]
        dead = {(algorithm, digest) for digest, algorithm in refs}  # as packs name blobs
        try:
            staging.packs.refresh()
            packs, loose = staging.packs.split_packed(refs)
        except (OSError, ValueError, CorruptionError):
            packs, loose = set(), refs
        for digest, algorithm in loose:  # packed ones have no loose copy to look for
            with contextlib.suppress(OSError, ValueError):
                staging.delete(digest, algorithm)
        with contextlib.suppress(OSError, ValueError, CorruptionError):
            for pack in sorted(packs):
                with contextlib.suppress(OSError, CorruptionError):
                    staging.drop_packed(pack, dead)

    # ------------------------------------------------------------ uploads

    def missing(self, entity: str, blobs: Sequence[BlobRef]) -> list[BlobRef]:
        """The blobs ``entity`` lacks; their upload URLs are fetched now for ``upload``.

        Raises: ValueError (invalid digests), CommError / AuthorizationError (server).
        """
        path = f"/entities/{entity}/blobs/missing"
        missing = []
        for start in range(0, len(blobs), BLOB_LIST_MAX):
            body = {"blobs": [_blob_json(b) for b in blobs[start : start + BLOB_LIST_MAX]]}
            answer = self._client.call("POST", path, json=body, idempotent=True).json()
            missing += [BlobRef(b["digest"], b["algorithm"], b["size"]) for b in answer["blobs"]]
        large = [
            blob
            for blob in missing
            if blob.size > batch_upload.BATCH_BLOB_MAX and not self.chunked(blob)
        ]
        for start in range(0, len(large), BLOB_LIST_MAX):  # small ones go up in batches
            self._sign_uploads(entity, large[start : start + BLOB_LIST_MAX])
        return missing

    def _sign_uploads(self, entity: str, blobs: Sequence[BlobRef]) -> None:
        body = {"blobs": [_blob_json(b) for b in blobs]}
        path = f"/entities/{entity}/blobs/upload-urls"
        urls = self._client.call("POST", path, json=body, idempotent=True).json()["urls"]
        with self._lock:
            for signed in urls:
                key = (entity, signed["algorithm"], signed["digest"])
                self._upload_urls[key] = _signed(signed)

    def _upload_url(self, entity: str, blob: BlobRef) -> _Signed:
        key = (entity, blob.algorithm, blob.digest)
        with self._lock:
            known = self._upload_urls.pop(key, None)
        fresh = known is not None and known.expires_at > time.time() + URL_MARGIN_SECONDS
        if known is not None and (known.multipart or fresh):
            return known
        self._sign_uploads(entity, [blob])
        with self._lock:
            return self._upload_urls.pop(key)

    def upload(self, entity: str, blob: BlobRef, source: Path) -> None:
        """PUT ``source`` to the signed upload URL of ``blob``.

        A staged copy removed meanwhile (its version committed by another draft) is fine
        when the server holds the blob by now.

        Raises:
            CorruptionError: the server found another digest (nothing stored).
            FileNotFoundError: ``source`` is gone and the server lacks the blob.
            CommError, AuthenticationError, AuthorizationError: server or network.
        """
        if not source.is_file():
            if not self.missing(entity, [blob]):
                return
            raise FileNotFoundError(f"Cannot upload '{source}': no such file")
        if self.chunked(blob):  # only the chunks the server lacks
            self.chunks.upload(entity, blob, source)
            return
        signed = self._upload_url(entity, blob)
        size = source.stat().st_size
        if size != blob.size:
            raise CorruptionError(
                f"'{source}' has {size} bytes, expected {blob.size}: it changed since it was added"
            )
        if signed.multipart:
            self._upload_parts(entity, blob, source)
            return
        what = f"upload of {blob.digest}"
        sent = self._put(signed.url, signed.headers, source, 0, size, what, blob.algorithm)
        if sent != blob.digest:  # an object store may keep it staged; nothing commits it
            raise CorruptionError(
                f"'{source}' no longer hashes to {blob.digest}: it changed since it was added"
            )

    def upload_many(
        self,
        entity: str,
        uploads: Sequence[tuple[BlobRef, Path]],
        on_done: Callable[[Sequence[BlobRef]], None] | None = None,
    ) -> None:
        """Upload blobs the server lacks: small ones in batches (``BATCH_WORKERS`` in
        flight) from their staged bytes, large ones alone (``upload``) from their paths;
        ``on_done`` hears of each group stored, from this thread.

        Raises: as ``upload`` (the first failure; what is not started is cancelled).
        """
        groups, alone = batch_upload.plan(uploads)
        with (
            ThreadPoolExecutor(max_workers=batch_upload.BATCH_WORKERS) as batch_pool,
            ThreadPoolExecutor(max_workers=UPLOAD_WORKERS) as single_pool,
        ):
            futures = {
                batch_pool.submit(self._upload_batch, entity, group): [b for b, _ in group]
                for group in groups
            }
            for blob, source in alone:
                futures[single_pool.submit(self.upload, entity, blob, source)] = [blob]
            try:
                for future in as_completed(futures):
                    future.result()
                    if on_done is not None:
                        on_done(futures[future])
            except BaseException:
                for future in futures:
                    future.cancel()
                raise

    def _upload_batch(self, entity: str, group: Sequence[tuple[BlobRef, Path]]) -> None:
        """Send one batch; a batch over the server's body limit is split in two, and a
        blob alone over it takes the single-upload path."""
        blobs = []
        for blob, source in group:
            data = self._staged_bytes(entity, blob, source)
            if data is not None:
                blobs.append((blob, data))
        if not blobs:
            return
        response = batch_upload.send(self._client, entity, blobs)
        if response.status_code == 413 and len(group) > 1:
            half = len(group) // 2
            self._upload_batch(entity, group[:half])
            self._upload_batch(entity, group[half:])
            return
        if response.status_code == 413:
            self.upload(entity, *group[0])
            return
        raise_for(response)

    def _staged_bytes(self, entity: str, blob: BlobRef, source: Path) -> bytes | None:
        """The bytes of ``blob`` as staged when it was added, else read from ``source``
        and checked; None when neither is there but the server holds the blob by now (a
        staged copy released by another draft's commit).

        Raises: CorruptionError (``source`` changed since it was added), FileNotFoundError
        (neither copy exists and the server lacks the blob), OSError.
        """
        try:
            return self.staging.read_bytes(blob.digest, blob.algorithm)
        except FileNotFoundError:
            pass
        try:
            data: bytes | None = Path(source).read_bytes()
        except FileNotFoundError:
            data = None
        if data is not None and len(data) == blob.size:
            hasher = new_hasher(blob.algorithm)
            hasher.update(data)
            if b64(hasher.digest()) == blob.digest:
                return data
        if not self.missing(entity, [blob]):
            return None
        if data is None:
            raise FileNotFoundError(f"Cannot upload '{source}': no such file")
        raise CorruptionError(
            f"'{source}' no longer hashes to {blob.digest}: it changed since it was added"
        )

    def _put(
        self,
        url: str,
        headers: dict[str, str],
        source: Path,
        offset: int,
        size: int,
        what: str,
        algorithm: str | None = None,
    ) -> str | None:
        """PUT ``size`` bytes of ``source`` from ``offset`` (retried: uploads are idempotent);
        return the base64 digest of the bytes sent when an ``algorithm`` is given."""
        sent = {"Content-Length": str(size), "Content-Type": "application/octet-stream"}
        sent.update(headers)
        hasher: Hasher | None = None

        def attempt() -> httpx.Response:
            nonlocal hasher
            hasher = new_hasher(algorithm) if algorithm else None
            body = _file_range(source, offset, size, hasher)
            return check_retryable(self._client.transfers.put(url, content=body, headers=sent))

        raise_for(with_retries(attempt, True, what))
        return b64(hasher.digest()) if hasher is not None else None

    def _upload_parts(self, entity: str, blob: BlobRef, source: Path) -> None:
        """Upload a large blob in parts (new, or resuming the parts the server lacks)."""
        base = f"/entities/{entity}/blobs/multipart"
        start = self._client.call("POST", base, json=_blob_json(blob), idempotent=True).json()
        part_size = int(start["part_size"])
        todo = [part for part in start["parts"] if not part["done"]]

        def put_part(part: dict[str, Any]) -> None:
            number = int(part["number"])
            offset = (number - 1) * part_size
            what = f"part {number} of {blob.digest}"
            self._put(part["url"], _signed(part).headers, source, offset, int(part["size"]), what)

        if todo:
            with ThreadPoolExecutor(max_workers=min(PART_WORKERS, len(todo))) as pool:
                for future in [pool.submit(put_part, part) for part in todo]:
                    future.result()
        body = {**_blob_json(blob), "upload_id": start["upload_id"]}
        self._client.call("POST", f"{base}/complete", json=body, idempotent=True)

    # ------------------------------------------------------------ downloads

    @property
    def cache(self) -> ClientCache:
        with self._lock:
            if self._cache is None:
                self._cache = ClientCache.for_settings(self._settings)
            return self._cache

    def fetch(self, entity: str, blob: BlobRef, dest: Path) -> None:
        """Write the blob to the new file ``dest``, checked against its digest: from the
        client cache when it holds it (hashed while copied: a file of an earlier run is
        never trusted), else downloaded into the cache (hashed as it arrives, fsynced) and
        copied from the file just checked, without hashing it again (a reflink or an
        in-kernel copy; ``dest`` is not fsynced: the cache holds the durable copy). On any
        failure ``dest`` does not exist.

        Raises:
            CommError: the server does not hold the blob, or cannot be reached.
            CorruptionError: the server sent bytes that do not match the digest.
            FileExistsError: ``dest`` exists. OSError: cache or ``dest`` not writable.
            ValueError: a digest that is not valid for its algorithm.
        """
        cache = self.cache
        with cache.download_session():
            path = cache.path_for_digest(blob.digest, blob.algorithm)
            cached = cache.lookup(path)
            if cached is not None and self._copy_checked(cached, dest, blob):
                return
            if cached is not None:  # a damaged cache file: replace it
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(cached)
            if blob.size <= batch_download.READ_BLOB_MAX and self._from_pack(blob, dest):
                return
            if self.chunked(blob) and self.chunks.fetch(entity, blob, dest):
                return  # only the chunks the cache lacked came down
            if os.path.lexists(dest):  # before the download, not after it
                raise FileExistsError(errno.EEXIST, "File exists", str(dest))
            placed = False

            def download(tmp: Path) -> None:
                nonlocal placed
                self._download(entity, blob, tmp)  # checked and fsynced
                copy_file(tmp, dest)  # from the private file just checked
                placed = True

            try:
                cache.put_atomic(path, download)
            except BaseException:
                if placed:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(dest)
                raise

    def _from_pack(self, blob: BlobRef, dest: Path) -> bool:
        """Write ``blob`` to ``dest`` from a pack of the client cache, checked; False if
        no pack holds it (or the one that did was damaged, and is dropped)."""
        groups, _others = batch_download.find_cached(self.cache, [(blob, dest)])
        return bool(groups) and not batch_download.write_cached(self.cache, groups[0])[1]

    def export(
        self,
        entity: str,
        items: Sequence[tuple[BlobRef, Path]],
        on_progress: Callable[[int, int], None] | None = None,
    ) -> None:
        """Write each blob, checked, to its new file: small ones from the packs of the
        client cache, else in batches of a few MiB (``batch_reads``, not fsynced, kept in
        the cache), large ones and small ones cached loose through ``fetch`` (the client
        cache, signed URLs, ranges). ``on_progress(files_done, bytes_done)`` is called
        from the calling thread. On an error the work left is cancelled; files already
        written stay (the caller's staging folder is removed).

        Raises: as ``fetch`` and ``batch_download.read_batch``.
        """
        cache = self.cache
        small_groups, alone = batch_download.plan(items)
        small = [item for group in small_groups for item in group]
        done_files = done_bytes = 0

        def fetch_alone(blob: BlobRef, dest: Path) -> tuple[int, list[batch_download.Item]]:
            self.fetch(entity, blob, dest)
            return blob.size, []

        def read(group: Sequence[batch_download.Item]) -> tuple[int, list[batch_download.Item]]:
            return batch_download.read_batch(self._client, cache, entity, group), []

        with (
            cache.download_session(),
            ThreadPoolExecutor(max_workers=batch_download.READ_WORKERS) as pool,
        ):
            packed, unpacked = batch_download.find_cached(cache, small)
            asked: list[batch_download.Item] = []
            for item in unpacked:  # one cached loose (by ``fetch``) is copied by ``fetch``
                cached = cache.path_for_digest(item[0].digest, item[0].algorithm).is_file()
                (alone if cached else asked).append(item)
            futures = [
                (len(members), pool.submit(batch_download.write_cached, cache, (pack, members)))
                for pack, members in packed
            ]
            futures += [(1, pool.submit(fetch_alone, blob, dest)) for blob, dest in alone]
            futures += [(len(g), pool.submit(read, g)) for g in batch_download.plan(asked)[0]]
            try:
                while futures:
                    damaged: list[batch_download.Item] = []  # bytes the cache had wrong
                    for count, future in futures:
                        written, left = future.result()
                        damaged += left
                        done_bytes += written
                        done_files += count - len(left)
                        if on_progress is not None:
                            on_progress(done_files, done_bytes)
                    futures = [
                        (len(g), pool.submit(read, g)) for g in batch_download.plan(damaged)[0]
                    ]
            except BaseException:
                for _count, future in futures:
                    future.cancel()
                raise

    @staticmethod
    def _copy_checked(cached: Path, dest: Path, blob: BlobRef) -> bool:
        """Copy a cached file to the new file ``dest`` (mode 0o644, as every file a
        download writes; not fsynced: the cache holds the durable copy) while hashing
        it; False (``dest`` removed) if it was evicted meanwhile or is damaged."""
        try:
            digest, _size = copy_and_hash(cached, dest, blob.algorithm, sync=False)
        except FileNotFoundError:
            if not cached.exists():
                return False  # evicted meanwhile
            raise
        if digest == blob.digest:
            os.chmod(dest, COPY_MODE)
            return True
        os.unlink(dest)
        return False

    def _download(self, entity: str, blob: BlobRef, tmp: Path) -> None:
        """Download the blob into the new file ``tmp`` (fsynced) and check its digest.

        Raises: CorruptionError (digest), CommError and the like (server or network).
        """
        path = f"/entities/{entity}/blobs/download-urls"
        body = {"blobs": [_blob_json(blob)]}
        answer = self._client.call("POST", path, json=body, idempotent=True).json()
        signed = _signed(answer["urls"][0])
        client = self._client.transfers
        if blob.size >= RANGE_MIN_BYTES and fetching.download_ranges(
            client, signed.url, signed.headers, blob, tmp, RANGE_BYTES, PART_WORKERS
        ):
            return
        fetching.download_whole(client, signed.url, signed.headers, blob, tmp)
