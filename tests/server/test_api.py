"""The server over real HTTP: logging and downloading a version through signed URLs,
transfer URL rules, refused uploads and names, body limits and error codes."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from cairn.server import signing

from .conftest import Server
from .helpers import log_version, md5_b64, ok, setup_accounts


def test_health_needs_no_key(server: Server) -> None:
    response = httpx.get(f"{server.url}/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_member_logs_resolves_and_downloads_a_version(server: Server) -> None:
    keys = setup_accounts(server)
    files = {"a.txt": b"hello world\n", "dir/b.bin": bytes(range(256)) * 100}
    with server.client(keys["alice"]) as alice:
        result = log_version(alice, files)
        assert result["created"] is True
        version = result["version"]
        assert (version["entity"], version["collection"], version["version_index"]) == (
            "vision",
            "c",
            0,
        )
        assert sorted(version["aliases"]) == ["best", "latest"]
        resolved = ok(alice.get("/api/v1/entities/vision/projects/p/collections/c/versions/best"))
        assert resolved["id"] == version["id"]
        manifest = alice.get(f"/api/v1/versions/{version['id']}/manifest")
        assert manifest.status_code == 200
        contents = manifest.json()["contents"]
        assert set(contents) == set(files)
        blobs = [
            {"digest": entry["digest"], "algorithm": "md5", "size": entry["size"]}
            for entry in contents.values()
        ]
        urls = ok(alice.post("/api/v1/entities/vision/blobs/download-urls", json={"blobs": blobs}))
        downloaded = {u["digest"]: httpx.get(u["url"]).content for u in urls["urls"]}
        assert downloaded == {md5_b64(data): data for data in files.values()}
        # the same content again is a digest no-op, and nothing is missing any more
        assert log_version(alice, files)["created"] is False
        missing = alice.post(
            "/api/v1/entities/vision/blobs/missing",
            json={"blobs": blobs},
        )
        assert ok(missing) == {"blobs": []}
    # a viewer of the team reads it, the other team cannot even see it
    with server.client(keys["bob"]) as bob:
        assert ok(bob.get(f"/api/v1/versions/{version['id']}"))["digest"] == version["digest"]
    with server.client(keys["carol"]) as carol:
        response = carol.get(f"/api/v1/versions/{version['id']}")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


# HMAC-signed URLs exist for the directory store only (S3: tests/server/test_blob_store.py).
@pytest.mark.parametrize("server", ["dir"], indirect=True)
def test_signed_urls_name_one_object_and_expire(server: Server) -> None:
    keys = setup_accounts(server)
    data = b"payload"
    blob = {"digest": md5_b64(data), "algorithm": "md5", "size": len(data)}
    with server.client(keys["alice"]) as alice:
        log_version(alice, {"x": data})
        signed = ok(
            alice.post("/api/v1/entities/vision/blobs/download-urls", json={"blobs": [blob]})
        )
    url = signed["urls"][0]["url"]
    assert httpx.get(url).content == data
    other = md5_b64(b"other")
    tampered = [
        url.replace(signing.digest_to_hex(blob["digest"]), signing.digest_to_hex(other)),
        url.replace("/blobs/vision/", "/blobs/other/"),
        url.replace("op=get", "op=put"),
        url.replace(f"size={len(data)}", "size=1"),
        url.replace("kid=", "kid=0"),
    ]
    for bad in tampered:
        assert bad != url
        response = httpx.get(bad)
        assert response.status_code == 401, bad
        assert response.json()["error"]["code"] == "unauthenticated"
    # a PUT with a download URL is refused too
    assert httpx.put(url, content=data).status_code == 401
    expired, exp = signing.sign(
        server.config.secret,
        server.url,
        "get",
        "vision",
        "md5",
        blob["digest"],
        len(data),
        ttl_seconds=60,
        key_id=url.split("kid=")[1].split("&")[0],
        now=time.time() - 3600,
    )
    assert exp < time.time()
    response = httpx.get(expired)
    assert response.status_code == 401
    assert "expired" in response.json()["error"]["message"]


def _stored_files(server: Server) -> list[Path]:
    root = server.config.store_dir / "entities" / "vision"
    return [p for p in root.rglob("*") if p.is_file() and "tmp" not in p.relative_to(root).parts]


@pytest.mark.parametrize("server", ["dir"], indirect=True)
def test_a_wrong_digest_or_size_in_an_upload_is_refused_and_nothing_is_stored(
    server: Server,
) -> None:
    keys = setup_accounts(server)
    good = b"the real bytes"
    blob = {"digest": md5_b64(good), "algorithm": "md5", "size": len(good)}
    with server.client(keys["alice"]) as alice:
        urls = ok(alice.post("/api/v1/entities/vision/blobs/upload-urls", json={"blobs": [blob]}))
        url = urls["urls"][0]["url"]
        before = _stored_files(server)
        evil = b"the evil bytes"
        assert len(evil) == len(good)
        response = httpx.put(url, content=evil)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "digest_mismatch"
        assert md5_b64(evil) in response.text and str(server.config.store_dir) not in response.text
        too_long = httpx.put(url, content=good + b"more")
        assert too_long.status_code == 413
        short = httpx.put(url, content=good[:-1])
        assert short.status_code == 400
        assert _stored_files(server) == before
        missing = ok(alice.post("/api/v1/entities/vision/blobs/missing", json={"blobs": [blob]}))
        assert missing == {"blobs": [blob]}
        tmp = server.config.store_dir / "entities" / "vision" / "tmp"
        assert not any(tmp.iterdir())
        assert httpx.put(url, content=good).status_code == 204
        assert ok(alice.post("/api/v1/entities/vision/blobs/missing", json={"blobs": [blob]})) == {
            "blobs": []
        }


def test_entities_named_like_reserved_routes_are_refused(server: Server) -> None:
    with server.client(server.admin_key) as admin:
        for name in (
            "api",
            "health",
            "ready",
            "metrics",
            "blobs",
            "artifactsv2",
            "graphql",
            "acme",
            "Bad",
            "../x",
        ):
            for route in ("/api/v1/admin/users", "/api/v1/admin/teams"):
                response = admin.post(route, json={"name": name})
                assert response.status_code == 400, (name, response.text)
                assert response.json()["error"]["code"] == "invalid_argument"
        names = [u["name"] for u in ok(admin.get("/api/v1/admin/users"))]
        assert names == ["root"]
        assert ok(admin.get("/api/v1/admin/teams")) == []


def test_bad_input_gets_stable_error_codes(server: Server) -> None:
    keys = setup_accounts(server)
    with server.client(keys["alice"]) as alice:
        malformed = alice.post(
            "/api/v1/entities/vision/projects/p/runs",
            content=b"{not json",
            headers={"Content-Type": "application/json"},
        )
        assert malformed.status_code == 422
        assert malformed.json()["error"]["code"] == "invalid_request"
        huge = alice.post(
            "/api/v1/entities/vision/blobs/missing",
            content=b"x" * (2 * 1024 * 1024),
            headers={"Content-Type": "application/json"},
        )
        assert huge.status_code == 413
        assert huge.json()["error"]["code"] == "too_large"
        for hostile in ("..", "%2e%2e", "..%2F..%2Fetc", "vision%2F..%2Fother"):
            response = alice.get(f"/api/v1/entities/{hostile}/projects/p/types")
            assert response.status_code == 404, hostile
        unknown = alice.get("/api/v1/entities/vision/projects/p/collections/nope/versions/latest")
        assert unknown.status_code == 404
        assert unknown.json()["error"]["code"] == "not_found"
        bad_commit = alice.post(
            "/api/v1/entities/vision/projects/p/versions",
            json={
                "project": "p",
                "collection": "c",
                "type": "dataset",
                "digest": "x",
                "digest_algorithm": "MD5",
                "manifest_json": "[]",
                "size": 0,
                "file_count": 0,
            },
        )
        assert bad_commit.status_code == 400
        assert bad_commit.json()["error"]["code"] == "invalid_argument"
        hostile_blob = httpx.get(
            f"{server.url}/blobs/..%2F..%2Fetc/md5/{'0' * 32}?op=get&size=1&exp=9999999999&sig=00"
        )
        assert hostile_blob.status_code in (401, 404)
