"""The rule of each value a version is logged with is one function of ``cairn.core``, which
Cairn's SDK calls before it sends anything and the service applies to every request,
whichever transport it came by (issue 18): the REST API and the wandb facade refuse a bad
alias, tag or type with the SDK's message (400, a GraphQL error of the caller), on both
deployments, and nothing is written."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from cairn.core.names import check_artifact_type, validate_stored_aliases, validate_stored_tags

from .conftest import Server
from .gate_world import commit_body, gql, log, ok, upload

P = "/api/v1/entities/root/projects/p"
FILES = {"b.txt": b"refused content"}

# (what the request carries, the core rule whose message the server must give)
CASES: list[tuple[dict[str, Any], Callable[[], object]]] = [
    ({"aliases": ["a" * 129]}, lambda: validate_stored_aliases(["a" * 129])),
    ({"aliases": [""]}, lambda: validate_stored_aliases([""])),
    ({"aliases": ["a\x01b"]}, lambda: validate_stored_aliases(["a\x01b"])),
    ({"tags": ["t" * 129]}, lambda: validate_stored_tags(["t" * 129])),
    ({"tags": ["no/slash"]}, lambda: validate_stored_tags(["no/slash"])),
    ({"type": "data\tset"}, lambda: check_artifact_type("data\tset")),
    ({"type": "x" * 129}, lambda: check_artifact_type("x" * 129)),
]
IDS = ["long-alias", "empty-alias", "control-alias", "long-tag", "bad-tag", "tab-type", "long-type"]


def _message(rule: Callable[[], object]) -> str:
    with pytest.raises(ValueError) as refused:
        rule()
    return str(refused.value)


def _versions(server: Server) -> list[Any]:
    with server.client(server.admin_key) as admin:
        listed = ok(admin.get(P + "/collections/c/versions"))
    return list(listed["items"])


@pytest.mark.parametrize(("values", "rule"), CASES, ids=IDS)
def test_rest_refuses_a_bad_value_with_the_sdks_message(
    gate_server: Server, values: dict[str, Any], rule: Callable[[], object]
) -> None:
    with gate_server.client(gate_server.admin_key) as admin:
        log(admin, "root", "p", "c", {"a.txt": b"a"})
        upload(admin, "root", FILES)
        answer = admin.post(P + "/versions", json=commit_body("p", "c", FILES, **values))
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["message"] == _message(rule)
    assert [v["version_index"] for v in _versions(gate_server)] == [0]


@pytest.mark.parametrize(("values", "rule"), CASES, ids=IDS)
def test_the_wandb_facade_refuses_a_bad_value_with_the_sdks_message(
    gate_server: Server, values: dict[str, Any], rule: Callable[[], object]
) -> None:
    document = """mutation($type: String!, $aliases: [ArtifactAliasInput!],
        $tags: [TagInput!]) {
        createArtifact(input: {entityName: "root", projectName: "p", digest: "d",
            artifactTypeName: $type, artifactCollectionName: "c", aliases: $aliases,
            tags: $tags}) { artifact { id state } } }"""
    variables = {
        "type": values.get("type", "dataset"),
        "aliases": [{"alias": a, "artifactCollectionName": "c"} for a in values.get("aliases", [])],
        "tags": [{"tagName": t} for t in values.get("tags", [])],
    }
    answer = gql(gate_server, gate_server.admin_key, document, variables)
    assert answer.status_code == 200, answer.text
    assert [e["message"] for e in answer.json()["errors"]] == [_message(rule)]
