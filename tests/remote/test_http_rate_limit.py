"""The client honours 429: it waits the ``Retry-After`` the server asks for (capped, with
jitter) and sends the call again, whatever the call (the server did nothing), until its
attempts run out; then it raises ``RateLimitError``."""

from __future__ import annotations

import email.utils
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from cairn.errors import CommError, NotReadyError, RateLimitError
from cairn.remote import http
from cairn.remote.http import ApiClient


def mocked(handler: Callable[[httpx.Request], httpx.Response]) -> ApiClient:
    client = ApiClient("http://cairn.test", "key")
    client.api = httpx.Client(
        base_url="http://cairn.test/api/v1", transport=httpx.MockTransport(handler)
    )
    return client


def refusing(times: int, retry_after: str | None = "1") -> tuple[list[str], ApiClient]:
    """A server that answers 429 ``times`` times, then 200; and the paths it was sent."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        if len(seen) <= times:
            headers = {"Retry-After": retry_after} if retry_after is not None else {}
            body = {"error": {"code": "rate_limited", "message": "too many requests"}}
            return httpx.Response(429, json=body, headers=headers)
        return httpx.Response(200, json={"ok": True})

    return seen, mocked(handler)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    waited: list[float] = []
    monkeypatch.setattr(http.time, "sleep", waited.append)
    return waited


def test_a_refused_post_is_sent_again_after_retry_after(sleeps: list[float]) -> None:
    seen, client = refusing(2, "3")
    assert client.call("POST", "/things", json={"a": 1}).json() == {"ok": True}
    assert seen == ["POST /api/v1/things"] * 3
    assert len(sleeps) == 2
    assert all(3 <= wait <= 3 * 1.25 for wait in sleeps)


def test_when_the_attempts_run_out_it_raises_rate_limit_error(sleeps: list[float]) -> None:
    seen, client = refusing(100, "2")
    with pytest.raises(RateLimitError) as caught:
        client.call("GET", "/things")
    assert len(seen) == http.ATTEMPTS and len(sleeps) == http.ATTEMPTS - 1
    assert caught.value.retry_after == 2
    assert "too many requests" in str(caught.value)


def test_the_wait_is_capped(sleeps: list[float]) -> None:
    _seen, client = refusing(1, "86400")
    client.call("PUT", "/things")
    (wait,) = sleeps
    assert http.RETRY_AFTER_MAX_SECONDS <= wait <= http.RETRY_AFTER_MAX_SECONDS * 1.25


def test_retry_after_may_be_a_date(sleeps: list[float]) -> None:
    when = email.utils.formatdate(time.time() + 10, usegmt=True)
    _seen, client = refusing(1, when)
    client.call("DELETE", "/things")
    (wait,) = sleeps
    assert 5 <= wait <= 10 * 1.25


def test_without_retry_after_it_backs_off(sleeps: list[float]) -> None:
    _seen, client = refusing(1, None)
    client.call("POST", "/things")
    (wait,) = sleeps
    assert 0 < wait <= http.BACKOFF_SECONDS


def test_a_bare_429_is_a_rate_limit_error_too(sleeps: list[float]) -> None:
    client = mocked(lambda _request: httpx.Response(429, text="slow down"))
    with pytest.raises(RateLimitError) as caught:
        client.call("GET", "/things")
    assert caught.value.retry_after == 1


class _Handler(BaseHTTPRequestHandler):
    refusals = 1
    seen: list[float]

    def do_POST(self) -> None:
        self.seen.append(time.monotonic())
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if len(self.seen) <= self.refusals:
            status, body = 429, {"error": {"code": "rate_limited", "message": "slow"}}
        else:
            status, body = 200, {"ok": True}
        data = json.dumps(body).encode()
        self.send_response(status)
        if status == 429:
            self.send_header("Retry-After", "1")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def refusing_server() -> Iterator[tuple[str, list[float]]]:
    seen: list[float] = []
    handler = type("Handler", (_Handler,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def test_through_a_real_socket_it_waits_at_least_retry_after(
    refusing_server: tuple[str, list[float]],
) -> None:
    url, seen = refusing_server
    client = ApiClient(url, "key")
    try:
        assert client.call("POST", "/runs", json={}).json() == {"ok": True}
    finally:
        client.close()
    assert len(seen) == 2
    assert seen[1] - seen[0] >= 1.0


def not_ready(times: int) -> tuple[list[str], ApiClient]:
    """A server that answers 503 ``not_ready`` ``times`` times, then 200."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        if len(seen) <= times:
            body = {"error": {"code": "not_ready", "message": "still being verified"}}
            return httpx.Response(503, json=body, headers={"Retry-After": "5"})
        return httpx.Response(200, json={"ok": True})

    return seen, mocked(handler)


def test_a_commit_refused_as_not_ready_is_sent_again_after_retry_after(
    sleeps: list[float],
) -> None:
    # 503 not_ready: a large upload the commit names is still being checked; nothing was
    # done, so even a POST is sent again.
    seen, client = not_ready(2)
    assert client.call("POST", "/versions", json={"a": 1}).json() == {"ok": True}
    assert seen == ["POST /api/v1/versions"] * 3
    assert all(5 <= wait <= 5 * 1.25 for wait in sleeps) and len(sleeps) == 2


def test_not_ready_to_the_end_raises_not_ready_error(sleeps: list[float]) -> None:
    _seen, client = not_ready(100)
    with pytest.raises(NotReadyError, match="still being verified") as caught:
        client.call("POST", "/versions", json={})
    assert caught.value.retry_after == 5


def test_another_503_of_a_post_is_not_sent_again(sleeps: list[float]) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        return httpx.Response(503, json={"error": {"code": "internal", "message": "down"}})

    with pytest.raises(CommError):
        mocked(handler).call("POST", "/versions", json={})
    assert seen == ["POST"]
