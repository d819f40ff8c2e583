"""Every request measured once: metrics, a request id and (``--log-format json``) one
JSON log line (docs/server.md "Monitoring").

``Instrument`` wraps the whole app (it is the outermost middleware), so it sees every
request and its final status, refusals of the other middlewares included. For each it
gives the request an id (the caller's ``X-Request-ID`` when it is a short token, else a
new one, returned in the response's ``X-Request-ID``), counts the body bytes in and out,
and once the response is sent records the route template, method, status and duration in
``Metrics``. The key a request was made with is learnt from the use cases:
``StoreObserver.authenticated`` writes its public id into the request's ``RequestRecord``,
which the middleware set in a context variable that the threads running the request's
handlers inherit.

The log line never carries a secret: no API key (only its public id), no query string
(where signed URLs keep their signature) and no header.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
import uuid
from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from cairn.server.background_chunker import BackgroundChunker
    from cairn.server.metrics import Metrics

access_log = logging.getLogger("cairn.access")

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
UNMATCHED = "unmatched"


@dataclasses.dataclass
class RequestRecord:
    """What is known of the request under way: its id and the public id of its key."""

    request_id: str
    key_id: str | None = None


_current: ContextVar[RequestRecord | None] = ContextVar("cairn_request", default=None)


def current_request() -> RequestRecord | None:
    """The record of the request this code runs for, or None outside a request."""
    return _current.get()


class StoreObserver:
    """The ``cairn.service.observer.Observer`` of a server's store: commits and refusals
    for rate go to ``metrics``, an authenticated key to the current request's record,
    large files of new versions to the background ``chunker``."""

    def __init__(self, metrics: Metrics, chunker: BackgroundChunker | None = None) -> None:
        self.metrics = metrics
        self.chunker = chunker

    def authenticated(self, key_id: str) -> None:
        request = _current.get()
        if request is not None:
            request.key_id = key_id

    def rate_limited(self) -> None:
        self.metrics.rate_limited()

    def committed(self, seconds: float, created: bool) -> None:
        self.metrics.committed(seconds, created)

    def large_files(self, entity: str, files: Sequence[tuple[str, int]]) -> None:
        if self.chunker is not None:
            self.chunker.queue(entity, files)


def route_of(scope: Scope) -> str:
    """The template of the route that answered (``/api/v1/versions/{version_id}``), or
    ``unmatched``: never the raw path, so the metrics' labels stay bounded."""
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) and path else UNMATCHED


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers") or ():
        if name == b"x-request-id":
            given = bytes(value).decode("latin-1")
            if _REQUEST_ID.fullmatch(given):
                return given
    return uuid.uuid4().hex


class Instrument:
    """Measure every HTTP request into ``metrics``; with ``log_requests``, log one line
    per request to the ``cairn.access`` logger (its fields in the record's ``cairn``
    attribute, which ``cairn.server.logs.JsonFormatter`` writes out)."""

    def __init__(self, app: ASGIApp, metrics: Metrics, log_requests: bool) -> None:
        self.app = app
        self.metrics = metrics
        self.log_requests = log_requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        record = RequestRecord(_request_id(scope))
        received = sent = 0
        status = 500  # unless a response starts

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
            return message

        async def counted_send(message: Message) -> None:
            nonlocal sent, status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [
                    *message.get("headers", ()),
                    (b"x-request-id", record.request_id.encode()),
                ]
                message = {**message, "headers": headers}
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        token = _current.set(record)
        try:
            await self.app(scope, counted_receive, counted_send)
        finally:
            _current.reset(token)
            seconds = time.perf_counter() - started
            method = scope["method"] if scope["method"] in _METHODS else "other"
            route = route_of(scope)
            self.metrics.request(route, method, status, seconds, received, sent)
            if self.log_requests:
                self._log(scope, record, method, route, status, seconds, received, sent)

    @staticmethod
    def _log(
        scope: Scope,
        record: RequestRecord,
        method: str,
        route: str,
        status: int,
        seconds: float,
        received: int,
        sent: int,
    ) -> None:
        client = scope.get("client")
        fields = {
            "request_id": record.request_id,
            "key_id": record.key_id,
            "method": method,
            "route": route,
            "path": scope.get("path", ""),  # never the query string: signatures live there
            "status": status,
            "duration_ms": round(seconds * 1000, 3),
            "bytes_in": received,
            "bytes_out": sent,
            "client": client[0] if client else None,
        }
        access_log.info("%s %s %d", method, fields["path"], status, extra={"cairn": fields})
