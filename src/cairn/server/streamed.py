"""Streaming a stored file that no single file or object holds (a file stored as chunks).

A file stored as a chunk list has no ``local_path`` and no object to presign, so the
server's own signed download route streams it reassembled (``BlobArea.iter_bytes``, each
chunk checked against its id on the way), with its length declared and one ``Range``
(``bytes=a-`` or ``bytes=a-b``) honoured (the bytes before it are read and skipped), so a
client that resumes works as it does on a whole file.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from fastapi import Response
from fastapi.responses import StreamingResponse

if TYPE_CHECKING:
    from collections.abc import Iterator

    from cairn.storage.blobstores.interface import BlobArea

SMALL_BYTES = 1024 * 1024  # smaller blobs are read whole and sent in one body
_RANGE = re.compile(r"bytes=(\d+)-(\d*)")


def _cut(chunks: Iterator[bytes], length: int) -> Iterator[bytes]:
    """The first ``length`` bytes of ``chunks``."""
    left = length
    for chunk in chunks:
        if left <= 0:
            break
        piece = chunk[:left]
        left -= len(piece)
        yield piece


def ranged(area: BlobArea, digest: str, algorithm: str, size: int, header: str | None) -> Response:
    """The whole file, or the one range ``header`` asks for (416 past the end).

    Raises: FileNotFoundError / KeyError (not stored), at once.
    """
    match = _RANGE.fullmatch(header.strip()) if header else None
    start, end = 0, size - 1
    if match is not None:
        start = int(match.group(1))
        end = min(size - 1, int(match.group(2))) if match.group(2) else size - 1
        if start >= size or end < start:
            return Response(status_code=416, headers={"Content-Range": f"bytes */{size}"})
    length = end - start + 1
    headers = {"Content-Length": str(length), "Accept-Ranges": "bytes"}
    body = _skip(area.iter_bytes(digest, algorithm), start)
    if match is not None:
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    status = 206 if match is not None else 200
    kind = "application/octet-stream"
    return StreamingResponse(_cut(body, length), status, headers, media_type=kind)


def _skip(chunks: Iterator[bytes], count: int) -> Iterator[bytes]:
    """``chunks`` without their first ``count`` bytes."""
    for chunk in chunks:
        if count >= len(chunk):
            count -= len(chunk)
            continue
        yield chunk[count:] if count else chunk
        count = 0
