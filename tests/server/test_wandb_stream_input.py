"""What the official client's REST and GraphQL side sends as JSON text is parsed with
``loads_json`` (depth-checked) and checked for shape and range: hostile input is bad input,
never a RecursionError or an out-of-range number reaching the database.

- ``file_stream`` history lines: a line nested deeper than ``json.loads`` can recurse
  answered 500 (RecursionError); so did a line that is not a string, and a step or exit
  code out of range.
- ``updateArtifactManifest``'s id and a registry listing's ``filters`` are JSON text too.
"""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from .conftest import Server
from .gate_world import gql, ok
from .test_hostile_text import DEEP

P = "/api/v1/entities/root/projects/p"


def _stream(server: Server, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(
        f"{server.url}/files/root/p/r0/file_stream",
        json=body,
        auth=("api", server.admin_key),
        timeout=60,
    )


def _history(lines: list[Any], **extra: Any) -> dict[str, Any]:
    return {"files": {"wandb-history.jsonl": {"offset": 0, "content": lines}}, **extra}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (_history(['{"_step": 1, "a": 2}', DEEP]), "nested deeper than 100 levels"),
        (_history(['{"_step": 1, "a": 2}', "not json"]), "Expecting value"),
        (_history(['{"_step": 1, "a": 2}', 5]), "is a list of strings"),
        (_history("not a list"), "is a list of strings"),
        ({"files": ["wandb-history.jsonl"]}, "is a list of strings"),
        (_history(['{"_step": 9223372036854775808, "a": 2}']), "step must be from 0 to"),
        ({"complete": True, "exitcode": 2**31}, "exit_code must be from"),
    ],
)
def test_a_file_stream_request_with_bad_input_is_refused_and_writes_nothing(
    gate_server: Server, body: dict[str, Any], message: str
) -> None:
    with gate_server.client(gate_server.admin_key) as admin:
        ok(admin.post(P + "/runs", json={"run_id": "r0"}))
        answer = _stream(gate_server, body)
        assert answer.status_code == 400, answer.text
        assert message in answer.json()["error"]["message"]
        run = ok(admin.get(P + "/runs/r0"))
        assert (run["state"], run["last_step"]) == ("running", None)
        assert ok(admin.get(P + "/runs/r0/history")) == []
        fine = _stream(gate_server, _history(['{"_step": 1, "a": 2}'], complete=True, exitcode=0))
        assert fine.status_code == 200, fine.text
        assert ok(admin.get(P + "/runs/r0/history")) == [{"_step": 1, "a": 2}]
        assert ok(admin.get(P + "/runs/r0"))["state"] == "finished"


def test_graphql_json_text_nested_too_deeply_is_an_error_of_the_caller(
    gate_server: Server,
) -> None:
    manifest_id = base64.b64encode(b"ArtifactManifest:" + DEEP.encode()).decode()
    update = """mutation($i: UpdateArtifactManifestInput!) {
        updateArtifactManifest(input: $i) { artifactManifest { id } } }"""
    variables = {"i": {"artifactManifestID": manifest_id}}
    answer = gql(gate_server, gate_server.admin_key, update, variables)
    assert answer.status_code == 200
    assert [e["message"] for e in answer.json()["errors"]] == [
        f"unknown artifact manifest '{manifest_id}'"
    ]
    listing = """query($f: JSONString) { entity(name: "acme") {
        projects(filters: $f) { edges { node { id } } } } }"""
    answer = gql(gate_server, gate_server.admin_key, listing, {"f": DEEP})
    assert answer.status_code == 200
    assert [e["message"] for e in answer.json()["errors"]] == [
        "filters is nested deeper than 100 levels"
    ]
