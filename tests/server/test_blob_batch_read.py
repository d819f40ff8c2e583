"""``POST .../blobs/batch-read``: many small blobs in one answer, on both stores."""

from __future__ import annotations

import os
from typing import Any

import httpx

from cairn.core.digest import digest_bytes
from cairn.server.api_blob_batch_download import READ_BATCH_BLOB_MAX, READ_BATCH_COUNT

from .conftest import Server
from .helpers import batch_body, blob_json, post_batch, setup_accounts

BASE = "/api/v1/entities/vision"


def _store(client: httpx.Client, payloads: list[bytes], listing: list[dict[str, Any]]) -> None:
    response = post_batch(client, batch_body(listing, payloads))
    assert response.status_code == 204, response.text


def _read(client: httpx.Client, listing: list[dict[str, Any]]) -> httpx.Response:
    return client.post(f"{BASE}/blobs/batch-read", json={"blobs": listing})


def test_a_batch_read_answers_the_bytes_in_order(store_server: Server) -> None:
    keys = setup_accounts(store_server)
    payloads = [os.urandom(n) for n in (0, 100, 4096, 70_000)] + [b"xxh128 bytes"]
    listing = [blob_json(p) for p in payloads[:-1]] + [blob_json(payloads[-1], "xxh128")]
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
        _store(alice, [stored], [blob_json(stored)])
        response = _read(alice, [blob_json(stored), blob_json(absent)])
        assert response.status_code == 404
        assert digest_bytes(absent) in response.json()["error"]["message"]
        wrong_size = {**blob_json(stored), "size": 3}
        big = {**blob_json(stored), "size": READ_BATCH_BLOB_MAX + 1}
        bad_digest = {**blob_json(stored), "digest": "not-a-digest"}
        for listing in (
            [wrong_size],
            [big],
            [bad_digest],
            [blob_json(stored)] * (READ_BATCH_COUNT + 1),
        ):
            response = _read(alice, listing)
            assert response.status_code == 400, listing[0]
            assert response.json()["error"]["code"] == "invalid_argument"
    with store_server.client() as anonymous:
        assert _read(anonymous, [blob_json(stored)]).status_code == 401
    with store_server.client(keys["carol"]) as carol:  # no role in vision
        assert _read(carol, [blob_json(stored)]).status_code == 404
