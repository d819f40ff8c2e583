"""The official client's 2 GiB upload to an S3 store: checked off the request path.

The wandb client splits a file into parts only from 2 GiB (a constant of its own, not the
server's ``--multipart-threshold``, which only the Cairn SDK follows), so this test moves
a real 2 GiB file: through an in-process server on PostgreSQL and S3 (moto in this
process), so that the server's S3 calls can be counted by who makes them. The commit
request (the manifest upload) and the completion must read and copy none of the file's
bytes: the upload check worker reads the joined object once and promotes it once. The
version then downloads byte-exact with a cold client cache, in one GET (moto reads a
whole object into memory for each ranged GET of it; the ranged download is
``test_flows.test_wandb_multipart_upload``'s). The smaller files of
``tests/server/test_upload_checks.py`` cover the same path in seconds, in every run; this
one takes minutes and several GiB of memory (moto keeps the parts in memory), so it is
marked ``huge`` and runs on request: ``bash scripts/test.sh -m huge``.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

import refservers
from compat.test_flows import plain_user, run_wandb
from compat.wandb_tools import NEWEST, wandb_env
from server.conftest import Server, pg_database, run_server, server_config
from server.helpers import S3Calls

SIZE = 2 * 1024**3 + 12345  # the client's multipart threshold is 2 GiB


@pytest.fixture
def pg_s3_server(tmp_path: Path, postgres_admin_url: str) -> Iterator[Server]:
    """An in-process server on PostgreSQL and a moto S3 of its own (URLs valid 15 min)."""
    import boto3

    with refservers.moto_s3() as endpoint, pg_database(postgres_admin_url) as url:
        credentials = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **credentials)
        s3.create_bucket(Bucket="big")
        changes = {
            "store_url": "s3://big/srv",
            "s3_endpoint_url": endpoint,
            "s3_region": "us-east-1",
            "url_ttl_seconds": 900,
        }
        with pytest.MonkeyPatch.context() as env:
            env.setenv("AWS_ACCESS_KEY_ID", "test")
            env.setenv("AWS_SECRET_ACCESS_KEY", "test")
            with run_server(server_config(url, tmp_path, **changes)) as server:
                yield server


@pytest.mark.huge
def test_official_client_multipart_upload_to_s3_commits_without_reading_it(
    wandb_pythons: dict[str, Path],
    pg_s3_server: Server,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = plain_user(pg_s3_server, f"wb-s3-{secrets.token_hex(3)}")  # type: ignore[arg-type]
    env = wandb_env(pg_s3_server, tmp_path / "home", key)  # type: ignore[arg-type]
    calls = S3Calls(pg_s3_server, monkeypatch)
    try:
        work = str(tmp_path / "w")
        python = wandb_pythons[NEWEST]
        out = run_wandb(python, "bigfile.py", env, work, "big", str(SIZE), "single")
    finally:
        for path in tmp_path.rglob("*"):
            if path.is_file() and path.stat().st_size >= 2 * 1024**3:
                path.unlink()
    assert out["version"] == "v0"
    assert out["download"] == {"md5": out["md5"], "size": SIZE}
    assert calls.of(out["md5"], "request") == []  # neither the completion nor the commit
    assert calls.of(out["md5"], "check") == ["copy_object", "get_object"]
