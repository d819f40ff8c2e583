"""Files stored as chunks in a server's store (issue 24), on the directory store and on S3
(moto): a declared list must reassemble to its MD5, the garbage collector keeps a chunk
shared by two versions when one is deleted, ``fsck --read-data`` names a corrupted chunk,
and a torn chunk list reads as a missing file, never as a wrong one."""

from __future__ import annotations

import base64
import hashlib
import random
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from cairn.core.manifest import Manifest, ManifestEntry
from cairn.protocol import BlobRef
from cairn.remote.chunked import ChunkTransfers, cut_file
from cairn.remote.http import ApiClient
from cairn.service.server_fsck import check_server_store
from cairn.service.server_gc import plan_server_gc
from cairn.storage.blobstores.chunk_area import chunk_name, list_name
from cairn.storage.cache.client_cache import ClientCache
from cairn.storage.chunk_lists import encode_chunk_list
from cairn.storage.chunking import ChunkRef

from .conftest import Server
from .helpers import ok

MIB = 1024 * 1024
BASE = "/api/v1/entities/root"


def _blob(data: bytes) -> BlobRef:
    return BlobRef(base64.b64encode(hashlib.md5(data).digest()).decode(), "md5", len(data))


def _files(tmp_path: Path) -> tuple[Path, Path]:
    rng = random.Random(3)
    v0 = bytearray(rng.randbytes(12 * MIB))
    v1 = bytearray(v0)
    v1[6 * MIB : 7 * MIB] = rng.randbytes(MIB)
    paths = tmp_path / "v0.bin", tmp_path / "v1.bin"
    paths[0].write_bytes(v0)
    paths[1].write_bytes(v1)
    return paths


def _transfers(server: Server, tmp_path: Path, name: str) -> ChunkTransfers:
    client = ApiClient(server.url, server.admin_key)
    cache = ClientCache(tmp_path / name)
    return ChunkTransfers(client, lambda: cache)


def _commit(server: Server, data_path: Path, collection: str = "c") -> Any:
    blob = _blob(data_path.read_bytes())
    manifest = Manifest()
    manifest.add_entry(ManifestEntry(path="w.bin", digest=blob.digest, size=blob.size))
    body = {
        "project": "p",
        "collection": collection,
        "type": "model",
        "digest": manifest.digest(),
        "digest_algorithm": "MD5",
        "manifest_json": manifest.to_json_bytes().decode(),
        "size": blob.size,
        "file_count": 1,
    }
    with server.client(server.admin_key) as admin:
        return ok(admin.post(f"{BASE}/projects/p/versions", json=body))


def _overwrite(server: Server, name: str, data: bytes) -> None:
    """Replace the shelf object ``name`` of ``root`` behind the store's back."""
    if server.config.store_url is None:
        path = server.config.store_dir / "chunks" / "root" / name
        path.chmod(0o644)
        path.write_bytes(data)
        return
    bucket = server.config.store_url.removeprefix("s3://").split("/")[0]
    s3 = boto3.client("s3", endpoint_url=server.config.s3_endpoint_url)
    s3.put_object(Bucket=bucket, Key=f"srv/chunks/root/{name}", Body=data)


def test_a_list_is_kept_only_if_it_reassembles_to_its_md5(
    store_server: Server, tmp_path: Path
) -> None:
    v0, v1 = _files(tmp_path)
    transfers = _transfers(store_server, tmp_path, "cache")
    transfers.upload("root", _blob(v0.read_bytes()), v0)
    refs = [
        ChunkRef(bytes.fromhex(i), size) for i, _o, size in cut_file(v0, _blob(v0.read_bytes()))
    ]
    other = _blob(v1.read_bytes())
    lying = encode_chunk_list(other.digest, "md5", other.size, refs)  # v0's chunks, v1's MD5
    with store_server.client(store_server.admin_key) as admin:
        url = f"{BASE}/chunk-lists/{hashlib.md5(v1.read_bytes()).hexdigest()}"
        answer = admin.put(url, params={"size": other.size}, content=lying)
        assert answer.status_code == 400
        assert answer.json()["error"]["code"] == "digest_mismatch"
        assert admin.get(url).status_code == 404
        # chunks never sent: 409, nothing kept
        v1_refs = [ChunkRef(bytes.fromhex(i), size) for i, _o, size in cut_file(v1, other)]
        answer = admin.put(
            url,
            params={"size": other.size},
            content=encode_chunk_list(other.digest, "md5", other.size, v1_refs),
        )
        assert answer.status_code == 409
        assert admin.get(url).status_code == 404


def test_gc_keeps_chunks_shared_with_a_live_version(store_server: Server, tmp_path: Path) -> None:
    v0, v1 = _files(tmp_path)
    transfers = _transfers(store_server, tmp_path, "cache")
    for path in (v0, v1):
        transfers.upload("root", _blob(path.read_bytes()), path)
    first = _commit(store_server, v0)
    _commit(store_server, v1)
    ids0 = {i for i, _o, _s in cut_file(v0, _blob(v0.read_bytes()))}
    ids1 = {i for i, _o, _s in cut_file(v1, _blob(v1.read_bytes()))}
    assert ids0 & ids1 and ids0 - ids1
    with store_server.client(store_server.admin_key) as admin:
        version_id = first["version"]["id"]
        assert admin.delete(f"/api/v1/versions/{version_id}").status_code == 204
    store = store_server.state.store
    plan = plan_server_gc(store, grace_seconds=0)
    try:
        planned = {(b.algorithm, b.hex_digest) for b in plan.blobs()}
        result = plan.execute()
    finally:
        plan.close()
    assert {("chunk", i) for i in ids0 - ids1} <= planned
    assert not {("chunk", i) for i in ids1} & planned  # shared chunks stay
    assert ("chunklist", hashlib.md5(v0.read_bytes()).hexdigest()) in planned
    assert result.files >= len(ids0 - ids1)
    chunks = store.server_blobs.chunks("root")
    assert chunks.lacking(sorted(ids1)) == set()
    assert chunks.lacking(sorted(ids0 - ids1)) == ids0 - ids1
    # v1 still downloads byte-exact, from a fresh cache
    fresh = _transfers(store_server, tmp_path, "fresh")
    assert fresh.fetch("root", _blob(v1.read_bytes()), tmp_path / "got.bin")
    assert (tmp_path / "got.bin").read_bytes() == v1.read_bytes()


def test_fsck_names_a_corrupted_chunk_and_a_torn_list_reads_as_missing(
    store_server: Server, tmp_path: Path
) -> None:
    v0, _v1 = _files(tmp_path)
    blob = _blob(v0.read_bytes())
    transfers = _transfers(store_server, tmp_path, "cache")
    transfers.upload("root", blob, v0)
    _commit(store_server, v0)
    store = store_server.state.store
    assert check_server_store(store, read_data=True).problems == []

    victim = sorted(i for i, _o, _s in cut_file(v0, blob))[3]
    _overwrite(store_server, chunk_name(victim), b"not the chunk")
    problems = check_server_store(store, read_data=True).problems
    assert any(victim in problem for problem in problems), problems

    # A torn list: the file is missing (no wrong bytes anywhere), and fsck says so.
    listing = store.server_blobs.chunks("root").list_bytes(blob.digest)
    assert listing is not None
    _overwrite(store_server, list_name(blob.digest), listing[: len(listing) // 2])
    with store_server.client(store_server.admin_key) as admin:
        md5_hex = hashlib.md5(v0.read_bytes()).hexdigest()
        assert admin.get(f"{BASE}/chunk-lists/{md5_hex}").status_code == 404
    fresh = _transfers(store_server, tmp_path, "fresh")
    assert not fresh.fetch("root", blob, tmp_path / "got.bin")  # no list: not chunked
    assert not (tmp_path / "got.bin").exists()
    with pytest.raises((KeyError, FileNotFoundError)):
        store.server_blobs.area("root").read_bytes(blob.digest, "md5")
    problems = check_server_store(store, read_data=True).problems
    assert any(list_name(blob.digest).split("/")[-1] in p and "corrupt" in p for p in problems)


def test_the_signed_url_of_a_chunked_file_streams_it_whole_or_a_range(
    store_server: Server, tmp_path: Path
) -> None:
    v0, _v1 = _files(tmp_path)
    data = v0.read_bytes()
    blob = _blob(data)
    _transfers(store_server, tmp_path, "cache").upload("root", blob, v0)
    body = {"blobs": [{"digest": blob.digest, "algorithm": "md5", "size": blob.size}]}
    with store_server.client(store_server.admin_key) as admin:
        signed = ok(admin.post(f"{BASE}/blobs/download-urls", json=body))["urls"][0]
    assert signed["url"].startswith(store_server.url)  # the server's own URL: no object
    with httpx.Client(timeout=60) as plain:
        whole = plain.get(signed["url"])
        assert whole.status_code == 200
        assert whole.headers["content-length"] == str(len(data))
        assert whole.content == data
        start, end = 5 * MIB - 17, 6 * MIB + 33
        part = plain.get(signed["url"], headers={"Range": f"bytes={start}-{end}"})
        assert part.status_code == 206
        assert part.headers["content-range"] == f"bytes {start}-{end}/{len(data)}"
        assert part.content == data[start : end + 1]
        past = plain.get(signed["url"], headers={"Range": f"bytes={len(data)}-"})
        assert past.status_code == 416


def test_a_damaged_cached_chunk_is_fetched_again(store_server: Server, tmp_path: Path) -> None:
    v0, _v1 = _files(tmp_path)
    blob = _blob(v0.read_bytes())
    _transfers(store_server, tmp_path, "up").upload("root", blob, v0)
    client = _transfers(store_server, tmp_path, "down")
    assert client.fetch("root", blob, tmp_path / "first.bin")
    fetched = client.stats.fetched
    assert fetched == blob.size
    victim = sorted(i for i, _o, _s in cut_file(v0, blob))[5]
    cached = ClientCache(tmp_path / "down").path_for_chunk(victim)
    cached.chmod(0o644)
    cached.write_bytes(b"damaged")
    assert client.fetch("root", blob, tmp_path / "second.bin")
    assert (tmp_path / "second.bin").read_bytes() == v0.read_bytes()
    assert 0 < client.stats.fetched - fetched <= 1024 * 1024  # that one chunk alone
