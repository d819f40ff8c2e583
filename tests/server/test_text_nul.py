"""A NUL character in a name, from any transport, is bad input on both deployments: 400
over REST, a GraphQL error (not a resolver crash), never a 500 from PostgreSQL (which
cannot hold NUL in text). Found by ``test_gate_fuzz_rest``: ``GET
/api/v1/entities/shared%00%3Av0/members`` answered 500 on PostgreSQL."""

from __future__ import annotations

import pytest

from .conftest import Server
from .gate_world import gql


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
