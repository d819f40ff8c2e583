"""Every route of the OpenAPI document, called with no key, a wrong key, a revoked key,
a viewer's key and another team's key: 401 without a valid key; the other team sees
nothing (404); the viewer reads but may not write or manage (403)."""

from __future__ import annotations

import base64
import hashlib
import random
import re
from typing import TYPE_CHECKING, Any

import httpx

from cairn.protocol import BlobRef
from cairn.remote.chunked import ChunkTransfers, cut_file
from cairn.remote.http import ApiClient
from cairn.storage.cache.client_cache import ClientCache

from .conftest import Server
from .helpers import log_version, new_key, ok, setup_accounts

if TYPE_CHECKING:
    from pathlib import Path

_BODIES: dict[str, dict[str, Any]] = {
    "RunCreate": {"run_id": "r2"},
    "RunFinish": {"exit_code": 0},
    "HistoryAppend": {"data": {"x": 1}},
    "BlobList": {"blobs": []},
    "Blob": {"digest": "1B2M2Y8AsgTpgAmY7PhCfg==", "algorithm": "md5", "size": 0},
    "MultipartComplete": {
        "digest": "1B2M2Y8AsgTpgAmY7PhCfg==",
        "algorithm": "md5",
        "size": 0,
        "upload_id": "0" * 32,
    },
    "Edit": {
        "entity": "vision",
        "project": "p",
        "collection": "c",
        "description": None,
        "metadata": {},
    },
    "Link": {"entity": "vision", "project": "p", "collection": "portfolio"},
    "CollectionEdit": {"description": None, "tags": []},
    "RegistryCreate": {"name": "new"},
    "RegistryEdit": {"description": None, "visibility": "restricted", "artifact_types": None},
    "DefaultTtl": {"seconds": None},
    "UserCreate": {"name": "zed"},
    "TeamCreate": {"name": "zteam"},
    "RoleSet": {"role": "member"},
    "KeyCreate": {},
    "WebhookCreate": {"name": "hook", "url": "https://hooks.example.com/deploy"},
    "SpecBody": {
        "name": "deploy",
        "event_type": "CREATE_ARTIFACT",
        "entity": "vision",
        "project": "p",
        "action_type": "NO_OP",
    },
    "ReplicaRunBody": {"name": "copied", "state": "finished"},
    "SentBody": {"peer": "elsewhere", "peer_version_id": "QXJ0aWZhY3Q6MQ=="},
}


def _routes(server: Server) -> list[tuple[str, str, str | None]]:
    document = httpx.get(f"{server.url}/openapi.json").json()
    routes = []
    for path, methods in document["paths"].items():
        if path in ("/health", "/ready", "/metrics") or path.startswith("/blobs/"):
            continue  # unauthenticated by design (signed transfers and /metrics tested apart)
        for method, operation in methods.items():
            ref = (
                operation.get("requestBody", {})
                .get("content", {})
                .get("application/json", {})
                .get("schema", {})
                .get("$ref")
            )
            routes.append((method.upper(), path, ref.rsplit("/", 1)[-1] if ref else None))
    return routes


def _call(
    client: httpx.Client, method: str, path: str, body: str | None, values: dict[str, str]
) -> httpx.Response:
    url = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)
    payload = dict(_BODIES.get(body or "", {}))
    if body == "RecordUse":
        payload = {"version_id": values["version_id"]}
    if body == "Commit":
        payload = {
            "project": "p",
            "collection": "c",
            "type": "dataset",
            "digest": "x",
            "digest_algorithm": "MD5",
            "manifest_json": "{}",
            "size": 0,
            "file_count": 0,
        }
    if body == "ReplicaBody":
        payload = {
            "project": "p",
            "collection": "c",
            "type": "dataset",
            "digest": "x",
            "digest_algorithm": "MD5",
            "manifest_json": "{}",
            "origin": "elsewhere",
            "source_id": "QXJ0aWZhY3Q6MQ==",
            "created_at": "2026-01-01T00:00:00Z",
        }
    if body == "ChunkIds":
        payload = {"chunks": [values["chunk"]]}
    params: dict[str, Any] | None = None
    if path.endswith("/replicas") and method == "GET":
        params = {"origin": "elsewhere"}
    if "/chunk-lists/" in path and method == "PUT":
        params = {"size": 1}
    return client.request(method, url, json=payload if body else None, params=params)


def _chunked_file(server: Server, key: str, tmp_path: Path) -> tuple[str, str]:
    """A 9 MiB file of team vision sent as chunks: its MD5 (hex) and its first chunk id."""
    source = tmp_path / "big.bin"
    source.write_bytes(random.Random(5).randbytes(9 * 1024 * 1024))
    data = source.read_bytes()
    blob = BlobRef(base64.b64encode(hashlib.md5(data).digest()).decode(), "md5", len(data))
    cache = ClientCache(tmp_path / "cache")
    ChunkTransfers(ApiClient(server.url, key), lambda: cache).upload("vision", blob, source)
    first_chunk = next(iter(cut_file(source, blob)))[0]
    return hashlib.md5(data).hexdigest(), first_chunk


def test_every_route_enforces_the_role_table(server: Server, tmp_path: Path) -> None:
    keys = setup_accounts(server)
    with server.client(keys["alice"]) as alice:
        version = log_version(alice, {"f": b"data"})["version"]
    hexdigest, chunk = _chunked_file(server, keys["alice"], tmp_path)
    revoked, revoked_id = new_key(server, "alice")
    with server.client(server.admin_key) as admin:
        ok(admin.delete(f"/api/v1/users/alice/keys/{revoked_id}"))
        ok(admin.post("/api/v1/registries", json={"name": "secret", "visibility": "restricted"}))
    values = {
        "entity": "vision",
        "project": "p",
        "collection": "c",
        "selector": "latest",
        "run_id": "r1",
        "version_id": version["id"],
        "name": "secret",
        "user": "alice",
        "key_id": revoked_id,
        "automation_id": "1",
        "hexdigest": hexdigest,
        "chunk": chunk,
    }
    routes = _routes(server)
    assert len(routes) >= 40
    for key in (None, "wrong", "cairn_0123456789abcdef_" + "A" * 43, revoked):
        with server.client(key) as client:
            for method, path, body in routes:
                response = _call(client, method, path, body, values)
                assert response.status_code == 401, (key, method, path, response.text)
                assert response.json()["error"]["code"] == "unauthenticated"
    # Listings that show each caller only what it may read.
    open_to_all = {
        ("GET", "/api/v1/whoami"),
        ("GET", "/api/v1/registries"),
        ("GET", "/api/v1/projects"),
        ("GET", "/api/v1/automations"),
        ("GET", "/api/v1/store"),  # the store's id (the origin of copies made from it)
    }
    # Sending every pending webhook now is a server admin's: refused to others, by name.
    admins_only = {("POST", "/api/v1/automations/deliver")}
    with server.client(keys["carol"]) as carol:
        for method, path, body in routes:
            response = _call(carol, method, path, body, values)
            expected = 200 if (method, path) in open_to_all else 404
            expected = 403 if (method, path) in admins_only else expected
            assert response.status_code == expected, (method, path, response.text)
    with server.client(keys["bob"]) as bob:
        for method, path, body in routes:
            response = _call(bob, method, path, body, values)
            team_scoped = path.startswith(("/api/v1/entities/", "/api/v1/versions/"))
            if (method, path) in open_to_all:
                expected = 200
            elif (method, path) in admins_only or (method, path) == ("POST", "/api/v1/automations"):
                expected = 403  # the new automation's scope (in the body) is bob's team's
            elif not team_scoped:
                expected = 404  # admin routes, another user's keys, a restricted registry
            elif (method == "GET" and not path.endswith("/members")) or path.endswith(
                ("/download-urls", "/batch-read", "/chunks/read")
            ):
                expected = 200
            else:
                expected = 403
            assert response.status_code == expected, (method, path, response.text)
    # the revoked key stays listed as revoked; alice's live key still works
    with server.client(keys["alice"]) as alice:
        listed = {k["key_id"]: k["revoked"] for k in ok(alice.get("/api/v1/users/alice/keys"))}
        assert listed[revoked_id] is True
        assert ok(alice.get("/api/v1/whoami"))["user"] == "alice"
