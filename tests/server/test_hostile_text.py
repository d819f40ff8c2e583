"""Hostile text the gate fuzzers (``test_gate_fuzz_rest``, ``test_gate_fuzz_graphql``) and
their probes met is bad input on both deployments: 400 over REST, a GraphQL error of the
caller (not a resolver crash), never a 500.

- NUL in a name: PostgreSQL cannot hold it in text (``GET
  /api/v1/entities/shared%00%3Av0/members`` answered 500 there).
- JSON nested deeper than ``json.loads`` can recurse: a commit's ``manifest_json`` (500 on
  both), a GraphQL ``JSONString`` (metadata, run config: a RecursionError in the resolver).
"""

from __future__ import annotations

import pytest

from .conftest import Server
from .gate_world import gql, log

DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/v1/entities/shared%00%3Av0/members", None),
        ("GET", "/api/v1/entities/root/projects/p%00/collections", None),
        ("GET", "/api/v1/registries/a%00b", None),
        ("GET", "/api/v1/entities/root/projects/p/runs/a%00b", None),
        ("POST", "/api/v1/entities/root/projects/p/runs", {"run_id": "nul\x00run"}),
        ("POST", "/api/v1/entities/root/projects/p/runs", {"run_id": "r", "job_type": "\x00"}),
    ],
)
def test_nul_in_a_rest_request_is_bad_input(
    gate_server: Server, method: str, path: str, body: object
) -> None:
    with gate_server.client(gate_server.admin_key) as admin:
        made = admin.post("/api/v1/entities/root/projects/p/runs", json={"run_id": "r0"})
        assert made.status_code == 200, made.text
        answer = admin.request(method, path, json=body)
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"]["code"] == "invalid_argument"


def test_nul_in_a_graphql_argument_is_an_error_of_the_caller(gate_server: Server) -> None:
    with gate_server.client(gate_server.admin_key) as admin:
        made = admin.post("/api/v1/entities/root/projects/p/runs", json={"run_id": "r0"})
        assert made.status_code == 200, made.text
    query = """{ project(entityName: "root", name: "p") {
        run(name: "a\\u0000b") { id } artifact(name: "shared\\u0000:v0") { id } } }"""
    answer = gql(gate_server, gate_server.admin_key, query)
    assert answer.status_code == 200
    errors = answer.json()["errors"]
    assert errors and all(e["message"] == "Text cannot contain a NUL character" for e in errors)
    mutation = """mutation { upsertBucket(input: {entityName: "root", modelName: "p",
        name: "nul\\u0000run"}) { bucket { id } } }"""
    answer = gql(gate_server, gate_server.admin_key, mutation)
    assert answer.status_code == 200
    assert answer.json()["errors"][0]["message"] == "Text cannot contain a NUL character"


def test_a_manifest_nested_too_deeply_is_bad_input(gate_server: Server) -> None:
    body = {
        "project": "p",
        "collection": "c",
        "type": "dataset",
        "digest": "d",
        "digest_algorithm": "MD5",
        "manifest_json": DEEP,
    }
    with gate_server.client(gate_server.admin_key) as admin:
        answer = admin.post("/api/v1/entities/root/projects/p/versions", json=body)
        assert answer.status_code == 400, answer.text
        assert "Nested too deeply" in answer.json()["error"]["message"]


@pytest.mark.parametrize(
    ("mutation", "message"),
    [
        (
            """createArtifact(input: {entityName: "root", projectName: "p", digest: "d",
            artifactTypeName: "dataset", artifactCollectionName: "c", metadata: $json})
            { artifact { id } }""",
            "Artifact metadata is nested deeper than 100 levels",
        ),
        (
            """upsertBucket(input: {entityName: "root", modelName: "p", name: "r",
            config: $json}) { bucket { id } }""",
            "Run config is nested deeper than 100 levels",
        ),
        (
            """updateArtifact(input: {artifactID: "VERSION", metadata: $json})
            { artifact { id } }""",
            "Artifact metadata is nested deeper than 100 levels",
        ),
    ],
)
def test_a_graphql_json_string_nested_too_deeply_is_an_error_of_the_caller(
    gate_server: Server, mutation: str, message: str
) -> None:
    with gate_server.client(gate_server.admin_key) as admin:
        version = log(admin, "root", "p", "c", {"a.txt": b"a"}, "r0")
    document = f"mutation($json: JSONString) {{ {mutation} }}".replace("VERSION", version["id"])
    answer = gql(gate_server, gate_server.admin_key, document, {"json": DEEP})
    assert answer.status_code == 200
    assert [e["message"] for e in answer.json()["errors"]] == [message]
