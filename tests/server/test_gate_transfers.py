"""Signed transfers under the one gate: a URL works only while the key it was issued to
is live and its user keeps the role; uploads declare their length and stop at it; and
nothing lasting is made for a request before its caller is authorized."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from .gate_world import World, commit_body, gql, manifest_of, md5_b64, ok, upload

CREATE = """mutation($i: CreateArtifactInput!) { createArtifact(input: $i) {
    artifact { id state } } }"""
MANIFEST = """mutation($i: CreateArtifactManifestInput!) { createArtifactManifest(input: $i) {
    artifactManifest { id file { uploadUrl } } } }"""
FILES = """mutation($i: CreateArtifactFilesInput!) { createArtifactFiles(input: $i) {
    files { edges { node { uploadUrl
        uploadMultipartUrls { uploadUrlParts { uploadUrl } } } } } } }"""


def _draft(world: World, key: str, files: dict[str, bytes]) -> tuple[str, str, bytes]:
    """A draft of ``vision/p/drafted`` logged through the facade with ``key``: its id, its
    manifest's upload URL and the manifest's bytes."""
    manifest = manifest_of(files)
    data = manifest.to_json_bytes()
    created = gql(
        world.server,
        key,
        CREATE,
        {
            "i": {
                "entityName": "vision",
                "projectName": "p",
                "artifactTypeName": "dataset",
                "artifactCollectionName": "drafted",
                "digest": manifest.digest(),
            }
        },
    ).json()
    draft = created["data"]["createArtifact"]["artifact"]["id"]
    digest = base64.b64encode(hashlib.md5(data).digest()).decode()
    made = gql(world.server, key, MANIFEST, {"i": {"artifactID": draft, "digest": digest}}).json()
    url = made["data"]["createArtifactManifest"]["artifactManifest"]["file"]["uploadUrl"]
    return draft, url, data


def _versions(world: World, collection: str) -> int:
    with world.admin() as admin:
        path = f"/api/v1/entities/vision/projects/p/collections/{collection}/versions"
        answer = admin.get(path)
        return 0 if answer.status_code == 404 else int(ok(answer)["total"])


def _new_key(world: World, user: str) -> tuple[str, str]:
    with world.admin() as admin:
        made = ok(admin.post(f"/api/v1/users/{user}/keys", json={"name": "second"}))
    return made["api_key"], made["key_id"]


def test_a_revoked_key_commits_nothing_through_an_earlier_url(world: World) -> None:
    key, key_id = _new_key(world, "alice")  # a second key of alice's, soon revoked
    files = {"f.txt": b"in flight"}
    with world.server.client(key) as client:
        upload(client, "vision", files)
    _draft_id, url, data = _draft(world, key, files)
    with world.admin() as admin:
        ok(admin.delete(f"/api/v1/users/alice/keys/{key_id}"))
    answer = httpx.put(url, content=data)
    assert answer.status_code == 401, answer.text
    assert _versions(world, "drafted") == 0


def test_a_user_who_lost_the_role_commits_nothing_through_an_earlier_url(world: World) -> None:
    files = {"f.txt": b"removed member"}
    with world.client("alice") as alice:
        upload(alice, "vision", files)
    _draft_id, url, data = _draft(world, world.keys["alice"], files)
    with world.admin() as admin:
        ok(admin.delete("/api/v1/entities/vision/members/alice"))
    answer = httpx.put(url, content=data)
    assert answer.status_code in (403, 404), answer.text
    assert _versions(world, "drafted") == 0


def _blob_url(world: World, user: str, data: bytes) -> str:
    blob = {"digest": md5_b64(data), "algorithm": "md5", "size": len(data)}
    with world.client(user) as client:
        answer = ok(
            client.post("/api/v1/entities/vision/blobs/upload-urls", json={"blobs": [blob]})
        )
    return str(answer["urls"][0]["url"])


def _leftovers(world: World) -> list[Path]:
    root = world.server.config.store_dir
    return [
        p for p in root.rglob("*") if p.is_file() and ("tmp" in p.parts or "wandb-mp" in str(p))
    ]


def _chunks(data: bytes) -> Iterator[bytes]:
    yield data[: len(data) // 2]
    yield data[len(data) // 2 :]


def test_signed_blob_urls_follow_their_key_and_their_size(world: World) -> None:
    if world.server.config.store_url is not None:
        # S3: the bytes never pass through the server; the commit is what re-checks
        key, key_id = _new_key(world, "alice")
        with world.server.client(key) as client:
            upload(client, "vision", {"f": b"s3 bytes"})
            with world.admin() as admin:
                ok(admin.delete(f"/api/v1/users/alice/keys/{key_id}"))
            body = commit_body("p", "after-revoke", {"f": b"s3 bytes"})
            answer = client.post("/api/v1/entities/vision/projects/p/versions", json=body)
            assert answer.status_code == 401
        assert _versions(world, "after-revoke") == 0
        return
    data = b"sixby"
    url = _blob_url(world, "alice", data)
    before = _leftovers(world)
    # no declared length: refused before anything is written
    answer = httpx.put(url, content=_chunks(data))
    assert answer.status_code == 411, answer.text
    # a body declared longer than the signed size: refused before it is read
    answer = httpx.put(url, content=b"x" * (1024 * 1024))
    assert answer.status_code == 413, answer.text
    assert _leftovers(world) == before
    # the key it was issued to is revoked: the URL is dead, its signature still good
    key, key_id = _new_key(world, "alice")
    url = _blob_url(world, "alice", data).replace(f"kid={world.key_ids['alice']}", f"kid={key_id}")
    assert httpx.put(url, content=data).status_code == 401  # the signature covers the key
    with world.server.client(key) as client:
        blob = {"digest": md5_b64(data), "algorithm": "md5", "size": len(data)}
        urls = ok(client.post("/api/v1/entities/vision/blobs/upload-urls", json={"blobs": [blob]}))
    with world.admin() as admin:
        ok(admin.delete(f"/api/v1/users/alice/keys/{key_id}"))
    answer = httpx.put(urls["urls"][0]["url"], content=data)
    assert answer.status_code == 401 and "revoked" in answer.text, answer.text
    with world.client("alice") as alice:
        missing = ok(alice.post("/api/v1/entities/vision/blobs/missing", json={"blobs": [blob]}))
        assert missing["blobs"] == [blob]  # nothing was stored


def test_facade_uploads_declare_their_length(dir_world: World) -> None:
    """The facade's own upload routes serve a directory store (S3 gets presigned URLs)."""
    world = dir_world
    data = b"facade bytes"
    manifest = manifest_of({"f.txt": data})
    created = world.gql(
        "alice",
        CREATE,
        {
            "i": {
                "entityName": "vision",
                "projectName": "p",
                "artifactTypeName": "dataset",
                "artifactCollectionName": "chunked",
                "digest": manifest.digest(),
            }
        },
    ).json()
    draft = created["data"]["createArtifact"]["artifact"]["id"]
    parts = [{"partNumber": 1, "hexMD5": hashlib.md5(data).hexdigest()}]
    spec = {"artifactID": draft, "name": "f.txt", "md5": md5_b64(data), "uploadPartsInput": parts}
    answer = world.gql("alice", FILES, {"i": {"artifactFiles": [spec]}}).json()
    node = answer["data"]["createArtifactFiles"]["files"]["edges"][0]["node"]
    part_url = node["uploadMultipartUrls"]["uploadUrlParts"][0]["uploadUrl"]
    for url in (node["uploadUrl"], part_url):
        assert httpx.put(url, content=_chunks(data)).status_code == 411
    assert httpx.put(node["uploadUrl"], content=data).status_code == 200


def _entity_dirs(world: World) -> set[str]:
    root = world.server.config.store_dir / "entities"
    return {p.name for p in root.iterdir()} if root.is_dir() else set()


def test_no_lasting_state_for_an_unauthorized_request(world: World) -> None:
    before = _entity_dirs(world)
    names = [f"nobody{secrets.token_hex(4)}" for _ in range(2000)]
    ids = [base64.b64encode(f"ArtifactDraft:{name}:{'0' * 32}".encode()).decode() for name in names]
    query = "{ " + " ".join(f'a{i}: artifact(id: "{d}") {{ id }}' for i, d in enumerate(ids)) + " }"
    answer = world.gql("carol", query)
    assert answer.status_code == 200, answer.text[:300]
    assert all(value is None for value in answer.json()["data"].values())
    with world.client("carol") as carol:
        for name in names[:20]:
            blobs: dict[str, Any] = {
                "blobs": [{"digest": md5_b64(b"x"), "algorithm": "md5", "size": 1}]
            }
            assert (
                carol.post(f"/api/v1/entities/{name}/blobs/missing", json=blobs).status_code == 404
            )
            assert (
                carol.post("/api/v1/entities/vision/blobs/missing", json=blobs).status_code == 404
            )
    assert _entity_dirs(world) == before
