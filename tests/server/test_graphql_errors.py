"""A GraphQL error tells the client what it did wrong, never the server's internals: an
unexpected exception in a resolver (a bug; an earlier one showed SQL and its parameters)
answers "internal server error" at its path and is logged with its traceback, as a REST
500 is, while expected failures keep their message."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from cairn.errors import AuthorizationError, NotFoundError
from cairn.server.wandb_compat import endpoint

from .conftest import Server, run_server, server_config
from .gate_world import gql

SECRET = "SELECT api_key FROM keys WHERE user = %(user)s [parameters: {'user': 'root'}]"


@pytest.fixture(scope="module")
def gql_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("graphql-errors")
    with run_server(server_config(f"sqlite+pysqlite:///{root / 'server.db'}", root)) as running:
        yield running


def _viewer_raises(monkeypatch: pytest.MonkeyPatch, exc: Exception) -> None:
    """Make the ``viewer`` resolver raise ``exc`` (the server runs in this process)."""
    query_type = endpoint._SCHEMA.query_type
    assert query_type is not None

    def resolve(*_args: Any, **_kwargs: Any) -> Any:
        raise exc

    monkeypatch.setattr(query_type.fields["viewer"], "resolve", resolve)


@pytest.mark.parametrize(
    "exc", [RuntimeError(SECRET), OverflowError(SECRET), RecursionError(SECRET), OSError(SECRET)]
)
def test_an_unexpected_exception_is_an_internal_error_logged_with_its_traceback(
    gql_server: Server,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    exc: Exception,
) -> None:
    _viewer_raises(monkeypatch, exc)
    with caplog.at_level(logging.ERROR, logger="cairn.server.wandb_compat"):
        answer = gql(gql_server, gql_server.admin_key, "query Who { viewer { id } }")
    assert answer.status_code == 200
    assert "api_key" not in answer.text and "SELECT" not in answer.text
    assert answer.json() == {
        "data": {"viewer": None},
        "errors": [
            {
                "message": "internal server error",
                "locations": [{"line": 1, "column": 13}],
                "path": ["viewer"],
            }
        ],
    }
    logged = [r for r in caplog.records if r.exc_info and r.exc_info[1] is exc]
    assert len(logged) == 1
    assert "'Who' failed unexpectedly" in logged[0].getMessage()
    assert SECRET in caplog.text  # the traceback, with the message, stays on the server


@pytest.mark.parametrize(
    ("exc", "message"),
    [
        (NotFoundError("project 'root/p' not found"), "project 'root/p' not found"),
        (AuthorizationError("no write access"), "no write access"),
        (ValueError("Invalid name 'a b'"), "Invalid name 'a b'"),
        (TypeError("metadata must be a dict"), "metadata must be a dict"),
        (KeyError("entityName"), "'entityName'"),
    ],
)
def test_an_expected_failure_keeps_its_message(
    gql_server: Server, monkeypatch: pytest.MonkeyPatch, exc: Exception, message: str
) -> None:
    _viewer_raises(monkeypatch, exc)
    answer = gql(gql_server, gql_server.admin_key, "{ viewer { id } }")
    assert answer.status_code == 200
    assert [e["message"] for e in answer.json()["errors"]] == [message]


def test_errors_of_graphql_itself_keep_their_message(gql_server: Server) -> None:
    query = 'query($n: String!) { project(entityName: "root", name: $n) { id } }'
    answer = gql(gql_server, gql_server.admin_key, query, {"n": None})
    assert answer.status_code == 200
    assert [e["message"] for e in answer.json()["errors"]] == [
        "Variable '$n' has invalid value: Expected value of non-null type 'String!' not to be None."
    ]
