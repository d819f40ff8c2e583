"""``cairn admin`` through the entry point against a real server, and ``cairn server
--store s3://...`` started as a process against moto."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from cairn.db.engine import sqlite_url

from .conftest import Server, _free_port
from .helpers import md5_b64, ok


def _cairn(
    server_url: str, key: str | None, *args: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, CAIRN_BASE_URL=server_url)
    env.pop("CAIRN_API_KEY", None)
    if key is not None:
        env["CAIRN_API_KEY"] = key
    done = subprocess.run(
        [sys.executable, "-m", "cairn.cli", "admin", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    if check:
        assert done.returncode == 0, done.stderr
    return done


def _error_type(done: subprocess.CompletedProcess[str]) -> str:
    """The class of a failed command's error, from its ``--json`` error document."""
    return str(json.loads(done.stdout)["error"]["type"])


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("server", ["dir"], indirect=True)
def test_admin_commands_manage_users_teams_members_and_keys(
    server: Server, cairn_dir: Path
) -> None:
    url, root = server.url, server.admin_key
    assert "created user alice" in _cairn(url, root, "users", "create", "alice").stdout
    _cairn(url, root, "users", "create", "bob")
    users = json.loads(_cairn(url, root, "users", "list", "--json").stdout)
    assert {u["name"] for u in users} >= {"root", "alice", "bob"}
    _cairn(url, root, "teams", "create", "vision", "--admin", "alice")
    assert "vision" in _cairn(url, root, "teams", "list").stdout

    alice_key = _cairn(url, root, "keys", "create", "alice", "--name", "laptop").stdout.strip()
    # alice administers her team: she adds bob as a viewer, then makes him a member
    _cairn(url, alice_key, "members", "add", "vision", "bob", "--role", "viewer")
    _cairn(url, alice_key, "members", "set-role", "vision", "bob", "member")
    roles = json.loads(_cairn(url, alice_key, "members", "list", "vision", "--json").stdout)
    assert {(r["user"], r["role"]) for r in roles} == {("alice", "admin"), ("bob", "member")}

    # bob is no admin of vision, nor of the server
    bob_key = json.loads(_cairn(url, root, "keys", "create", "bob", "--json").stdout)["api_key"]
    refused = _cairn(url, bob_key, "members", "remove", "vision", "alice", "--json", check=False)
    assert refused.returncode == 1 and _error_type(refused) == "AuthorizationError"
    refused = _cairn(url, bob_key, "users", "create", "mallory", check=False)
    assert refused.returncode == 1 and refused.stderr == "Error: 'acme' not found\n"

    _cairn(url, alice_key, "members", "remove", "vision", "bob")
    roles = json.loads(_cairn(url, alice_key, "members", "list", "vision", "--json").stdout)
    assert [r["user"] for r in roles] == ["alice"]

    listed = json.loads(_cairn(url, root, "keys", "list", "alice", "--json").stdout)
    (laptop,) = [k for k in listed if k["name"] == "laptop"]
    _cairn(url, root, "keys", "revoke", "alice", laptop["key_id"])
    gone = _cairn(url, alice_key, "members", "list", "vision", "--json", check=False)
    assert gone.returncode == 1 and _error_type(gone) == "AuthenticationError"
    listed = json.loads(_cairn(url, root, "keys", "list", "alice", "--json").stdout)
    assert [k["revoked"] for k in listed if k["key_id"] == laptop["key_id"]] == [True]

    missing = _cairn(url, root, "members", "list", "nosuchteam", "--json", check=False)
    assert missing.returncode == 1 and _error_type(missing) == "NotFoundError"
    unconfigured = _cairn(url, None, "users", "list", check=False)
    assert unconfigured.returncode == 1 and "CAIRN_API_KEY" in unconfigured.stderr


def test_cairn_server_with_an_s3_store(
    cairn_dir: Path, tmp_path: Path, s3_store_url: str, moto_endpoint: str
) -> None:
    db = sqlite_url(tmp_path / "srv.db")
    env = dict(os.environ, AWS_ENDPOINT_URL_S3=moto_endpoint)
    made = subprocess.run(
        [sys.executable, "-m", "cairn.cli", "server", "create-admin", "--db", db, "--name", "r"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert made.returncode == 0, made.stderr
    key = json.loads(made.stdout)["api_key"]
    port = _free_port()
    args = ["server", "--db", db, "--store", s3_store_url, "--port", str(port)]
    process = subprocess.Popen(
        [sys.executable, "-m", "cairn.cli", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            try:
                if httpx.get(f"{base}/health").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline
            time.sleep(0.1)
        data = b"over s3"
        blob = {"digest": md5_b64(data), "algorithm": "md5", "size": len(data)}
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=base, headers=headers) as client:
            ok(client.post("/api/v1/admin/teams", json={"name": "t1", "admin": "r"}))
            body = {"blobs": [blob]}
            (signed,) = ok(client.post("/api/v1/entities/t1/blobs/upload-urls", json=body))["urls"]
            assert signed["url"].startswith(moto_endpoint) and "X-Amz-Signature" in signed["url"]
            ok(httpx.put(signed["url"], content=data, headers=signed["headers"], timeout=60))
            ok(client.post("/api/v1/entities/t1/blobs/download-urls", json=body))  # promotes it
            assert ok(client.post("/api/v1/entities/t1/blobs/missing", json=body))["blobs"] == []
    finally:
        process.terminate()
        process.wait(timeout=30)
