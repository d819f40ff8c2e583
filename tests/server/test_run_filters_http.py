"""Run filters over HTTP: ``GET .../runs?filters=<JSON>`` keeps the runs the service
keeps, pages and counts only those, for whoever may read the project; a filter that is not
JSON or that the service refuses gets 400 ``invalid_argument``, whoever asks."""

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
