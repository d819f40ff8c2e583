"""Downloading one blob from a signed URL into a file, checking its digest on the way.

``download_whole`` streams one ``GET`` into the file, hashing each chunk as it is written.
``download_ranges`` fetches a large blob as parallel ``Range`` requests (``pwrite`` at
their offsets) while a helper thread hashes the file in order: as soon as the ranges
``0..i`` are complete it reads range ``i`` back (from the page cache) and asks the kernel
to start writing it to disk. So when the last byte arrives the digest is a few ranges
away from done and most of the file is already on disk, instead of a full re-read and a
full ``fsync`` after the network part. Both fsync the file and raise ``CorruptionError``
when the bytes do not match their digest; the caller (``Transfers.fetch``, through the
client cache's ``put_atomic``) removes the file then, so nothing unchecked is published.
"""

from __future__ import annotations

import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from cairn.core.digest import b64, new_hasher
from cairn.errors import CommError, CorruptionError
from cairn.remote.http import check_retryable, raise_for, with_retries

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    import httpx

    from cairn.protocol import BlobRef

CHUNK = 1024 * 1024


def _mismatch(blob: BlobRef) -> CorruptionError:
    return CorruptionError(
        f"downloaded bytes of {blob.algorithm} {blob.digest} do not match their digest"
    )


def start_writeback(fd: int, offset: int, length: int) -> None:
    """Start writing ``length`` bytes of ``fd`` from ``offset`` to the disk now, without
    waiting (Linux starts writeback of dirty pages on ``POSIX_FADV_DONTNEED``), so the
    final ``fsync`` finds most of a large download already written instead of all of it
    dirty. Where the call is missing or refused nothing changes: the ``fsync`` still
    writes everything."""
    with contextlib.suppress(AttributeError, OSError):
        os.posix_fadvise(fd, offset, length, os.POSIX_FADV_DONTNEED)


def download_whole(
    client: httpx.Client, url: str, headers: dict[str, str], blob: BlobRef, tmp: Path
) -> None:
    """Stream ``url`` into the new file ``tmp`` (fsynced) and check its digest.

    Raises: CorruptionError (digest), CommError and the like (server or network).
    """

    def attempt() -> httpx.Response:
        with client.stream("GET", url, headers=headers) as response:
            check_retryable(response)
            if not response.is_success:
                response.read()
                return response
            hasher = new_hasher(blob.algorithm)
            with open(tmp, "wb") as out:
                for chunk in response.iter_bytes():  # as received: no re-chunking copies
                    hasher.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            if b64(hasher.digest()) != blob.digest:
                raise _mismatch(blob)
            return response

    response = with_retries(attempt, True, f"download of {blob.algorithm} {blob.digest}")
    if not response.is_success:
        raise_for(response)
        raise CommError(f"download of {blob.digest} failed: HTTP {response.status_code}")


class _OrderedHash:
    """Hashes the spans of a file in order, each once it is complete, on its own thread."""

    def __init__(self, fd: int, spans: Sequence[tuple[int, int]], algorithm: str) -> None:
        self._fd = fd
        self._spans = spans
        self._hasher = new_hasher(algorithm)
        self._complete = [False] * len(spans)
        self._stopped = False
        self._failure: BaseException | None = None
        self._ready = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="cairn-range-hash", daemon=True)
        self._thread.start()

    def complete(self, index: int) -> None:
        """Span ``index`` is written in full."""
        with self._ready:
            self._complete[index] = True
            self._ready.notify()

    def stop(self) -> None:
        """Give up (the download failed): the thread ends without hashing the rest."""
        with self._ready:
            self._stopped = True
            self._ready.notify()
        self._thread.join()

    def digest(self) -> str:
        """The base64 digest of every span, once all are complete and hashed.

        Raises: OSError (the file could not be read), CorruptionError (it is short).
        """
        self._thread.join()
        if self._failure is not None:
            raise self._failure
        return b64(self._hasher.digest())

    def _wait_for(self, index: int) -> bool:
        with self._ready:
            while not self._complete[index] and not self._stopped:
                self._ready.wait()
            return not self._stopped

    def _run(self) -> None:
        try:
            for index, (start, end) in enumerate(self._spans):
                if not self._wait_for(index):
                    return
                offset = start
                while offset < end:
                    chunk = os.pread(self._fd, min(CHUNK, end - offset), offset)
                    if not chunk:
                        raise CorruptionError("a downloaded range is shorter than expected")
                    self._hasher.update(chunk)
                    offset += len(chunk)
                start_writeback(self._fd, start, end - start)
        except BaseException as exc:  # handed to digest()
            self._failure = exc


def _write_range(
    client: httpx.Client,
    url: str,
    headers: dict[str, str],
    fd: int,
    start: int,
    end: int,
    digest: str,
) -> httpx.Response:
    """One ``Range`` request (``headers`` name it): its bytes written at their offsets of
    ``fd`` as they arrive. A response other than 206 is returned unwritten (an error's
    message read, a whole body not).

    Raises: CorruptionError (the range is longer or shorter than asked), and what
    ``check_retryable`` raises for a response worth retrying.
    """
    with client.stream("GET", url, headers=headers) as response:
        check_retryable(response)
        if response.status_code != 206:
            if not response.is_success:
                response.read()
            return response
        offset = start
        for chunk in response.iter_bytes():  # as received: no re-chunking copies
            if offset + len(chunk) > end:
                raise CorruptionError(f"range of {digest} too long")
            os.pwrite(fd, chunk, offset)
            offset += len(chunk)
        if offset != end:
            raise CorruptionError(f"range of {digest} cut short")
        return response


def download_ranges(
    client: httpx.Client,
    url: str,
    headers: dict[str, str],
    blob: BlobRef,
    tmp: Path,
    range_bytes: int,
    workers: int,
) -> bool:
    """Fetch ``blob`` as parallel ``Range`` requests of ``range_bytes`` (``workers`` at a
    time) into the new file ``tmp``, fsync it and check its digest (hashed in order while
    the ranges arrive). Returns False (``tmp`` removed) when the store ignores ranges.

    Raises: CorruptionError (digest, or a range of the wrong length), CommError and the
    like (server or network); ``tmp`` is left for the caller to remove.
    """
    spans = [
        (start, min(start + range_bytes, blob.size)) for start in range(0, blob.size, range_bytes)
    ]
    fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    hashing: _OrderedHash | None = None
    try:
        os.ftruncate(fd, blob.size)
        hashing = _OrderedHash(fd, spans, blob.algorithm)
        ordered = hashing

        def fetch(index: int) -> bool:
            start, end = spans[index]
            sent = {**headers, "Range": f"bytes={start}-{end - 1}"}
            response = with_retries(
                lambda: _write_range(client, url, sent, fd, start, end, blob.digest),
                True,
                f"download of {blob.digest}",
            )
            raise_for(response)
            if response.status_code != 206:
                return False
            ordered.complete(index)
            return True

        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(spans)))) as pool:
            futures = [pool.submit(fetch, index) for index in range(len(spans))]
            try:
                ranged = all(future.result() for future in futures)
            finally:
                for future in futures:
                    future.cancel()  # after a failure or a refused range: stop the rest
        if not ranged:
            hashing.stop()
            hashing = None
        else:
            digest = hashing.digest()
            hashing = None
            os.fsync(fd)
            if digest != blob.digest:
                raise _mismatch(blob)
    finally:
        if hashing is not None:
            hashing.stop()
        os.close(fd)
    if not ranged:
        os.unlink(tmp)
    return ranged
