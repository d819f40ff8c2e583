"""Blob storage behind the REST routes: the S3 store (moto's server mode) with presigned
URLs, server-side verification of every upload, resumable multipart uploads and ranged
parallel downloads on both stores (small thresholds stand in for W&B's 2 GiB)."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from cairn.core.digest import digest_bytes
from cairn.errors import CommError
from raw_transfer import download_blob, put_file, upload_blob, upload_parts

from .conftest import Server, run_server, server_config
from .helpers import log_version, ok, setup_accounts

BASE = "/api/v1/entities/vision"
MiB = 1024 * 1024


@pytest.fixture(params=["dir", "s3"])
def store_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    """A SQLite server with a 1 MiB multipart threshold, on either store."""
    db = f"sqlite+pysqlite:///{tmp_path / 'server.db'}"
    changes: dict[str, Any] = {"multipart_threshold": MiB, "part_size": 256 * 1024}
    if request.param == "s3":
        changes["store_url"] = request.getfixturevalue("s3_store_url")
        changes["s3_endpoint_url"] = request.getfixturevalue("moto_endpoint")
    with run_server(server_config(db, tmp_path, **changes)) as running:
        yield running


@pytest.fixture
def s3_server(s3_store_url: str, moto_endpoint: str, tmp_path: Path) -> Iterator[Server]:
    db = f"sqlite+pysqlite:///{tmp_path / 'server.db'}"
    config = server_config(db, tmp_path, store_url=s3_store_url, s3_endpoint_url=moto_endpoint)
    with run_server(config) as running:
        yield running


def _bucket_keys(server: Server, prefix: str) -> list[str]:
    assert server.config.store_url is not None
    bucket = server.config.store_url.removeprefix("s3://").split("/")[0]
    client = boto3.client("s3", endpoint_url=server.config.s3_endpoint_url)
    listing = client.list_objects_v2(Bucket=bucket, Prefix=f"srv/{prefix}")
    return [item["Key"] for item in listing.get("Contents", [])]


def _blob(data: bytes, algorithm: str = "md5") -> dict[str, Any]:
    return {"digest": digest_bytes(data, algorithm), "algorithm": algorithm, "size": len(data)}


def test_s3_presigned_upload_commit_and_download(s3_server: Server, tmp_path: Path) -> None:
    keys = setup_accounts(s3_server)
    files = {"a.txt": b"alpha", "b.bin": os.urandom(3000)}
    with s3_server.client(keys["alice"]) as alice:
        committed = log_version(alice, files)
        assert committed["created"] is True
        blobs = [_blob(data) for data in files.values()]
        assert ok(alice.post(f"{BASE}/blobs/missing", json={"blobs": blobs}))["blobs"] == []
        urls = ok(alice.post(f"{BASE}/blobs/download-urls", json={"blobs": blobs}))["urls"]
    assert all("X-Amz-Signature" in u["url"] for u in urls)
    for signed, data in zip(urls, files.values(), strict=True):
        dest = tmp_path / signed["digest"].replace("/", "_")
        download_blob(signed["url"], dest, signed["size"])
        assert dest.read_bytes() == data
    stored = _bucket_keys(s3_server, "entities/vision/md5/")
    assert len(stored) == 3  # the two files and the manifest
    assert _bucket_keys(s3_server, "incoming/") == []


def test_s3_upload_with_a_wrong_body_is_never_stored(s3_server: Server, tmp_path: Path) -> None:
    keys = setup_accounts(s3_server)
    good = b"the right bytes"
    with s3_server.client(keys["alice"]) as alice:
        blob = _blob(good)
        (signed,) = ok(alice.post(f"{BASE}/blobs/upload-urls", json={"blobs": [blob]}))["urls"]
        assert signed["headers"] == {"Content-MD5": blob["digest"]}
        evil = tmp_path / "evil"
        evil.write_bytes(b"the wrong bytes")
        # Real S3 refuses the body (BadDigest); moto accepts it, so the server must catch it.
        try:
            put_file(signed["url"], evil, signed["headers"])
        except Exception as exc:  # a refusal is as good as a later rejection
            assert "400" in str(exc)
        missing = ok(alice.post(f"{BASE}/blobs/missing", json={"blobs": [blob]}))["blobs"]
        assert missing == [blob]
        refused = alice.post(f"{BASE}/blobs/download-urls", json={"blobs": [blob]})
        assert refused.status_code == 404
    assert _bucket_keys(s3_server, "entities/vision/md5/") == []
    assert _bucket_keys(s3_server, "incoming/") == []


def test_s3_xxh128_uploads_are_rehashed(s3_server: Server, tmp_path: Path) -> None:
    keys = setup_accounts(s3_server)
    good, bad = b"xxh128 content", b"something else"
    blobs = [_blob(good, "xxh128"), _blob(b"second", "xxh128")]
    with s3_server.client(keys["alice"]) as alice:
        urls = ok(alice.post(f"{BASE}/blobs/upload-urls", json={"blobs": blobs}))["urls"]
        assert urls[0]["headers"] == {}
        (tmp_path / "good").write_bytes(good)
        (tmp_path / "bad").write_bytes(bad)
        put_file(urls[0]["url"], tmp_path / "good")
        put_file(urls[1]["url"], tmp_path / "bad")
        # blobs/missing answers from the server's record: uploads are checked (and
        # promoted) when something needs them, as a download or a commit does.
        missing = ok(alice.post(f"{BASE}/blobs/missing", json={"blobs": blobs}))["blobs"]
        assert missing == blobs
        ok(alice.post(f"{BASE}/blobs/download-urls", json={"blobs": blobs[:1]}))
        refused = alice.post(f"{BASE}/blobs/download-urls", json={"blobs": blobs[1:]})
        assert refused.status_code == 404
        missing = ok(alice.post(f"{BASE}/blobs/missing", json={"blobs": blobs}))["blobs"]
    assert missing == [blobs[1]]
    assert len(_bucket_keys(s3_server, "entities/vision/xxh128/")) == 1
    assert _bucket_keys(s3_server, "incoming/") == []


def _multipart_api(client: httpx.Client, blob: dict[str, Any]) -> tuple[Any, Any]:
    def start() -> Any:
        return ok(client.post(f"{BASE}/blobs/multipart", json=blob))

    def complete(upload_id: str) -> None:
        ok(client.post(f"{BASE}/blobs/multipart/complete", json={**blob, "upload_id": upload_id}))

    return start, complete


def test_multipart_upload_resumes_and_downloads_in_ranges(
    store_server: Server, tmp_path: Path
) -> None:
    keys = setup_accounts(store_server)
    s3 = store_server.config.store_url is not None
    data = os.urandom(11 * MiB if s3 else 3 * MiB + 12345)
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    blob = _blob(data)
    with store_server.client(keys["alice"]) as alice:
        (signed,) = ok(alice.post(f"{BASE}/blobs/upload-urls", json={"blobs": [blob]}))["urls"]
        assert signed["multipart"] is True and signed["url"] == ""
        start, complete = _multipart_api(alice, blob)
        plan = start()
        assert len(plan["parts"]) > 2 and not any(p["done"] for p in plan["parts"])
        first = plan["parts"][0]
        with httpx.Client() as http:  # "interrupted" after the first part
            response = http.put(first["url"], content=data[: first["size"]])
            assert response.status_code < 300, response.text
        resumed = start()
        assert resumed["upload_id"] == plan["upload_id"]
        assert [p["number"] for p in resumed["parts"] if p["done"]] == [1]
        sent: list[int] = []
        upload_blob(signed, source, lambda: _record(resumed, sent), complete)
        assert sent == [p["number"] for p in resumed["parts"][1:]]
        assert ok(alice.post(f"{BASE}/blobs/missing", json={"blobs": [blob]}))["blobs"] == []
        (url,) = ok(alice.post(f"{BASE}/blobs/download-urls", json={"blobs": [blob]}))["urls"]
    dest = tmp_path / "down.bin"
    download_blob(url["url"], dest, len(data), parallel=3, range_threshold=MiB, range_size=MiB)
    assert dest.read_bytes() == data


def _record(plan: Any, sent: list[int]) -> Any:
    sent.extend(p["number"] for p in plan["parts"] if not p["done"])
    return plan


def test_multipart_upload_with_wrong_bytes_stores_nothing(
    store_server: Server, tmp_path: Path
) -> None:
    keys = setup_accounts(store_server)
    s3 = store_server.config.store_url is not None
    data = os.urandom(6 * MiB if s3 else 2 * MiB)
    wrong = tmp_path / "wrong.bin"
    wrong.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    blob = _blob(data)
    with store_server.client(keys["alice"]) as alice:
        start, complete = _multipart_api(alice, blob)
        with pytest.raises(AssertionError, match="digest_mismatch"):
            upload_parts(start, wrong, complete)
        assert ok(alice.post(f"{BASE}/blobs/missing", json={"blobs": [blob]}))["blobs"] == [blob]
    if s3:
        assert _bucket_keys(store_server, "entities/") == []


def test_multipart_digest_must_be_valid(store_server: Server) -> None:
    keys = setup_accounts(store_server)
    bad = {"digest": base64.b64encode(b"short").decode(), "algorithm": "md5", "size": 5}
    with store_server.client(keys["alice"]) as alice:
        response = alice.post(f"{BASE}/blobs/multipart", json=bad)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_argument"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("server", ["dir"], indirect=True)
def test_a_failed_download_leaves_no_file(server: Server, tmp_path: Path) -> None:
    keys = setup_accounts(server)
    data = os.urandom(5000)
    with server.client(keys["alice"]) as alice:
        log_version(alice, {"f": data})
        body = {"blobs": [_blob(data)]}
        (signed,) = ok(alice.post(f"{BASE}/blobs/download-urls", json=body))["urls"]
    dest = tmp_path / "out" / "f"
    dest.parent.mkdir()
    tampered = signed["url"].replace("sig=", "sig=00")
    for parallel in (1, 3):
        with pytest.raises(CommError, match="HTTP 401"):
            download_blob(tampered, dest, len(data), parallel=parallel, range_threshold=1000)
        assert list(dest.parent.iterdir()) == []
    with pytest.raises(CommError, match="expected 4000 bytes"):
        download_blob(signed["url"], dest, 4000)
    assert list(dest.parent.iterdir()) == []
    download_blob(signed["url"], dest, len(data), parallel=3, range_threshold=1000, range_size=999)
    assert dest.read_bytes() == data
