"""A key over its rate gets 429 ``rate_limited`` with ``Retry-After`` from the server's error
handlers (a tiny app wired as the server will be: the limiter checked once the key is
known), and the client's ``raise_for`` turns it back into ``RateLimitError``."""

from __future__ import annotations

import pytest
from fastapi import FastAPI, Header
from fastapi.testclient import TestClient

from cairn.errors import RateLimitError
from cairn.remote.http import raise_for
from cairn.server import errors
from cairn.service.rate_limit import RateLimiter


def limited_app(limiter: RateLimiter) -> FastAPI:
    app = FastAPI()
    errors.install(app)

    @app.get("/thing")
    def thing(x_key: str = Header()) -> dict[str, str]:
        limiter.check(x_key)
        return {"ok": x_key}

    return app


def test_over_the_rate_is_429_with_retry_after() -> None:
    client = TestClient(limited_app(RateLimiter(0.5)))
    assert client.get("/thing", headers={"X-Key": "a"}).json() == {"ok": "a"}
    refused = client.get("/thing", headers={"X-Key": "a"})
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "2"
    body = refused.json()
    assert body["error"]["code"] == "rate_limited"
    assert "retry after 2 s" in body["error"]["message"]
    assert client.get("/thing", headers={"X-Key": "b"}).status_code == 200

    with pytest.raises(RateLimitError) as caught:
        raise_for(refused)
    assert caught.value.retry_after == 2
    assert caught.value.context == {"status": 429, "code": "rate_limited"}


def test_classify_puts_rate_before_other_comm_errors() -> None:
    assert errors.classify(RateLimitError("x", retry_after=3)) == (429, "rate_limited")
