"""Large files through ``cairn server`` as chunks (issue 24), on both stores: a new version
with a few scattered edits sends and stores only the chunks that changed, a client that
holds the old version fetches only the new chunks, and an entity's chunk questions reveal
nothing of another entity's."""

from __future__ import annotations

import base64
import hashlib
import random
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

import cairn
from cairn.protocol import BlobRef
from cairn.remote.chunked import cut_file
from cairn.sdk.backend_cache import backend_for
from serverproc import ServerProcess

MIB = 1024 * 1024
SIZE = 40 * MIB
EDITS = (5 * MIB, 19 * MIB + 12345, 33 * MIB)  # three scattered 1 MiB edits
SLACK = 3 * MIB  # chunks around each edit that change with it (256 KiB avg, 1 MiB max)


def _versions(seed: int = 7) -> tuple[bytes, bytes]:
    rng = random.Random(seed)
    v0 = bytearray(rng.randbytes(SIZE))
    v1 = bytearray(v0)
    for offset in EDITS:
        v1[offset : offset + MIB] = rng.randbytes(MIB)
    return bytes(v0), bytes(v1)


def _store_bytes(server: ServerProcess, entity: str) -> int:
    """Bytes of ``entity``'s blobs, chunks and chunk lists in the server's store."""
    if server.s3_endpoint is None:
        store = server.log.parent / "store"
        roots = [store / "entities" / entity, store / "chunks" / entity]
        return sum(
            p.stat().st_size
            for root in roots
            for p in root.rglob("*")
            if p.is_file() and "tmp" not in p.relative_to(root).parts
        )
    s3 = boto3.client(
        "s3",
        endpoint_url=server.s3_endpoint,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name="us-east-1",
    )
    total = 0
    for prefix in (f"blobs/entities/{entity}/", f"blobs/chunks/{entity}/"):
        pages = s3.get_paginator("list_objects_v2").paginate(
            Bucket="cairn-server-pg", Prefix=prefix
        )
        total += sum(item["Size"] for page in pages for item in page.get("Contents", []))
    return total


def _log(tmp_path: Path, data: bytes, name: str = "model") -> Any:
    source = tmp_path / "weights.bin"
    source.write_bytes(data)
    with cairn.init(project="proj") as run:
        art = cairn.Artifact(name, "model")
        art.add_file(str(source), name="weights.bin")
        return run.log_artifact(art)


def _sent() -> int:
    return int(backend_for()._transfers.chunks.stats.sent)  # type: ignore[attr-defined]


def _fetched() -> int:
    return int(backend_for()._transfers.chunks.stats.fetched)  # type: ignore[attr-defined]


def test_a_new_version_moves_only_changed_chunks(
    any_server: ServerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entity = backend_for().settings.entity
    assert entity is not None
    v0, v1 = _versions()
    before = _store_bytes(any_server, entity)
    _log(tmp_path, v0)
    first_sent, first_stored = _sent(), _store_bytes(any_server, entity) - before
    assert first_sent == SIZE  # every chunk is new
    assert SIZE <= first_stored < SIZE + MIB  # the chunks, the list and the manifest

    _log(tmp_path, v1)
    sent = _sent() - first_sent
    stored = _store_bytes(any_server, entity) - before - first_stored
    assert len(EDITS) * MIB <= sent <= len(EDITS) * (MIB + SLACK)
    assert stored <= len(EDITS) * (MIB + SLACK)

    # A second client (its own cache) that downloaded v0 fetches only v1's new chunks.
    monkeypatch.setenv("CAIRN_CACHE_DIR", str(tmp_path / "second-cache"))
    api = cairn.Api()
    got0 = Path(api.artifact(f"{entity}/proj/model:v0").download(str(tmp_path / "d0")))
    assert hashlib.md5((got0 / "weights.bin").read_bytes()).digest() == hashlib.md5(v0).digest()
    fetched0 = _fetched()
    assert fetched0 == SIZE
    got1 = Path(api.artifact(f"{entity}/proj/model:v1").download(str(tmp_path / "d1")))
    assert (got1 / "weights.bin").read_bytes() == v1
    assert len(EDITS) * MIB <= _fetched() - fetched0 <= len(EDITS) * (MIB + SLACK)


def test_chunk_questions_answer_from_the_entity_alone(
    any_server: ServerProcess, tmp_path: Path
) -> None:
    entity = backend_for().settings.entity
    v0, _v1 = _versions(seed=11)
    _log(tmp_path, v0, "private")
    source = tmp_path / "weights.bin"
    blob = BlobRef(base64.b64encode(hashlib.md5(v0).digest()).decode(), "md5", len(v0))
    ids = sorted({hex_id for hex_id, _offset, _size in cut_file(source, blob)})
    assert len(ids) > 50
    other = any_server.new_team("other")
    key = any_server.new_user_key(f"eve-{other}", other)
    md5_hex = hashlib.md5(v0).hexdigest()
    with httpx.Client(
        base_url=f"{any_server.url}/api/v1", headers={"Authorization": f"Bearer {key}"}
    ) as eve:
        lacking = eve.post(f"/entities/{other}/chunks/missing", json={"chunks": ids[:500]})
        assert lacking.status_code == 200
        assert lacking.json()["chunks"] == ids[:500]  # all lacking: nothing revealed
        assert eve.get(f"/entities/{other}/chunk-lists/{md5_hex}").status_code == 404
        read = eve.post(f"/entities/{other}/chunks/read", json={"chunks": ids[:1]})
        assert read.status_code == 404
        # and eve may not ask the first entity at all
        asked = eve.post(f"/entities/{entity}/chunks/missing", json={"chunks": ids[:1]})
        assert asked.status_code == 404
        assert eve.get(f"/entities/{entity}/chunk-lists/{md5_hex}").status_code == 404
