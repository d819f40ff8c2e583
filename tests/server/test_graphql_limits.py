"""The GraphQL facade refuses, before executing anything, an operation over the server's
depth or cost limits, answers 429 with ``Retry-After`` to a key over its rate, and lets
every operation the official client sends through (``graphql_ops/``, see its README)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import OperationDefinitionNode, parse, print_ast

from cairn.errors import RateLimitError
from cairn.server.wandb_compat import endpoint
from cairn.service.limits import DEFAULT_LIMITS

from .conftest import Server, run_server, server_config
from .test_graphql_cost import nested_attack

OPS = Path(__file__).with_name("graphql_ops")
# Api.list_jobs lists every version of every collection of a type in one query, with no
# page size anywhere: 1000 x 1000 x 17 fields at the default max_page.
OVER_LIMIT = {"wandb.apis.public.api/ArtifactOfType.graphql"}


@pytest.fixture(scope="module")
def gql_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("graphql-limits")
    with run_server(server_config(f"sqlite+pysqlite:///{root / 'server.db'}", root)) as running:
        yield running


def post(server: Server, query: str, variables: dict[str, Any] | None = None) -> httpx.Response:
    body = {"query": query, "variables": variables or {}}
    auth = ("api", server.admin_key)
    return httpx.post(f"{server.url}/graphql", json=body, auth=auth, timeout=60)


@pytest.fixture
def executions(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The operations the endpoint hands to the executor (the server runs in this process)."""
    seen: list[str] = []
    execute = endpoint.execute

    def recording(*args: Any, **kwargs: Any) -> Any:
        seen.append(str(kwargs.get("operation_name")))
        return execute(*args, **kwargs)

    monkeypatch.setattr(endpoint, "execute", recording)
    return seen


def test_a_deep_and_costly_query_is_refused_before_it_runs(
    gql_server: Server, executions: list[str]
) -> None:
    refused = post(gql_server, nested_attack(6))
    assert refused.status_code == 400
    body = refused.json()
    assert "data" not in body
    depth, cost = (error["message"] for error in body["errors"])
    assert depth == f"query depth 26 is over the limit of {DEFAULT_LIMITS.graphql_max_depth}"
    assert cost.startswith("query cost ")
    assert cost.endswith(f" is over the limit of {DEFAULT_LIMITS.graphql_max_cost}")
    assert executions == []

    # deep, but cheap: one field under another, no lists
    steps = "organization { orgEntity { " * 7
    deep = '{ project(name: "p") { entity { ' + steps + "name" + " } }" * 7 + " } } }"
    only_depth = post(gql_server, deep)
    assert only_depth.status_code == 400
    assert [e["message"] for e in only_depth.json()["errors"]] == [
        f"query depth 17 is over the limit of {DEFAULT_LIMITS.graphql_max_depth}"
    ]
    assert executions == []

    fine = post(gql_server, nested_attack(1))
    assert fine.status_code == 200, fine.text
    assert executions == ["None"]


def test_the_limits_are_the_servers_own(tmp_path: Path) -> None:
    limits = dataclasses.replace(DEFAULT_LIMITS, graphql_max_depth=3, graphql_max_cost=10**9)
    config = server_config(f"sqlite+pysqlite:///{tmp_path / 'server.db'}", tmp_path)
    with run_server(dataclasses.replace(config, limits=limits)) as server:
        assert post(server, "{ viewer { teams { name: __typename } } }").status_code == 200
        refused = post(server, "{ viewer { teams { edges { node { name } } } } }")
        assert refused.status_code == 400
        assert refused.json()["errors"][0]["message"] == "query depth 5 is over the limit of 3"


def _worst_variables(document_text: str) -> dict[str, int]:
    """Every ``Int`` variable (so every page size) at ``max_page``."""
    variables = {}
    for operation in parse(document_text).definitions:
        if isinstance(operation, OperationDefinitionNode):
            for definition in operation.variable_definitions or ():
                if print_ast(definition.type).rstrip("!") == "Int":
                    variables[definition.variable.name.value] = DEFAULT_LIMITS.max_page
    return variables


def client_operations() -> list[Path]:
    return sorted(OPS.glob("*/*.graphql"))


def test_the_measured_client_operations_are_there() -> None:
    names = {f"{path.parent.name}/{path.name}" for path in client_operations()}
    assert len(names) > 50
    assert "core/CreateArtifact.graphql" in names
    assert names >= OVER_LIMIT


def test_every_client_operation_fits_the_default_limits(gql_server: Server) -> None:
    for path in client_operations():
        name = f"{path.parent.name}/{path.name}"
        text = path.read_text()
        answer = post(gql_server, text, _worst_variables(text))
        messages = [error["message"] for error in answer.json().get("errors", [])]
        over = [m for m in messages if "over the limit" in m]
        if name in OVER_LIMIT:
            assert answer.status_code == 400 and over, name
            continue
        # executed: at worst the variables a real client would send are missing
        assert answer.status_code == 200 and not over, (name, answer.status_code, messages)


def test_a_key_over_its_rate_gets_429_with_retry_after(
    gql_server: Server, monkeypatch: pytest.MonkeyPatch, executions: list[str]
) -> None:
    def refuse(*_args: Any) -> Any:
        raise RateLimitError("too many requests", retry_after=7)

    monkeypatch.setattr(endpoint, "caller_of", refuse)
    answer = post(gql_server, "{ viewer { id } }")
    assert answer.status_code == 429
    assert answer.headers["retry-after"] == "7"
    assert answer.json() == {"errors": [{"message": "too many requests"}]}
    assert executions == []
