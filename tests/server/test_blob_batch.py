"""``POST .../blobs/batch`` (many small blobs in one body) on both stores, and the S3
store's record of stored blobs that ``blobs/missing`` and the commit's check rely on."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from cairn.core.digest import blob_key, digest_bytes
from cairn.core.manifest import Manifest, ManifestEntry

from .conftest import Server, run_server, server_config
from .helpers import batch_body, blob_json, ok, post_batch, setup_accounts

BASE = "/api/v1/entities/vision"


def _bucket(server: Server) -> tuple[Any, str]:
    assert server.config.store_url is not None
    bucket = server.config.store_url.removeprefix("s3://").split("/")[0]
    return boto3.client("s3", endpoint_url=server.config.s3_endpoint_url), bucket


def _stored(server: Server) -> list[str]:
    """Every stored blob of ``vision`` (bucket keys, or files of the directory store)."""
    if server.config.store_url is None:
        root = server.config.store_dir / "entities" / "vision"
        found = [p.relative_to(root) for p in root.rglob("*") if p.is_file()]
        return sorted(str(p) for p in found if p.parts[0] != "tmp")
    client, bucket = _bucket(server)
    listing = client.list_objects_v2(Bucket=bucket, Prefix="srv/")
    return sorted(item["Key"] for item in listing.get("Contents", []))


def _commit(client: httpx.Client, files: dict[str, bytes]) -> httpx.Response:
    """Commit ``files`` (already uploaded, or not) as a version of ``vision/p/c``."""
    manifest = Manifest()
    for path, data in files.items():
        manifest.add_entry(
            ManifestEntry(path=path, digest=digest_bytes(data, "md5"), size=len(data))
        )
    body = {
        "project": "p",
        "collection": "c",
        "type": "dataset",
        "digest": manifest.digest(),
        "digest_algorithm": "MD5",
        "manifest_json": manifest.to_json_bytes().decode(),
        "size": sum(len(d) for d in files.values()),
        "file_count": len(files),
    }
    return client.post(f"{BASE}/projects/p/versions", json=body)


def test_a_batch_stores_every_blob_and_they_download(store_server: Server, tmp_path: Path) -> None:
    keys = setup_accounts(store_server)
    payloads = [os.urandom(n) for n in (0, 100, 4096, 70_000)] + [b"xxh128 bytes"]
    listing = [blob_json(p) for p in payloads[:-1]] + [blob_json(payloads[-1], "xxh128")]
    with store_server.client(keys["alice"]) as alice:
        assert ok(alice.post(f"{BASE}/blobs/missing", json={"blobs": listing}))["blobs"] == listing
        response = post_batch(alice, batch_body(listing, payloads))
        assert response.status_code == 204, response.text
        assert post_batch(alice, batch_body(listing, payloads)).status_code == 204  # idempotent
        assert ok(alice.post(f"{BASE}/blobs/missing", json={"blobs": listing}))["blobs"] == []
        urls = ok(alice.post(f"{BASE}/blobs/download-urls", json={"blobs": listing}))["urls"]
        for signed, data in zip(urls, payloads, strict=True):
            assert httpx.get(signed["url"], headers=signed["headers"]).content == data
    if store_server.config.store_url is not None:  # straight to the final keys
        assert not [key for key in _stored(store_server) if "/incoming/" in key]
        assert len(_stored(store_server)) == len(payloads)
    else:  # a directory store keeps the batch as one pack and its index, nothing loose
        assert [Path(p).suffix for p in _stored(store_server)] == [".idx", ".pack"]


def test_a_wrong_blob_in_the_middle_stores_nothing(store_server: Server) -> None:
    keys = setup_accounts(store_server)
    payloads = [b"first blob", b"second blob", b"third blob"]
    listing = [blob_json(p) for p in payloads]
    sent = [payloads[0], b"SECOND BLOB", payloads[2]]  # same length, other bytes
    with store_server.client(keys["alice"]) as alice:
        response = post_batch(alice, batch_body(listing, sent))
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "digest_mismatch"
        assert listing[1]["digest"] in response.json()["error"]["message"]
        assert ok(alice.post(f"{BASE}/blobs/missing", json={"blobs": listing}))["blobs"] == listing
    assert _stored(store_server) == []


def test_malformed_and_too_large_batches_are_refused(store_server: Server) -> None:
    keys = setup_accounts(store_server)
    data = b"some bytes"
    listing = [blob_json(data)]
    limit = store_server.config.limits.max_body_bytes
    with store_server.client(keys["alice"]) as alice:
        for body in (
            data,  # no listing line
            batch_body(listing, [data + b"!"]),  # more bytes than listed
            batch_body(listing, [data[:-1]]),  # fewer
            b'{"blobs": [{"digest": "x"}]}\n',  # an invalid listing
        ):
            response = post_batch(alice, body)
            assert response.status_code == 400, body
            assert response.json()["error"]["code"] == "invalid_argument"
        big = os.urandom(limit)
        response = post_batch(alice, batch_body([blob_json(big)], [big]))
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "too_large"
    assert _stored(store_server) == []


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("server", ["dir"], indirect=True)
def test_batches_need_a_key_and_write_access(server: Server) -> None:
    keys = setup_accounts(server)
    data = b"guarded"
    body = batch_body([blob_json(data)], [data])
    with server.client() as anonymous:
        assert post_batch(anonymous, body).status_code == 401
    with server.client(keys["carol"]) as carol:  # no role in vision: it does not exist
        assert post_batch(carol, body).status_code == 404
    with server.client(keys["bob"]) as bob:  # a viewer
        assert post_batch(bob, body).status_code == 403
    assert _stored(server) == []


def test_missing_answers_from_the_record_and_commits_check_the_rest(
    s3_store_url: str, moto_endpoint: str, tmp_path: Path
) -> None:
    db = f"sqlite+pysqlite:///{tmp_path / 'server.db'}"
    config = server_config(db, tmp_path, store_url=s3_store_url, s3_endpoint_url=moto_endpoint)
    with run_server(config) as server:
        keys = setup_accounts(server)
        client, bucket = _bucket(server)
        recorded, older = b"sent in a batch", b"stored before the record existed"
        with server.client(keys["alice"]) as alice:
            stored = post_batch(alice, batch_body([blob_json(recorded)], [recorded]))
            assert stored.status_code == 204
            # A recorded blob is not asked of the bucket: even gone from it, it is not missing.
            key = "srv/entities/vision/" + blob_key(digest_bytes(recorded, "md5"), "md5")
            client.delete_object(Bucket=bucket, Key=key)
            body = {"blobs": [blob_json(recorded), blob_json(older)]}
            assert ok(alice.post(f"{BASE}/blobs/missing", json=body))["blobs"] == [blob_json(older)]
            client.put_object(Bucket=bucket, Key=key, Body=recorded)  # put it back
            # A blob in the bucket but not recorded is reported missing (uploading it again
            # is harmless), yet a commit naming it is accepted after checking the bucket.
            key = "srv/entities/vision/" + blob_key(digest_bytes(older, "md5"), "md5")
            client.put_object(Bucket=bucket, Key=key, Body=older)
            assert ok(alice.post(f"{BASE}/blobs/missing", json=body))["blobs"] == [blob_json(older)]
            committed = ok(_commit(alice, {"a": recorded, "b": older}))
            assert committed["created"] is True
            assert ok(alice.post(f"{BASE}/blobs/missing", json=body))["blobs"] == []
            # Neither recorded nor in the bucket: the commit is refused, as before.
            absent = _commit(alice, {"a": recorded, "c": b"never uploaded"})
            assert absent.status_code == 409
