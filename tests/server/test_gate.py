"""The one gate, tried as an attacker would: a second team, a viewer and a registry-only
member against the GraphQL facade, the REST API and the web UI, on SQLite + a directory
store and PostgreSQL + S3. Each attack gets nothing, and nothing it tried is stored."""

from __future__ import annotations

from typing import Any

import httpx

from .gate_world import ORG, World, commit_body, leaks, ok, upload

CREATE = """mutation($i: CreateArtifactInput!) {
    createArtifact(input: $i) { artifact { id } } }"""
V1_NESTED = """
query($id: ID) { artifact(id: $id) {
  id
  artifactSequence { name project { name
    artifactCollections(first: 5) { edges { node { name
      artifacts(first: 5) { edges { node { id
        files(first: 5) { edges { node { name directUrl } } } } } }
    } } }
    artifactCollection(name: "zzprivate-coll") { name }
    run(name: "r1") { name outputArtifacts(first: 5) { edges { node { id } } } }
  } }
  usedBy(first: 5) { edges { node { name project { name }
    outputArtifacts(first: 5) { edges { node { id artifactSequence { name }
      files(first: 5) { edges { node { name directUrl } } } } } } } } }
  createdBy { name project { name } inputArtifacts(first: 5) { edges { node { id } } } }
  artifactMemberships(first: 5) { edges { node { artifactCollection { name project { name } }
    aliases { alias } files(first: 5) { edges { node { directUrl } } } } } }
} }
"""


def test_nested_graphql_fields_give_nothing_of_what_the_caller_cannot_read(world: World) -> None:
    for user in ("alice", "bob", "carol", "dave"):
        answer = world.gql(user, V1_NESTED, {"id": world.v1["id"]})
        assert answer.status_code == 200, answer.text
        assert answer.json()["data"]["artifact"]["id"] == world.v1["id"]
        assert leaks(user, answer.text) == [], (user, answer.text)
    # the query does reach other teams' objects: alice, who may read those, sees them
    alice = world.gql("alice", V1_NESTED, {"id": world.v1["id"]})
    assert "zzhidden-coll" in alice.text and "zzlocked-coll" in alice.text


def test_a_registry_reader_downloads_what_is_linked_and_nothing_else(world: World) -> None:
    query = """query($id: ID) { artifact(id: $id) {
        files(first: 5) { edges { node { name directUrl } } }
        currentManifest { file { directUrl } } } }"""
    answer = world.gql("dave", query, {"id": world.v1["id"]}).json()["data"]["artifact"]
    (edge,) = answer["files"]["edges"]
    assert httpx.get(edge["node"]["directUrl"]).content == b"shared bytes"
    assert httpx.get(answer["currentManifest"]["file"]["directUrl"]).json()["contents"]
    # the private version, by id, is not there for dave at all
    hidden = world.gql("dave", query, {"id": world.private["id"]}).json()["data"]["artifact"]
    assert hidden is None


def _runs(world: World, entity: str, project: str) -> list[int]:
    """The status of reading each test run back as the admin (404: never created)."""
    with world.admin() as admin:
        return [
            admin.get(f"/api/v1/entities/{entity}/projects/{project}/runs/{run}").status_code
            for run in ("sneak", "sneak2")
        ]


def test_nobody_logs_or_runs_into_a_registry_project_of_any_entity(world: World) -> None:
    data = {"f.txt": b"sneaked in"}
    targets = [
        ("dave", "vision", "wandb-registry-zzlocked"),  # another entity's "registry" name
        ("dave", ORG, "wandb-registry-zzlocked"),  # the registry itself
        ("alice", ORG, "wandb-registry-open"),  # a member of the registry
        ("carol", "other", "wandb-registry-open"),  # her own entity, a registry's name
        ("carol", "vision", "wandb-registry-zzlocked"),  # a registry she cannot see
    ]
    for user, entity, project in targets:
        base = f"/api/v1/entities/{entity}/projects/{project}"
        with world.client(user) as client:
            run = client.post(f"{base}/runs", json={"run_id": "sneak", "job_type": "x"})
            assert run.status_code in (403, 404), (user, entity, project, run.text)
            commit = client.post(f"{base}/versions", json=commit_body(project, "c", data))
            assert commit.status_code in (403, 404), (user, entity, project, commit.text)
        created = world.gql(
            user,
            CREATE,
            {
                "i": {
                    "entityName": entity,
                    "projectName": project,
                    "artifactTypeName": "dataset",
                    "artifactCollectionName": "c",
                    "digest": "0" * 32,
                }
            },
        ).json()
        assert created["data"]["createArtifact"] is None and created["errors"], created
        assert _runs(world, entity, project) == [404, 404]


def test_a_forged_draft_of_another_entity_is_never_read_nor_written(world: World) -> None:
    import base64

    forged = base64.b64encode(f"ArtifactDraft:vision:{'0' * 32}".encode()).decode()
    files = """mutation($i: CreateArtifactFilesInput!) { createArtifactFiles(input: $i) {
        files { edges { node { uploadUrl } } } } }"""
    answer = world.gql(
        "dave",
        files,
        {
            "i": {
                "artifactFiles": [
                    {"artifactID": forged, "name": "f", "md5": "1B2M2Y8AsgTpgAmY7PhCfg=="}
                ]
            }
        },
    ).json()
    assert answer["data"]["createArtifactFiles"] is None
    assert "uploadUrl" not in str(answer["errors"])


def test_alias_mutations_check_the_collection_they_edit(world: World) -> None:
    vid = world.v1["id"]
    edit = """mutation($i: %s!) { r: %s(input: $i) { success } }"""
    cases = [
        ("deleteAliases", "DeleteAliasesInput", "zzlocked", "production"),
        ("addAliases", "AddAliasesInput", "zzlocked", "carols"),
        ("deleteAliases", "DeleteAliasesInput", "open", "production"),
        ("addAliases", "AddAliasesInput", "open", "carols"),
    ]
    for mutation, input_type, registry, alias in cases:
        variables = {
            "i": {
                "artifactID": vid,
                "aliases": [
                    {
                        "alias": alias,
                        "artifactCollectionName": f"{registry}-coll",
                        "entityName": ORG,
                        "projectName": f"wandb-registry-{registry}",
                    }
                ],
            }
        }
        answer = world.gql("carol", edit % (input_type, mutation), variables).json()
        assert answer["data"]["r"] is None and answer["errors"], (mutation, registry, answer)
    with world.admin() as admin:
        for registry in ("open", "zzlocked"):
            path = f"/api/v1/entities/{ORG}/projects/wandb-registry-{registry}"
            held = ok(admin.get(f"{path}/collections/{registry}-coll/versions/latest"))
            assert sorted(held["aliases"]) == ["latest", "production"], held


def test_lineage_lists_only_what_the_caller_may_read(world: World) -> None:
    vid = world.v1["id"]
    seen: dict[str, Any] = {}
    for user in ("alice", "bob", "carol", "dave"):
        with world.client(user) as client:
            seen[user] = ok(client.get(f"/api/v1/versions/{vid}/lineage"))
            assert leaks(user, str(seen[user])) == [], (user, seen[user])
    runs = {user: sorted(r["id"] for r in found["used_by"]) for user, found in seen.items()}
    assert runs == {"alice": ["zzhidden-run"], "bob": [], "carol": ["zzcarol-run"], "dave": []}
    assert seen["bob"]["logged_by"]["id"] == "r1"
    assert seen["carol"]["logged_by"] is None and seen["dave"]["logged_by"] is None
    with world.client("alice") as alice:
        used = "/api/v1/entities/zzhidden/projects/zzhidden-proj/runs/zzhidden-run/versions"
        assert [v["id"] for v in ok(alice.get(used, params={"used": True}))] == [vid]
    with world.client("carol") as carol:
        links = ok(carol.get(f"/api/v1/versions/{vid}/links"))
        assert [link["project"] for link in links] == ["wandb-registry-open"]


def _commit(world: World, user: str, **extra: Any) -> httpx.Response:
    data = {"f.txt": b"capped"}
    with world.client(user) as client:
        upload(client, "vision", data)
        body = commit_body("p", "capped", data, **extra)
        return client.post("/api/v1/entities/vision/projects/p/versions", json=body)


def test_every_value_over_its_limit_is_refused_with_400_naming_it(world: World) -> None:
    deep: Any = {}
    for _ in range(900):
        deep = {"k": deep}
    cases = {
        "aliases": {"aliases": [f"a{i}" for i in range(1001)]},
        "tags": {"tags": [f"t{i}" for i in range(1001)]},
        "description": {"description": "x" * (64 * 1024 + 1)},
        "deeper than 100": {"metadata": deep},
        "control characters": {"type": "a\x00b"},
    }
    for words, extra in cases.items():
        answer = _commit(world, "alice", **extra)
        assert answer.status_code == 400, (words, answer.status_code, answer.text[:300])
        assert answer.json()["error"]["code"] == "invalid_argument"
        message = answer.json()["error"]["message"]
        assert words in message or "limit" in message, (words, message)
    # a body nested 10,000 deep is refused the same way, never a 500
    text = '{"metadata": ' + '{"k": ' * 10_000 + "1" + "}" * 10_000 + "}"
    with world.client("alice") as client:
        answer = client.post(
            "/api/v1/entities/vision/projects/p/versions",
            content=text,
            headers={"content-type": "application/json"},
        )
        assert 400 <= answer.status_code < 500, answer.text[:300]
        names = [
            c["name"] for c in ok(client.get("/api/v1/entities/vision/projects/p/collections"))
        ]
        assert "capped" not in names  # nothing of any refused commit was stored
    # 2,000 aliases in one GraphQL request are refused too
    aliases = [
        {
            "alias": f"a{i}",
            "artifactCollectionName": "shared",
            "entityName": "vision",
            "projectName": "p",
        }
        for i in range(2000)
    ]
    answer = world.gql(
        "alice",
        "mutation($i: AddAliasesInput!) { addAliases(input: $i) { success } }",
        {"i": {"artifactID": world.v1["id"], "aliases": aliases}},
    ).json()
    assert answer["data"]["addAliases"] is None and "limit" in answer["errors"][0]["message"]
