"""``POST .../blobs/batch-read``: many small blobs in one answer, on both stores."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cairn.core.digest import digest_bytes
from cairn.server.api_batch_read import READ_BATCH_BLOB_MAX, READ_BATCH_COUNT

from .conftest import Server, run_server, server_config
from .helpers import setup_accounts

BASE = "/api/v1/entities/vision"


@pytest.fixture(params=["dir", "s3"])
def store_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    db = f"sqlite+pysqlite:///{tmp_path / 'server.db'}"
    changes: dict[str, Any] = {}
    if request.param == "s3":
        changes["store_url"] = request.getfixturevalue("s3_store_url")
        changes["s3_endpoint_url"] = request.getfixturevalue("moto_endpoint")
    with run_server(server_config(db, tmp_path, **changes)) as running:
        yield running


def _blob(data: bytes, algorithm: str = "md5") -> dict[str, Any]:
    return {"digest": digest_bytes(data, algorithm), "algorithm": algorithm, "size": len(data)}


def _store(client: httpx.Client, payloads: list[bytes], listing: list[dict[str, Any]]) -> None:
    content = json.dumps({"blobs": listing}).encode() + b"\n" + b"".join(payloads)
    headers = {"Content-Type": "application/octet-stream"}
    response = client.post(f"{BASE}/blobs/batch", content=content, headers=headers)
    assert response.status_code == 204, response.text


def _read(client: httpx.Client, listing: list[dict[str, Any]]) -> httpx.Response:
    return client.post(f"{BASE}/blobs/batch-read", json={"blobs": listing})


def test_a_batch_read_answers_the_bytes_in_order(store_server: Server) -> None:
    keys = setup_accounts(store_server)
    payloads = [os.urandom(n) for n in (0, 100, 4096, 70_000)] + [b"xxh128 bytes"]
    listing = [_blob(p) for p in payloads[:-1]] + [_blob(payloads[-1], "xxh128")]
    with store_server.client(keys["alice"]) as alice:
        _store(alice, payloads, listing)
        order = [4, 2, 2, 0, 3, 1]  # any order, a blob twice
        response = _read(alice, [listing[i] for i in order])
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/octet-stream"
        assert response.content == b"".join(payloads[i] for i in order)
    with store_server.client(keys["bob"]) as bob:  # a viewer reads
        assert _read(bob, listing[:1]).content == payloads[0]


def test_a_batch_read_refuses_what_it_cannot_answer_whole(store_server: Server) -> None:
    keys = setup_accounts(store_server)
    stored, absent = b"stored", b"never stored"
    with store_server.client(keys["alice"]) as alice:
        _store(alice, [stored], [_blob(stored)])
        response = _read(alice, [_blob(stored), _blob(absent)])
        assert response.status_code == 404
        assert digest_bytes(absent) in response.json()["error"]["message"]
        wrong_size = {**_blob(stored), "size": 3}
        big = {**_blob(stored), "size": READ_BATCH_BLOB_MAX + 1}
        bad_digest = {**_blob(stored), "digest": "not-a-digest"}
        for listing in (
            [wrong_size],
            [big],
            [bad_digest],
            [_blob(stored)] * (READ_BATCH_COUNT + 1),
        ):
            response = _read(alice, listing)
            assert response.status_code == 400, listing[0]
            assert response.json()["error"]["code"] == "invalid_argument"
    with store_server.client() as anonymous:
        assert _read(anonymous, [_blob(stored)]).status_code == 401
    with store_server.client(keys["carol"]) as carol:  # no role in vision
        assert _read(carol, [_blob(stored)]).status_code == 404
