"""``http://`` and ``https://`` references (spec §5.1), read with httpx (imported lazily).

``add_reference`` sends a streamed GET and reads only the headers: the entry's ``ref`` is the
final URL after redirects, its digest the ETag without quotes (the URL when there is none),
its size ``Content-Length``, and ``extra.etag`` the raw header. A download GETs the URL
again and refuses bytes whose ETag no longer gives the recorded digest, or whose length
differs from the recorded size.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
from typing import TYPE_CHECKING, Any

from cairn.core.manifest import ManifestEntry
from cairn.core.paths import normalize_artifact_path
from cairn.errors import ChangedReferenceError, CommError, MissingReferenceError
from cairn.storage.references.base import (
    HandlerOptions,
    ReferenceHandler,
    redact,
    refuse_credentials,
    strip_quotes,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    import httpx

TIMEOUT_SECONDS = 60.0
CONNECT_RETRIES = 3
CHUNK_SIZE = 1024 * 1024
_GONE = (404, 410)


class HTTPHandler(ReferenceHandler):
    """``http``/``https`` URIs (Azure blob URLs are claimed earlier by the Azure handler)."""

    schemes = ("http", "https")

    def __init__(self, options: HandlerOptions) -> None:
        self._options = options

    def store_path(
        self, uri: str, name: str | None, checksum: bool, max_objects: int | None
    ) -> list[ManifestEntry]:
        """The single entry of ``uri``.

        Raises:
            ValueError: credentials in the URI, an invalid name, or a refused address.
            CommError: the server cannot be reached or answers with an error status.
        """
        refuse_credentials(uri)
        path = normalize_artifact_path(name or posixpath.basename(uri))
        if not checksum:
            return [ManifestEntry(path=path, digest=uri, ref=uri)]
        with self._get(uri) as response:
            final = str(response.url)
            refuse_credentials(final)
            etag = response.headers.get("ETag")
            length = response.headers.get("Content-Length")
        extra: dict[str, Any] = {"etag": etag} if etag is not None else {}
        return [
            ManifestEntry(
                path=path,
                digest=strip_quotes(etag) if etag is not None else final,
                ref=final,
                size=int(length) if length is not None and length.isdigit() else None,
                extra=extra,
            )
        ]

    def fetch(self, entry: ManifestEntry, dest: Path) -> None:
        """GET ``entry.ref`` into ``dest`` after checking its ETag still gives the digest.

        Raises:
            MissingReferenceError: the server answers 404 or 410.
            ChangedReferenceError: ``"Digest mismatch for url '<u>': expected '<d>' but
                found '<d2>'"`` (entry named), or a body of another length than recorded.
            CommError: the server cannot be reached or answers with another error status.
            OSError: ``dest`` cannot be written.
        """
        url = entry.ref or ""
        with self._get(url, entry) as response:
            etag = response.headers.get("ETag")
            found = strip_quotes(etag) if etag is not None else str(response.url)
            if found != entry.digest:
                raise ChangedReferenceError(
                    f"Digest mismatch for url '{redact(url)}': expected '{entry.digest}' but "
                    f"found '{found}' (entry '{entry.path}')"
                )
            size = 0
            fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as out:
                for chunk in response.iter_bytes(CHUNK_SIZE):
                    out.write(chunk)
                    size += len(chunk)
        if entry.size is not None and size != entry.size:
            os.unlink(dest)
            raise ChangedReferenceError(
                f"Size mismatch for url '{redact(url)}': expected {entry.size} bytes but "
                f"received {size} (entry '{entry.path}')"
            )

    @contextlib.contextmanager
    def _get(self, url: str, entry: ManifestEntry | None = None) -> Iterator[httpx.Response]:
        """A streamed GET of ``url`` (redirects followed, every hop's host checked).

        With ``entry`` (a download), 404 and 410 raise ``MissingReferenceError``.
        Raises ``CommError`` for other error statuses and transport failures.
        """
        import httpx  # noqa: PLC0415 - lazily: only reference adds and downloads need it

        hooks: dict[str, list[Any]] = {}
        check = self._options.address_check
        if check is not None:

            def check_request(request: httpx.Request) -> None:
                check(request.url.host)

            hooks["request"] = [check_request]
        transport = httpx.HTTPTransport(retries=CONNECT_RETRIES)
        try:
            with (
                httpx.Client(
                    transport=transport,
                    follow_redirects=True,
                    timeout=TIMEOUT_SECONDS,
                    event_hooks=hooks,
                ) as client,
                client.stream("GET", url) as response,
            ):
                if response.status_code in _GONE and entry is not None:
                    raise MissingReferenceError(
                        f"Unable to find {redact(url)} (HTTP {response.status_code}) "
                        f"(entry '{entry.path}')"
                    )
                if response.is_error:
                    raise CommError(f"HTTP {response.status_code} from {redact(str(response.url))}")
                yield response
        except httpx.HTTPError as exc:
            raise CommError(f"Unable to fetch {redact(url)}: {type(exc).__name__}", exc) from None
