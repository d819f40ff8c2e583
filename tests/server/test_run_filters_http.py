"""Run filters over HTTP: ``GET .../runs?filters=<JSON>`` and the wandb facade's
``Project.runs(filters)`` / ``runCount(filters)`` (JSON text, as the official client sends
it) keep the runs the service keeps, page and count only those, for whoever may read the
project; a filter that is not JSON or that the service refuses gets 400
``invalid_argument`` (a GraphQL error on the facade), whoever asks."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from cairn.service.limits import Limits

from .conftest import Server, run_server, server_config
from .helpers import ok, setup_accounts

RUNS = "/api/v1/entities/vision/projects/p/runs"
# id, display name, config, summary, exit code (None: still running); created in this order
MADE: list[tuple[str, str, dict[str, Any], dict[str, Any], int | None]] = [
    ("r1", "exp-alpha", {"lr": 0.1, "opt": {"name": "adam"}}, {"acc": 0.95}, 0),
    ("r2", "exp-beta", {"lr": 0.01, "opt": {"name": "sgd"}}, {"acc": 0.5}, 1),
    ("r3", "gamma", {"lr": 0.3}, {}, None),
    ("r4", "exp-delta", {"lr": 0.1, "opt": {"name": "sgd"}}, {"acc": 0.99}, 0),
]
SEVEN_DEEP = '{"a": {"b": {"c": {"d": {"e": {"f": {"g": 1}}}}}}}'

# The query of the official client's Api.runs (wandb.apis.public.runs), its fields cut.
RUNS_QUERY = """query Runs($project: String!, $entity: String!, $cursor: String,
    $perPage: Int = 50, $order: String, $filters: JSONString) {
  project(name: $project, entityName: $entity) {
    runCount(filters: $filters)
    runs(filters: $filters, after: $cursor, first: $perPage, order: $order) {
      edges { node { name displayName } cursor }
      pageInfo { endCursor hasNextPage }
    }
  }
}"""


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, str]]]:
    """A SQLite server (filters nest at most 6 levels) with team ``vision`` (alice member,
    bob viewer; carol is not in it) and the runs of ``MADE`` in ``vision/p``."""
    root = tmp_path_factory.mktemp("run-filters")
    limits = Limits(max_body_bytes=1024 * 1024, max_metadata_depth=6)
    config = server_config(f"sqlite+pysqlite:///{root / 'server.db'}", root, limits=limits)
    with run_server(config) as server:
        keys = setup_accounts(server)
        with server.client(keys["alice"]) as alice:
            for run_id, name, run_config, summary, code in MADE:
                body = {"run_id": run_id, "name": name, "job_type": "train", "config": run_config}
                ok(alice.post(RUNS, json=body))
                ok(alice.patch(f"{RUNS}/{run_id}", json={"summary": summary}))
                if code is not None:
                    ok(alice.post(f"{RUNS}/{run_id}/finish", json={"exit_code": code}))
        yield server, keys


def rest_ids(
    client: httpx.Client, filters: Any, order: str = "+created_at"
) -> tuple[list[str], int]:
    """Every run ``filters`` keeps (a page of one at a time), and the total of each page."""
    found: list[str] = []
    totals: set[int] = set()
    cursor: str | None = None
    while True:
        params = {"filters": json.dumps(filters), "per_page": "1", "order": order}
        if cursor is not None:
            params["cursor"] = cursor
        page = ok(client.get(RUNS, params=params))
        found += [item["id"] for item in page["items"]]
        totals.add(page["total"])
        cursor = page["next_cursor"]
        if cursor is None:
            assert len(totals) == 1, totals
            return found, totals.pop()


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, ["r1", "r2", "r3", "r4"]),
        ({"config.lr": 0.1}, ["r1", "r4"]),
        ({"summary_metrics.acc": {"$gt": 0.9}}, ["r1", "r4"]),
        ({"state": "finished", "config.opt.name": "sgd"}, ["r4"]),
        ({"$or": [{"config.lr": 0.3}, {"summary_metrics.acc": {"$lt": 0.6}}]}, ["r2", "r3"]),
        ({"display_name": {"$regex": "^exp-(a|d)"}}, ["r1", "r4"]),
        ({"name": {"$nin": ["r1", "r2"]}}, ["r3", "r4"]),
        ({"tags": "x"}, []),
    ],
)
def test_rest_filters_keep_page_and_count_the_matching_runs(
    world: tuple[Server, dict[str, str]], filters: dict[str, Any], expected: list[str]
) -> None:
    server, keys = world
    with server.client(keys["bob"]) as viewer:  # reading is enough
        assert rest_ids(viewer, filters) == (expected, len(expected))


def test_rest_filters_with_an_order(world: tuple[Server, dict[str, str]]) -> None:
    server, keys = world
    with server.client(keys["alice"]) as alice:
        sgd_or_adam = {"config.opt.name": {"$exists": True}}
        assert rest_ids(alice, sgd_or_adam, "-summary_metrics.acc") == (["r4", "r1", "r2"], 3)
        assert rest_ids(alice, sgd_or_adam, "-created_at") == (["r4", "r2", "r1"], 3)
        # no filters parameter, or an empty one: every run
        assert ok(alice.get(RUNS))["total"] == 4
        assert ok(alice.get(RUNS, params={"filters": ""}))["total"] == 4


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{state: 1}", "A run filter is JSON text: Expecting property name"),
        ('["state"]', "A run filter is an object of conditions, not a list"),
        ('{"state": {"$near": 1}}', r"Unknown run filter operator '\$near'"),
        ('{"$or": {"state": "finished"}}', r"\$or needs a list of filters"),
        (SEVEN_DEEP, "nested deeper than 6 levels"),
        # deeper than json's parser could recurse: refused before it is parsed
        ("[" * 5000 + "]" * 5000, "nested deeper than 6 levels"),
        ('{"name": {"$regex": "(a"}}', r"Invalid \$regex '\(a'"),
    ],
    ids=["not-json", "a-list", "unknown-operator", "or-not-a-list", "deep", "very-deep", "regex"],
)
def test_rest_refuses_a_bad_filter_with_400(
    world: tuple[Server, dict[str, str]], text: str, message: str
) -> None:
    server, keys = world
    for key in (keys["alice"], keys["carol"]):  # refused before the project is looked up
        with server.client(key) as client:
            answer = client.get(RUNS, params={"filters": text})
            assert answer.status_code == 400, answer.text
            error = answer.json()["error"]
            assert error["code"] == "invalid_argument"
            assert re.search(message, error["message"]), error["message"]


def test_rest_an_outsider_gets_404_filtered_or_not(world: tuple[Server, dict[str, str]]) -> None:
    server, keys = world
    with server.client(keys["carol"]) as carol:
        answer = carol.get(RUNS, params={"filters": '{"state": "finished"}'})
        assert answer.status_code == 404
        assert answer.json()["error"]["code"] == "not_found"


def graphql(server: Server, key: str, variables: dict[str, Any]) -> dict[str, Any]:
    body = {"query": RUNS_QUERY, "variables": {"entity": "vision", "project": "p", **variables}}
    answer = httpx.post(f"{server.url}/graphql", json=body, auth=("api", key), timeout=60)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def facade_ids(server: Server, key: str, filters: str) -> tuple[list[str], int]:
    """The run ids ``Project.runs(filters)`` pages through (one at a time), oldest first,
    and ``runCount(filters)``."""
    found: list[str] = []
    cursor = None
    while True:
        variables = {"filters": filters, "perPage": 1, "order": "+created_at", "cursor": cursor}
        answer = graphql(server, key, variables)
        assert "errors" not in answer, answer["errors"]
        project = answer["data"]["project"]
        found += [edge["node"]["name"] for edge in project["runs"]["edges"]]
        cursor = project["runs"]["pageInfo"]["endCursor"]
        if not project["runs"]["pageInfo"]["hasNextPage"]:
            return found, project["runCount"]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ("{}", ["r1", "r2", "r3", "r4"]),
        ("null", ["r1", "r2", "r3", "r4"]),
        ('{"config.lr.value": 0.1}', ["r1", "r4"]),
        ('{"$and": [{"summary_metrics.acc": {"$gte": 0.5}}, {"state": "finished"}]}', ["r1", "r4"]),
        ('{"$or": [{"displayName": "gamma"}, {"jobType": "none"}]}', ["r3"]),
        ('{"display_name": {"$regex": "(?i)BETA$"}}', ["r2"]),
    ],
)
def test_the_facade_filters_runs_as_the_official_client_sends_them(
    world: tuple[Server, dict[str, str]], filters: str, expected: list[str]
) -> None:
    server, keys = world
    assert facade_ids(server, keys["bob"], filters) == (expected, len(expected))


def test_the_facade_refuses_a_bad_filter_and_hides_the_project_from_outsiders(
    world: tuple[Server, dict[str, str]],
) -> None:
    server, keys = world
    for text, message in (
        ('{"state": {"$near": 1}}', "Unknown run filter operator '$near'"),
        ("{state", "A run filter is JSON text"),
        (SEVEN_DEEP, "nested deeper than 6 levels"),
    ):
        answer = graphql(server, keys["alice"], {"filters": text})
        messages = [error["message"] for error in answer["errors"]]
        assert messages and all(message in m for m in messages), messages
        assert answer["data"]["project"] == {"runCount": None, "runs": None}
    hidden = graphql(server, keys["carol"], {"filters": '{"state": "finished"}'})
    assert hidden == {"data": {"project": None}}
