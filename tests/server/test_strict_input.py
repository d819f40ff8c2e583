"""Odd input the server refuses or keeps to its rules on every transport (issue 23): a
JSON key given twice, a manifest with a file inside another file, and ``latest`` set by
hand on a version that is not the newest."""

from __future__ import annotations

import json

import httpx

from cairn.core.manifest import STORAGE_POLICY, Manifest

from .gate_world import World, commit_body, log, md5_b64, ok, upload


def test_a_json_body_with_a_key_given_twice_is_refused(world: World) -> None:
    cases = [
        ("POST", "/api/v1/admin/users", '{"name": "eve", "name": "root2"}'),
        ("POST", "/api/v1/registries", '{"name": "r1", "visibility": "restricted", "name": "r2"}'),
        ("PATCH", f"/api/v1/versions/{world.v1['id']}", '{"entity": "vision", "entity": "x"}'),
    ]
    with world.admin() as admin:
        for method, path, body in cases:
            answer = admin.request(
                method, path, content=body, headers={"content-type": "application/json"}
            )
            assert answer.status_code == 400, (path, answer.text)
            assert "twice" in answer.json()["error"]["message"]
        users = [u["name"] for u in ok(admin.get("/api/v1/admin/users"))]
        assert "eve" not in users and "root2" not in users
    answer = httpx.post(
        f"{world.server.url}/graphql",
        content='{"query": "{ viewer { id } }", "query": "{ serverInfo { features { name } } }"}',
        headers={"content-type": "application/json"},
        auth=("api", world.keys["alice"]),
    )
    assert answer.status_code == 400 and "twice" in answer.text


def test_a_manifest_with_a_file_inside_a_file_is_refused(world: World) -> None:
    files = {"a": b"file", "a/b": b"inside it"}
    # written by hand: Cairn's own Manifest refuses to hold both
    contents = {path: {"digest": md5_b64(data), "size": len(data)} for path, data in files.items()}
    text = json.dumps(
        {
            "version": 1,
            "storagePolicy": STORAGE_POLICY,
            "storagePolicyConfig": {},
            "contents": contents,
        }
    )
    manifest = Manifest.from_json(text.encode())
    with world.client("alice") as alice:
        upload(alice, "vision", files)
        body = {
            **commit_body("p", "clash", {}),
            "digest": manifest.digest(),
            "manifest_json": text,
        }
        answer = alice.post("/api/v1/entities/vision/projects/p/versions", json=body)
        assert answer.status_code == 400, answer.text
        assert "cannot also be a folder" in answer.json()["error"]["message"]


def test_latest_set_by_hand_stays_on_the_newest_version(world: World) -> None:
    with world.client("alice") as alice:
        v0 = log(alice, "vision", "p", "moving", {"f": b"0"})
        v1 = log(alice, "vision", "p", "moving", {"f": b"1"})
        edit = {
            "entity": "vision",
            "project": "p",
            "collection": "moving",
            "description": None,
            "metadata": {},
        }
        answer = ok(
            alice.patch(f"/api/v1/versions/{v0['id']}", json={**edit, "aliases_to_add": ["latest"]})
        )
        assert "latest" not in answer["aliases"]
        query = """mutation($i: AddAliasesInput!) { addAliases(input: $i) { success } }"""
        alias = {
            "alias": "latest",
            "artifactCollectionName": "moving",
            "entityName": "vision",
            "projectName": "p",
        }
        world.gql("alice", query, {"i": {"artifactID": v0["id"], "aliases": [alias]}})
        latest = ok(
            alice.get("/api/v1/entities/vision/projects/p/collections/moving/versions/latest")
        )
        assert latest["id"] == v1["id"]
