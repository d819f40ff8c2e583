"""Calls shared by the server tests: accounts set-up, logging a version over REST, and
counting the object reads and copies of an in-process server (``S3Calls``)."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from cairn.core.digest import digest_bytes
from cairn.core.manifest import Manifest, ManifestEntry

from .conftest import Server


def blob_json(data: bytes, algorithm: str = "md5") -> dict[str, Any]:
    """``data`` as a blob listing entry (``blobs/missing``, batches)."""
    return {"digest": digest_bytes(data, algorithm), "algorithm": algorithm, "size": len(data)}


def batch_body(listing: list[dict[str, Any]], payloads: list[bytes]) -> bytes:
    """A ``blobs/batch`` body: the listing as one line of JSON, then the bytes."""
    return json.dumps({"blobs": listing}).encode() + b"\n" + b"".join(payloads)


def post_batch(client: httpx.Client, content: bytes) -> httpx.Response:
    headers = {"Content-Type": "application/octet-stream"}
    return client.post("/api/v1/entities/vision/blobs/batch", content=content, headers=headers)


def ok(response: httpx.Response) -> Any:
    assert response.status_code < 300, (response.status_code, response.text)
    return response.json() if response.content else None


def new_key(server: Server, user: str) -> tuple[str, str]:
    with server.client(server.admin_key) as admin:
        body = ok(admin.post(f"/api/v1/users/{user}/keys", json={"name": "t"}))
    return body["api_key"], body["key_id"]


def setup_accounts(server: Server) -> dict[str, str]:
    """Team vision (alice member, bob viewer), team other (carol admin); their keys."""
    with server.client(server.admin_key) as admin:
        for user in ("alice", "bob", "carol"):
            ok(admin.post("/api/v1/admin/users", json={"name": user}))
        ok(admin.post("/api/v1/admin/teams", json={"name": "vision"}))
        ok(admin.post("/api/v1/admin/teams", json={"name": "other", "admin": "carol"}))
        ok(admin.put("/api/v1/entities/vision/members/alice", json={"role": "member"}))
        ok(admin.put("/api/v1/entities/vision/members/bob", json={"role": "viewer"}))
    return {user: new_key(server, user)[0] for user in ("alice", "bob", "carol")}


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def log_version(client: httpx.Client, files: dict[str, bytes], collection: str = "c") -> Any:
    """Upload ``files`` through signed URLs and commit them as a version of
    ``vision/p/<collection>``; returns the commit answer."""
    base = "/api/v1/entities/vision"
    ok(client.post(f"{base}/projects/p/runs", json={"run_id": "r1", "job_type": "t"}))
    blobs = [
        {"digest": md5_b64(data), "algorithm": "md5", "size": len(data)} for data in files.values()
    ]
    missing = ok(client.post(f"{base}/blobs/missing", json={"blobs": blobs}))["blobs"]
    urls = ok(client.post(f"{base}/blobs/upload-urls", json={"blobs": missing}))["urls"]
    by_digest = {md5_b64(data): data for data in files.values()}
    for signed in urls:
        data = by_digest[signed["digest"]]
        ok(httpx.put(signed["url"], content=data, headers=signed["headers"], timeout=60))
    manifest = Manifest()
    for path, data in files.items():
        manifest.add_entry(ManifestEntry(path=path, digest=md5_b64(data), size=len(data)))
    body = {
        "project": "p",
        "collection": collection,
        "type": "dataset",
        "digest": manifest.digest(),
        "digest_algorithm": "MD5",
        "manifest_json": manifest.to_json_bytes().decode(),
        "size": sum(len(d) for d in files.values()),
        "file_count": len(files),
        "aliases": ["best"],
        "run_id": "r1",
    }
    return ok(client.post(f"{base}/projects/p/versions", json=body))


class S3Calls:
    """The object reads and copies the server makes through its S3 client: who made each
    (``check``: an upload check worker; ``chunker``: the background chunker; ``request``:
    anything else), and the keys it read or copied."""

    OPERATIONS = ("get_object", "copy_object", "copy", "upload_part_copy")

    def __init__(self, server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[tuple[str, str, str]] = []
        client = server.state.blob_store.client
        for name in self.OPERATIONS:
            monkeypatch.setattr(client, name, self._counted(name, getattr(client, name)))

    def _counted(self, name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            thread = threading.current_thread().name
            who = "request"
            if thread.startswith("cairn-upload-check"):
                who = "check"
            elif thread.startswith("cairn-chunker"):  # cuts large files, off the request path
                who = "chunker"
            source = kwargs.get("CopySource") or (args[0] if args else {})
            keys = f"{kwargs.get('Key', '')} {source.get('Key', '') if source else ''}"
            self.calls.append((who, name, keys))
            return original(*args, **kwargs)

        return counted

    def of(self, hexdigest: str, who: str) -> list[str]:
        """The operations ``who`` made on the objects of the MD5 blob ``hexdigest`` (its
        staged upload or its final key; the server's own small blobs, such as the drafts
        every request reads, are not counted)."""
        spelled = (hexdigest, f"{hexdigest[:2]}/{hexdigest[2:]}")
        return sorted(
            name
            for caller, name, keys in self.calls
            if caller == who and any(form in keys for form in spelled)
        )
