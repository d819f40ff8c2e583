"""The server validates the entry paths of every manifest it stores, on every transport:
a hostile path is refused (400) and nothing is committed, whichever client sent it."""

from __future__ import annotations

import base64
import hashlib

import httpx

from cairn.core.manifest import Manifest, ManifestEntry

from .gate_world import World, md5_b64, ok, upload

HOSTILE = [
    "../../x",
    "/etc/passwd",
    "a/../../b",
    "..\\..\\x",
    "C:\\x",
    "a\x00b",
    "",
    ".",
    "./a",
    "a//b",
    "x" * 5000,
    "d/" + "é" * 128,  # a component of 256 bytes
]
CREATE = """mutation($i: CreateArtifactInput!) { createArtifact(input: $i) { artifact { id } } }"""
MANIFEST = """mutation($i: CreateArtifactManifestInput!) { createArtifactManifest(input: $i) {
    artifactManifest { file { uploadUrl } } } }"""


def _manifest(path: str, data: bytes) -> Manifest:
    manifest = Manifest()
    manifest.add_entry(ManifestEntry(path=path, digest=md5_b64(data), size=len(data)))
    return manifest


def _collections(world: World) -> list[str]:
    with world.admin() as admin:
        found = ok(admin.get("/api/v1/entities/vision/projects/p/collections"))
    return sorted(c["name"] for c in found)


def test_hostile_entry_paths_are_refused_over_rest_and_graphql(world: World) -> None:
    data = b"payload"
    with world.client("alice") as alice:
        upload(alice, "vision", {"f": data})
        before = _collections(world)
        for path in HOSTILE:
            manifest = _manifest(path, data)
            body = {
                "project": "p",
                "collection": "hostile",
                "type": "dataset",
                "digest": manifest.digest(),
                "digest_algorithm": "MD5",
                "manifest_json": manifest.to_json_bytes().decode(),
                "size": len(data),
                "file_count": 1,
            }
            answer = alice.post("/api/v1/entities/vision/projects/p/versions", json=body)
            assert answer.status_code == 400, (path[:20], answer.text)
            assert "Invalid artifact path" in answer.json()["error"]["message"]
    for path in HOSTILE:
        manifest = _manifest(path, data)
        variables = {
            "i": {
                "entityName": "vision",
                "projectName": "p",
                "artifactTypeName": "dataset",
                "artifactCollectionName": "hostile",
                "digest": manifest.digest(),
            }
        }
        draft = world.gql("alice", CREATE, variables).json()["data"]["createArtifact"]
        text = manifest.to_json_bytes()
        digest = base64.b64encode(hashlib.md5(text).digest()).decode()
        made = world.gql(
            "alice", MANIFEST, {"i": {"artifactID": draft["artifact"]["id"], "digest": digest}}
        )
        url = made.json()["data"]["createArtifactManifest"]["artifactManifest"]["file"]["uploadUrl"]
        answer = httpx.put(url, content=text)
        assert answer.status_code == 400, (path[:20], answer.text)
    assert _collections(world) == before
