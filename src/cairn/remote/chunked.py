"""Large files to and from a server as chunks: only the chunks the other side lacks travel.

Upload (``upload``): the staged file is read once, cut into content-defined chunks
(``storage.chunking``) and MD5-hashed on the way (a file that changed since it was added
is refused before anything is declared); the server is asked which chunks the entity
lacks (``POST .../chunks/missing``), those are sent in batches of up to ``BATCH_BYTES``
read back from the file (``POST .../chunks/batch``, ``BATCH_WORKERS`` in flight), then the
file's chunk list is declared (``PUT .../chunk-lists/<md5>``), which the server accepts
only once the chunks reassemble to the file's MD5 and size. A new version of a 1 GiB file
with a few edits sends the few chunks that changed.

Download (``fetch``): the file's chunk list is read (``GET .../chunk-lists/<md5>``; None
when the server stores the file whole), the chunks the client cache lacks are fetched in
batches (``POST .../chunks/read``) and kept in the cache (``obj/chunk/...``, counted in its
byte cap, evicted like any file), then the file is reassembled from the cache into its
destination, every chunk checked against its id and the whole against its MD5. A client
that holds the previous version's chunks fetches only the new ones.

``stats`` counts the chunk bytes sent and fetched (what the benchmarks report).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from cairn.core.digest import b64, b64_to_hex, new_hasher
from cairn.errors import CommError, CorruptionError, NotFoundError
from cairn.remote.http import ApiClient, check_retryable, raise_for, with_retries
from cairn.storage.chunk_lists import decode_chunk_list, encode_chunk_list
from cairn.storage.chunking import ChunkRef, chunk_digest, cut_and_hash
from cairn.storage.local.placing import COPY_MODE

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

    import httpx

    from cairn.protocol import BlobRef
    from cairn.storage.cache.client_cache import ClientCache

ASK_MAX = 50_000  # chunk ids asked about in one request
BATCH_BYTES = 16 * 1024 * 1024  # chunk bytes per upload request (the server takes 64 MiB)
BATCH_WORKERS = 4  # upload or download requests in flight
READ_COUNT = 64  # chunks asked for in one download request (the server's limit)
DECLARE_ATTEMPTS = 2  # a list refused for chunks gone meanwhile (a gc) is sent again once

Located = tuple[str, int, int]  # hex id, offset in the file, size


@dataclasses.dataclass
class ChunkStats:
    """Chunk bytes sent to and fetched from the server by one client (thread-safe adds)."""

    sent: int = 0
    fetched: int = 0
    _lock: threading.Lock = dataclasses.field(default_factory=threading.Lock, repr=False)

    def add(self, sent: int = 0, fetched: int = 0) -> None:
        with self._lock:
            self.sent += sent
            self.fetched += fetched


def cut_file(source: Path, blob: BlobRef) -> list[Located]:
    """The chunks of ``source`` as ``(hex id, offset, size)``, checked to be ``blob``'s
    bytes (its size and MD5) in the same read.

    Raises: CorruptionError (the file changed since it was added), OSError.
    """
    hasher = new_hasher(blob.algorithm)
    located: list[Located] = []
    offset = 0
    with open(source, "rb", buffering=0) as reader:
        for digest, data in cut_and_hash(reader, hasher):
            located.append((digest.hex(), offset, len(data)))
            offset += len(data)
    if offset != blob.size or b64(hasher.digest()) != blob.digest:
        raise CorruptionError(
            f"'{source}' no longer hashes to {blob.digest}: it changed since it was added"
        )
    return located


class ChunkTransfers:
    """Chunked uploads and downloads of one remote backend (thread-safe)."""

    def __init__(self, client: ApiClient, cache: Callable[[], ClientCache]) -> None:
        self._client = client
        self._cache = cache
        self.stats = ChunkStats()

    # ------------------------------------------------------------ upload

    def upload(self, entity: str, blob: BlobRef, source: Path) -> None:
        """Send the chunks of ``source`` that ``entity`` lacks, then declare its list.

        Raises: CorruptionError (the file changed since it was added, or the server
        found the chunks reassemble to another MD5), CommError, OSError.
        """
        located = cut_file(source, blob)
        refs = [ChunkRef(bytes.fromhex(hex_id), size) for hex_id, _offset, size in located]
        listing = encode_chunk_list(blob.digest, blob.algorithm, blob.size, refs)
        path = f"/entities/{entity}/chunk-lists/{b64_to_hex(blob.digest)}"
        for attempt in range(1, DECLARE_ATTEMPTS + 1):
            self._send_lacking(entity, source, located)
            response = self._declare(path, blob.size, listing)
            if response.status_code != 409 or attempt == DECLARE_ATTEMPTS:
                raise_for(response)
                return

    def _declare(self, path: str, size: int, listing: bytes) -> httpx.Response:
        headers = {"Content-Type": "application/octet-stream"}

        def attempt() -> httpx.Response:
            answer = self._client.api.put(
                path, content=listing, params={"size": size}, headers=headers
            )
            return check_retryable(answer)

        return with_retries(attempt, True, f"declaring the chunk list {path}")

    def _send_lacking(self, entity: str, source: Path, located: Sequence[Located]) -> None:
        ids = list(dict.fromkeys(hex_id for hex_id, _o, _s in located))
        lacking: set[str] = set()
        for start in range(0, len(ids), ASK_MAX):
            body = {"chunks": ids[start : start + ASK_MAX]}
            path = f"/entities/{entity}/chunks/missing"
            answer = self._client.call("POST", path, json=body, idempotent=True).json()
            lacking.update(answer["chunks"])
        todo: list[Located] = []
        for item in located:
            if item[0] in lacking:
                todo.append(item)
                lacking.discard(item[0])  # a chunk twice in the file goes up once
        batches: list[list[Located]] = []
        size = 0
        for item in todo:
            if not batches or size + item[2] > BATCH_BYTES:
                batches.append([])
                size = 0
            batches[-1].append(item)
            size += item[2]
        if not batches:
            return
        with ThreadPoolExecutor(min(BATCH_WORKERS, len(batches))) as pool:
            for future in [pool.submit(self._send_batch, entity, source, b) for b in batches]:
                future.result()

    def _send_batch(self, entity: str, source: Path, batch: Sequence[Located]) -> None:
        """Send one batch; one over the server's body limit (413) is split in two."""
        listing = {"chunks": [{"id": hex_id, "size": size} for hex_id, _o, size in batch]}
        parts = [json.dumps(listing, separators=(",", ":")).encode() + b"\n"]
        fd = os.open(source, os.O_RDONLY)
        try:
            for hex_id, offset, size in batch:
                data = os.pread(fd, size, offset)
                if chunk_digest(data).hex() != hex_id:
                    raise CorruptionError(f"'{source}' changed while it was being uploaded")
                parts.append(data)
        finally:
            os.close(fd)
        content = b"".join(parts)
        headers = {"Content-Type": "application/octet-stream"}
        path = f"/entities/{entity}/chunks/batch"

        def attempt() -> httpx.Response:
            return check_retryable(self._client.api.post(path, content=content, headers=headers))

        response = with_retries(attempt, True, f"chunk upload of {len(batch)} chunks")
        if response.status_code == 413 and len(batch) > 1:
            self._send_batch(entity, source, batch[: len(batch) // 2])
            self._send_batch(entity, source, batch[len(batch) // 2 :])
            return
        raise_for(response)
        self.stats.add(sent=sum(size for _h, _o, size in batch))

    # ------------------------------------------------------------ download

    def fetch(self, entity: str, blob: BlobRef, dest: Path) -> bool:
        """Write the file ``blob`` to the new file ``dest`` from its chunks (those the
        cache lacks fetched first); False, with nothing written, when the server stores
        it whole (no chunk list). On a failure ``dest`` does not exist.

        Raises: CorruptionError (a chunk or the file does not match), CommError,
        FileExistsError, OSError.
        """
        path = f"/entities/{entity}/chunk-lists/{b64_to_hex(blob.digest)}"
        try:
            listing = self._client.call("GET", path).content
        except NotFoundError:
            return False
        try:
            chunk_list = decode_chunk_list(listing, path)
        except CorruptionError as exc:
            raise CorruptionError(f"the server sent a damaged chunk list of {blob.digest}") from exc
        if chunk_list.size != blob.size or b64_to_hex(chunk_list.digest) != b64_to_hex(blob.digest):
            raise CorruptionError(f"the server sent the chunk list of another file for {blob}")
        cache = self._cache()
        with cache.download_session():
            sizes = {c.digest.hex(): c.size for c in chunk_list.chunks}
            self._fill_cache(entity, cache, sizes)
            ids = [chunk.digest.hex() for chunk in chunk_list.chunks]
            try:
                self._reassemble(entity, cache, blob, ids, sizes, dest)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(dest)
                raise
        return True

    def _fill_cache(self, entity: str, cache: ClientCache, sizes: dict[str, int]) -> None:
        """Fetch the chunks of ``sizes`` the cache lacks into it (those it holds are
        pinned, and checked as they are reassembled)."""
        wanted = [h for h in sizes if cache.lookup(cache.path_for_chunk(h)) is None]
        groups = [wanted[i : i + READ_COUNT] for i in range(0, len(wanted), READ_COUNT)]
        if not groups:
            return
        with ThreadPoolExecutor(min(BATCH_WORKERS, len(groups))) as pool:
            futures = [pool.submit(self._read_group, entity, cache, g, sizes) for g in groups]
            for future in futures:
                future.result()

    def _read_group(
        self, entity: str, cache: ClientCache, group: Sequence[str], sizes: dict[str, int]
    ) -> None:
        path = f"/entities/{entity}/chunks/read"
        data = self._client.call("POST", path, json={"chunks": list(group)}, idempotent=True)
        body = memoryview(data.content)
        if len(body) != sum(sizes[hex_id] for hex_id in group):
            raise CommError(f"the server sent {len(body)} bytes for {len(group)} chunks")
        offset = 0
        for hex_id in group:
            piece = body[offset : offset + sizes[hex_id]]
            offset += sizes[hex_id]
            if chunk_digest(piece).hex() != hex_id:
                raise CorruptionError(f"the server sent wrong bytes for chunk {hex_id}")
            cache.put_atomic(cache.path_for_chunk(hex_id), _writer(piece))
        self.stats.add(fetched=len(body))

    def _reassemble(
        self,
        entity: str,
        cache: ClientCache,
        blob: BlobRef,
        ids: Sequence[str],
        sizes: dict[str, int],
        dest: Path,
    ) -> None:
        """Write the chunks ``ids`` from the cache to the new file ``dest``, checking each
        chunk (one the cache lost or holds damaged is fetched again) and the whole
        file's MD5."""
        hasher = new_hasher(blob.algorithm)
        with open(dest, "xb") as out:
            for hex_id in ids:
                data = _cached_chunk(cache, hex_id)
                if data is None:  # evicted by another process, or damaged: again
                    self._read_group(entity, cache, [hex_id], sizes)
                    data = _cached_chunk(cache, hex_id)
                if data is None:
                    raise CommError(f"chunk {hex_id} left the cache during the download")
                hasher.update(data)
                out.write(data)
        if b64(hasher.digest()) != blob.digest:
            raise CorruptionError(f"the chunks of {blob.digest} reassemble to another digest")
        os.chmod(dest, COPY_MODE)


def _writer(data: memoryview) -> Callable[[Path], None]:
    """A ``put_atomic`` writer of ``data``."""

    def write(tmp: Path) -> None:
        with open(tmp, "xb") as out:
            out.write(data)

    return write


def _cached_chunk(cache: ClientCache, hex_id: str) -> bytes | None:
    """The bytes of the cached chunk ``hex_id`` if the cache holds them intact; a damaged
    copy is removed."""
    path = cache.path_for_chunk(hex_id)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    if chunk_digest(data).hex() == hex_id:
        return data
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    return None
