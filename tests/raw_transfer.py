"""A bare HTTP client of the server's transfer URLs, for testing the wire on its own.

The SDK's client is ``cairn.remote.transfer``; this one drives the blob routes directly
(whole, in resumable parts, in ranges), so tests can also send what the SDK never would.
The server hands out URLs (presigned S3 URLs or its own signed ``/blobs/`` URLs) and these
functions move the bytes, over plain HTTP with httpx, without an API key:

- ``put_file(url, path, headers)``: one PUT of a whole file;
- ``upload_parts(start, path, complete)``: a large blob in parts. ``start()`` returns the
  body of ``POST /entities/<e>/blobs/multipart`` (which lists the parts the server already
  has, so calling this again after an interruption sends only the rest); each missing part
  is PUT in parallel, then ``complete(upload_id)`` asks the server to join and verify them;
- ``upload_blob(signed, path, start, complete)``: whichever of the two ``signed`` (one
  entry of ``upload-urls``) calls for;
- ``download_blob(url, dest, size)``: a GET, split in parallel ``Range`` requests for
  large blobs, written to a temporary file renamed to ``dest`` when complete.

Errors: ``CommError`` for HTTP failures (it carries the status), ``OSError`` for files.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cairn.errors import CommError

if TYPE_CHECKING:
    import httpx

RANGE_THRESHOLD = 64 * 1024 * 1024  # download in parallel ranges from this size on
RANGE_SIZE = 16 * 1024 * 1024
TIMEOUT = 300.0


def _client(http: httpx.Client | None) -> httpx.Client:
    import httpx

    return http or httpx.Client(timeout=TIMEOUT, follow_redirects=True)


def _check(response: httpx.Response, what: str) -> None:
    if response.status_code >= 300:
        response.read()  # a streamed response's body is not read yet
        raise CommError(
            f"{what} failed: HTTP {response.status_code} {response.text[:300]}",
            context={"status": response.status_code},
        )


class _Slice:
    """A file-like view of ``length`` bytes of a file from ``offset`` (streamed upload)."""

    def __init__(self, path: Path, offset: int, length: int) -> None:
        self._file = open(path, "rb")  # noqa: SIM115 - closed by close()
        self._file.seek(offset)
        self._left = length

    def __iter__(self) -> Any:
        while self._left > 0:
            chunk = self._file.read(min(self._left, 1024 * 1024))
            if not chunk:
                return
            self._left -= len(chunk)
            yield chunk

    def close(self) -> None:
        self._file.close()


def _put(
    http: httpx.Client, url: str, path: Path, offset: int, length: int, headers: Mapping[str, str]
) -> None:
    body = _Slice(path, offset, length)
    try:
        response = http.put(
            url, content=iter(body), headers={**headers, "Content-Length": str(length)}
        )
    finally:
        body.close()
    _check(response, f"upload of {path}")


def put_file(
    url: str,
    path: Path,
    headers: Mapping[str, str] | None = None,
    *,
    http: httpx.Client | None = None,
) -> None:
    """PUT the whole file ``path`` to ``url`` with ``headers`` (e.g. ``Content-MD5``).

    Raises: CommError (refused, e.g. a wrong digest), OSError.
    """
    client = _client(http)
    try:
        _put(client, url, path, 0, path.stat().st_size, headers or {})
    finally:
        if http is None:
            client.close()


def upload_parts(
    start: Callable[[], Mapping[str, Any]],
    path: Path,
    complete: Callable[[str], None],
    *,
    workers: int = 4,
    http: httpx.Client | None = None,
) -> None:
    """Upload ``path`` in the parts ``start()`` lists, skipping those already ``done``,
    then call ``complete(upload_id)``. Calling it again after a failure resumes.

    Raises: CommError (a part refused, or completion refused), OSError.
    """
    plan = start()
    part_size = int(plan["part_size"])
    todo = [p for p in plan["parts"] if not p["done"]]
    client = _client(http)
    try:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            futures = [
                pool.submit(
                    _put,
                    client,
                    part["url"],
                    path,
                    (int(part["number"]) - 1) * part_size,
                    int(part["size"]),
                    part.get("headers") or {},
                )
                for part in todo
            ]
            for future in futures:
                future.result()
    finally:
        if http is None:
            client.close()
    complete(str(plan["upload_id"]))


def upload_blob(
    signed: Mapping[str, Any],
    path: Path,
    start: Callable[[], Mapping[str, Any]],
    complete: Callable[[str], None],
    *,
    workers: int = 4,
    http: httpx.Client | None = None,
) -> None:
    """Upload ``path`` as ``signed`` (one entry of ``upload-urls``) asks: one PUT, or parts
    when it is marked ``multipart``. Raises: CommError, OSError."""
    if signed.get("multipart"):
        upload_parts(start, path, complete, workers=workers, http=http)
    else:
        put_file(signed["url"], path, signed.get("headers") or {}, http=http)


def _pwrite_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        done = os.pwrite(fd, view, offset)
        view, offset = view[done:], offset + done


def _get_range(http: httpx.Client, url: str, fd: int, start: int, end: int) -> None:
    with http.stream("GET", url, headers={"Range": f"bytes={start}-{end}"}) as response:
        _check(response, "download")
        if response.status_code != 206:
            raise CommError("download failed: the server ignored a Range request")
        offset = start
        for chunk in response.iter_bytes(1024 * 1024):
            _pwrite_all(fd, chunk, offset)
            offset += len(chunk)
        if offset != end + 1:
            raise CommError(f"download failed: short range {start}-{end}")


def download_blob(
    url: str,
    dest: Path,
    size: int,
    *,
    parallel: int = 4,
    range_threshold: int = RANGE_THRESHOLD,
    range_size: int = RANGE_SIZE,
    http: httpx.Client | None = None,
) -> None:
    """Download ``size`` bytes from ``url`` into ``dest`` (replaced when complete; never
    a partial file under ``dest``). Blobs of ``range_threshold`` bytes or more come in
    ``parallel`` concurrent ``Range`` requests of ``range_size``. The caller checks the
    digest. Raises: CommError (HTTP failure, wrong length), OSError."""
    client = _client(http)
    tmp = dest.parent / f".{dest.name}.{secrets.token_hex(6)}.part"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        if size >= range_threshold and parallel > 1:
            os.ftruncate(fd, size)
            spans = [(a, min(a + range_size, size) - 1) for a in range(0, size, range_size)]
            with ThreadPoolExecutor(max_workers=parallel) as pool:
                for future in [pool.submit(_get_range, client, url, fd, a, b) for a, b in spans]:
                    future.result()
        else:
            written = 0
            with client.stream("GET", url) as response:
                _check(response, "download")
                for chunk in response.iter_bytes(1024 * 1024):
                    _pwrite_all(fd, chunk, written)
                    written += len(chunk)
            if written != size:
                raise CommError(f"download failed: expected {size} bytes, got {written}")
        os.fsync(fd)
        os.close(fd)
        fd = -1
        os.replace(tmp, dest)
    finally:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        if http is None:
            client.close()
