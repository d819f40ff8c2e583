"""The official wandb client and files a Cairn server stores as chunks (issue 24), on the
directory store and on S3 (moto): the official client uploads whole files, which the
server cuts into chunks in the background and keeps whole; a Cairn client's next version
sends only the changed chunks; the official client downloads both versions byte-exact
with an empty cache (the whole object of the first, the second streamed reassembled)."""

from __future__ import annotations

import base64
import hashlib
import random
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import refservers
from cairn.sdk.backend_cache import backend_for, close_all
from cairn.service.limits import Limits
from compat.test_flows import plain_user, run_wandb, use_cairn
from compat.wandb_tools import NEWEST, wandb_env
from server.conftest import Server, run_server, server_config

MIB = 1024 * 1024
SIZE = 24 * MIB
EDITS = (3 * MIB, 17 * MIB)


@pytest.fixture(params=["dir", "s3"])
def chunk_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    """An in-process server (SQLite) on a directory store or a moto S3 of its own."""
    db = f"sqlite+pysqlite:///{tmp_path / 'server.db'}"
    limits = Limits(max_body_bytes=64 * MIB)
    if request.param == "dir":
        with run_server(server_config(db, tmp_path, limits=limits)) as server:
            yield server
        return
    import boto3

    with refservers.moto_s3() as endpoint, pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_ACCESS_KEY_ID", "test")
        env.setenv("AWS_SECRET_ACCESS_KEY", "test")
        env.setenv("AWS_DEFAULT_REGION", "us-east-1")
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="chunks")
        changes: dict[str, Any] = {
            "store_url": "s3://chunks/srv",
            "s3_endpoint_url": endpoint,
            "s3_region": "us-east-1",
            "limits": limits,
        }
        with run_server(server_config(db, tmp_path, **changes)) as server:
            yield server


def test_official_client_round_trips_files_stored_as_chunks(
    wandb_pythons: dict[str, Path],
    chunk_server: Server,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    user = f"wb-{secrets.token_hex(3)}"
    key = plain_user(chunk_server, user)  # type: ignore[arg-type]
    python = wandb_pythons[NEWEST]
    rng = random.Random(5)
    v0 = bytearray(rng.randbytes(SIZE))
    v1 = bytearray(v0)
    for offset in EDITS:
        v1[offset : offset + MIB] = rng.randbytes(MIB)
    source = tmp_path / "weights.bin"
    source.write_bytes(v0)

    # The official client uploads v0 whole; the server cuts it into chunks afterwards.
    env = wandb_env(chunk_server, tmp_path / "home0", key)  # type: ignore[arg-type]
    logged = run_wandb(python, "chunked.py", env, "log", str(source), "p", "weights")
    assert logged["version"] == "v0"
    entity = logged["entity"]
    state = chunk_server.state
    assert state.chunker.wait_idle(120)
    digest0 = base64.b64encode(hashlib.md5(v0).digest()).decode()
    assert state.blob_store.chunks(entity).read_list(digest0) is not None
    # ... and keeps the whole object, which the official client reads at full speed
    whole = state.blob_store.download_url(entity, digest0, "md5", SIZE, 60)
    assert whole is not None or state.blob_store.area(entity).local_path(digest0, "md5")

    # A Cairn client's v1 sends only the chunks around the edits.
    source.write_bytes(v1)
    monkeypatch.setenv("CAIRN_CACHE_DIR", str(tmp_path / "cairn-cache"))
    cairn = use_cairn(chunk_server, monkeypatch, key, entity)  # type: ignore[arg-type]
    try:
        with cairn.init(project="p") as run:
            art = cairn.Artifact("weights", "model")
            art.add_file(str(source), name="weights.bin")
            assert run.log_artifact(art).version == "v1"
        sent = backend_for()._transfers.chunks.stats.sent  # type: ignore[attr-defined]
    finally:
        close_all()
    assert len(EDITS) * MIB <= sent <= len(EDITS) * 4 * MIB
    digest1 = base64.b64encode(hashlib.md5(v1).digest()).decode()
    # v1 is stored as chunks only: no file, no object to presign (the server streams it)
    assert state.blob_store.area(entity).local_path(digest1, "md5") is None
    assert state.blob_store.download_url(entity, digest1, "md5", SIZE, 60) is None

    # The official client downloads both, byte-exact, each with an empty cache.
    for version, data in (("v0", v0), ("v1", v1)):
        home = tmp_path / f"get-{version}"
        env = wandb_env(chunk_server, home, key)  # type: ignore[arg-type]
        got = run_wandb(
            python, "chunked.py", env, "get", f"{entity}/p/weights:{version}", str(home / "dl")
        )
        assert got == {"md5": hashlib.md5(data).hexdigest(), "size": SIZE}
