"""A directory store keeps the small blobs of a batch upload in one pack: ``cairn server
gc`` frees the unreferenced ones by rewriting the pack (the others stay readable) and
``fsck --read-data`` names a corrupted packed blob."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from cairn.core.digest import b64_to_hex, digest_bytes
from cairn.core.manifest import Manifest, ManifestEntry

from .conftest import Server
from .helpers import batch_body, blob_json, ok, post_batch, setup_accounts
from .test_maintenance import server_cli, server_json

BASE = "/api/v1/entities/vision"
KEPT = [b"kept one " * 50, b"kept two " * 60]
DROPPED = b"never committed " * 40


def _packs(server: Server) -> list[Path]:
    return sorted((server.config.store_dir / "entities" / "vision" / "packs").glob("*.pack"))


def _loose(server: Server) -> list[Path]:
    return [p for p in (server.config.store_dir / "entities" / "vision" / "md5").rglob("*")]


def _commit(client: httpx.Client, files: dict[str, bytes]) -> None:
    manifest = Manifest()
    for path, data in files.items():
        manifest.add_entry(ManifestEntry(path=path, digest=digest_bytes(data), size=len(data)))
    body = {
        "project": "p",
        "collection": "c",
        "type": "dataset",
        "digest": manifest.digest(),
        "digest_algorithm": "MD5",
        "manifest_json": manifest.to_json_bytes().decode(),
    }
    ok(client.post(f"{BASE}/projects/p/versions", json=body))


def _read(client: httpx.Client, data: bytes) -> bytes:
    urls = ok(client.post(f"{BASE}/blobs/download-urls", json={"blobs": [blob_json(data)]}))
    signed = urls["urls"][0]
    return httpx.get(signed["url"], headers=signed["headers"]).content


@pytest.mark.parametrize("server", ["dir"], indirect=True)
def test_gc_frees_packed_blobs_and_fsck_names_a_corrupt_one(server: Server) -> None:
    keys = setup_accounts(server)
    payloads = [*KEPT, DROPPED]
    listing = [blob_json(p) for p in payloads]
    with server.client(keys["alice"]) as alice:
        assert post_batch(alice, batch_body(listing, payloads)).status_code == 204
        (pack,) = _packs(server)  # one pack, no loose file
        assert _loose(server) == []
        _commit(alice, {"a.txt": KEPT[0], "b.txt": KEPT[1]})

        dry = server_cli(server, "gc", "--grace-seconds", "0", "--dry-run")
        assert dry.returncode == 0, dry.stdout + dry.stderr
        assert f"vision md5/{b64_to_hex(digest_bytes(DROPPED))}" in dry.stdout
        result = server_json(server, "gc", "--grace-seconds", "0")
        assert (result["freed_files"], result["freed_bytes"]) == (1, len(DROPPED)), result

        missing = ok(alice.post(f"{BASE}/blobs/missing", json={"blobs": listing}))["blobs"]
        assert missing == [blob_json(DROPPED)]
        assert [_read(alice, data) for data in KEPT] == KEPT  # served from the new pack
        (rewritten,) = _packs(server)
        assert rewritten != pack and not pack.exists()
        assert server_json(server, "fsck", "--read-data")["ok"]

        # corrupt the first kept blob in place (same size: only its bytes differ)
        data = rewritten.read_bytes()
        at = data.index(KEPT[0])
        os.chmod(rewritten, 0o644)
        with open(rewritten, "r+b") as handle:
            handle.seek(at)
            handle.write(b"X" * len(KEPT[0]))
    report = server_json(server, "fsck", "--read-data", status=1)
    name = f"{rewritten}#md5/{b64_to_hex(digest_bytes(KEPT[0]))}"
    assert report["problems"] == [f"blob {name} is corrupt: its content does not match its name"]


@pytest.mark.parametrize("server", ["dir"], indirect=True)
def test_a_pack_left_without_its_index_is_dropped_as_an_abandoned_upload(server: Server) -> None:
    keys = setup_accounts(server)
    with server.client(keys["alice"]) as alice:
        assert post_batch(alice, batch_body([blob_json(DROPPED)], [DROPPED])).status_code == 204
    (pack,) = _packs(server)
    pack.with_suffix(".idx").unlink()  # as a crash between the pack and its index leaves it
    old = pack.stat().st_mtime - 3 * 86400
    os.utime(pack, (old, old))
    result = server_json(server, "gc", "--grace-seconds", "0")
    assert result["staging_removed"] == 1, result
    assert not pack.exists()
