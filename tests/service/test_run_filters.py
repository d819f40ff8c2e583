"""Run filters in the service (``runs.list_runs(..., filters)``): the page, its cursor and
its total count only the runs that match, in every order; filters are checked against the
store's limits before anything is read; ``$regex`` runs on RE2, and without RE2 only the
embedded store's own caller may use it; a viewer filters what it may read, an outsider
nothing."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cairn.errors import NotFoundError
from cairn.protocol import RunEdit
from cairn.service import run_filters, runs
from cairn.service.accounts import authenticate, create_key, create_team, create_user, set_member
from cairn.service.caller import LOCAL, Caller
from cairn.service.limits import Limits
from cairn.service.resources import Store, open_store
from cairn.settings import Settings

E, P = "lab", "proj"
# id, name, config, summary, exit code (None: running)
RUNS: list[tuple[str, str, dict[str, Any], dict[str, Any], int | None]] = [
    ("r1", "exp-alpha", {"lr": 0.1, "opt": {"name": "adam"}}, {"loss": 0.5}, 0),
    ("r2", "exp-beta", {"lr": 0.01, "opt": {"name": "sgd"}}, {"loss": 0.2}, 1),
    ("r3", "gamma", {"lr": 0.3, "text": "a" * 40 + "!"}, {}, None),
    ("r4", "exp-delta", {"lr": 0.1, "opt": {"name": "sgd"}}, {"loss": 0.9}, 0),
]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """Team ``lab`` (``owner``; ``viewer`` views it), user ``outsider``, and ``RUNS`` in
    ``lab/proj``, created in that order."""
    opened = open_store(Settings.load({"cairn_dir": tmp_path / "s", "entity": "tester"}))
    try:
        for user in ("owner", "viewer", "outsider"):
            create_user(opened, LOCAL, user)
        create_team(opened, LOCAL, E, "owner")
        set_member(opened, LOCAL, E, "viewer", "viewer")
        for run_id, name, config, summary, code in RUNS:
            runs.create_run(opened, LOCAL, E, P, run_id, name, "train", config)
            runs.edit_run(opened, LOCAL, E, P, run_id, RunEdit(summary=summary))
            if code is not None:
                runs.finish_run(opened, LOCAL, E, P, run_id, code)
        yield opened
    finally:
        opened.close()


def _caller(store: Store, user: str) -> Caller:
    return authenticate(store, create_key(store, LOCAL, user).api_key)


def ids(
    store: Store,
    filters: dict[str, Any] | None,
    order: str = "+created_at",
    caller: Caller = LOCAL,
) -> list[str]:
    """Every matching run, a page of one at a time; checks total and cursors on the way."""
    found: list[str] = []
    cursor = None
    while True:
        page = runs.list_runs(store, caller, E, P, order, cursor, 1, filters)
        found += [info.id for info in page.items]
        assert page.total >= len(found)
        cursor = page.next_cursor
        if cursor is None:
            assert page.total == len(found)
            return found


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (None, ["r1", "r2", "r3", "r4"]),
        ({}, ["r1", "r2", "r3", "r4"]),
        ({"state": "finished"}, ["r1", "r4"]),
        ({"state": {"$in": ["failed", "running"]}}, ["r2", "r3"]),
        ({"config.lr": 0.1}, ["r1", "r4"]),
        ({"config.lr.value": {"$gt": 0.05}}, ["r1", "r3", "r4"]),
        ({"config.opt.name": "sgd"}, ["r2", "r4"]),
        ({"config.opt.name": {"$exists": False}}, ["r3"]),
        ({"summary_metrics.loss": {"$lte": 0.5}}, ["r1", "r2"]),
        ({"display_name": {"$regex": "^exp-[ab]"}}, ["r1", "r2"]),
        ({"name": {"$nin": ["r1", "r3"]}, "jobType": "train"}, ["r2", "r4"]),
        ({"entity": E, "project": P, "createdAt": {"$gt": "2000-01-01"}}, ["r1", "r2", "r3", "r4"]),
        ({"$or": [{"config.lr": 0.3}, {"summary_metrics.loss": {"$gt": 0.8}}]}, ["r3", "r4"]),
        ({"$and": [{"config.lr": 0.1}, {"config.opt.name": {"$ne": "adam"}}]}, ["r4"]),
        ({"$nor": [{"state": "finished"}, {"config.lr": 0.3}]}, ["r2"]),
        ({"tags": "x"}, []),
    ],
)
def test_filters_keep_the_matching_runs(
    store: Store, filters: dict[str, Any] | None, expected: list[str]
) -> None:
    assert ids(store, filters) == expected


def test_pages_totals_and_orders_count_only_matching_runs(store: Store) -> None:
    sgd_or_adam = {"config.opt.name": {"$exists": True}}
    first = runs.list_runs(store, LOCAL, E, P, "-created_at", None, 2, sgd_or_adam)
    assert ([i.id for i in first.items], first.next_cursor, first.total) == (["r4", "r2"], "2", 3)
    second = runs.list_runs(store, LOCAL, E, P, "-created_at", "2", 2, sgd_or_adam)
    assert ([i.id for i in second.items], second.next_cursor, second.total) == (["r1"], None, 3)
    assert ids(store, sgd_or_adam, "-summary_metrics.loss") == ["r4", "r1", "r2"]
    assert ids(store, sgd_or_adam, "+config.opt.name") == ["r1", "r2", "r4"]
    assert ids(store, sgd_or_adam, "display_name") == ["r1", "r2", "r4"]
    none = runs.list_runs(store, LOCAL, E, P, "", None, 5, {"name": "nope"})
    assert (none.items, none.next_cursor, none.total) == ([], None, 0)


def _no_reads(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    def read() -> None:
        raise AssertionError("the store was read")

    monkeypatch.setattr(store.db, "read", read)


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        (["state"], "A run filter is an object of conditions, not a list"),
        ({"state": {"$near": 1}}, r"Unknown run filter operator '\$near'"),
        ({"$or": {"state": "x"}}, r"\$or needs a list of filters"),
        ({"name": {"$in": "r1"}}, r"\$in needs a list"),
        ({"name": {"$regex": "x" * 1001}}, r"\$regex pattern is at most 1000 characters"),
        ({"name": {"$regex": "(a"}}, r"Invalid \$regex '\(a'"),
        ({"name": {"$in": ["r1"] * 11}}, "holds at most 12 terms"),
        ({"$and": [{"$and": [{"$and": [{}]}]}]}, "nests at most 5 levels"),
    ],
)
def test_bad_filters_are_refused_before_anything_is_read(
    store: Store, monkeypatch: pytest.MonkeyPatch, filters: Any, message: str
) -> None:
    limited = dataclasses.replace(store, limits=Limits(max_page=12, max_metadata_depth=5))
    outsider = _caller(store, "outsider")
    _no_reads(limited, monkeypatch)
    for caller in (LOCAL, outsider):
        with pytest.raises(ValueError, match=message):
            runs.list_runs(limited, caller, E, P, "", None, 10, filters)


def test_regex_runs_on_re2(store: Store) -> None:
    pytest.importorskip("re2")
    viewer = _caller(store, "viewer")
    # catastrophic backtracking for Python's re (2**40 ways to split the a's): RE2 is linear
    started = time.monotonic()
    assert ids(store, {"config.text": {"$regex": "^(a+)+$"}}, caller=viewer) == []
    assert ids(store, {"config.text": {"$regex": "^(a+)+!$"}}, caller=viewer) == ["r3"]
    assert time.monotonic() - started < 5
    for caller in (LOCAL, viewer):  # RE2's syntax for everyone when it is there
        with pytest.raises(ValueError, match=r"Invalid \$regex .* \(RE2 syntax\): invalid escape"):
            ids(store, {"display_name": {"$regex": r"(a)\1"}}, caller=caller)
        assert ids(store, {"display_name": {"$regex": "(?i)^EXP-D"}}, caller=caller) == ["r4"]


def test_without_re2_only_the_local_caller_has_regex(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(run_filters, "_re2", lambda: None)
    owner = _caller(store, "owner")
    with pytest.raises(ValueError, match=r"\$regex in run filters needs RE2 on this server"):
        ids(store, {"display_name": {"$regex": "^exp"}}, caller=owner)
    assert ids(store, {"state": "finished"}, caller=owner) == ["r1", "r4"]  # others still do
    # the user's own process: Python's re (a backreference RE2 would refuse)
    assert ids(store, {"display_name": {"$regex": r"^(e)xp-(\w)\w*\2$"}}) == ["r1"]
    with pytest.raises(ValueError, match=r"Invalid \$regex"):
        ids(store, {"display_name": {"$regex": "(a"}})


def test_a_viewer_filters_what_it_may_read_and_an_outsider_nothing(store: Store) -> None:
    viewer, outsider = _caller(store, "viewer"), _caller(store, "outsider")
    assert ids(store, {"state": "finished"}, caller=viewer) == ["r1", "r4"]
    with pytest.raises(NotFoundError, match="project 'lab/proj' not found"):
        runs.list_runs(store, outsider, E, P, "", None, 10, {"state": "finished"})
    with pytest.raises(NotFoundError, match="project 'lab/none' not found"):
        runs.list_runs(store, viewer, E, "none", "", None, 10, {"state": "finished"})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, None),
        ("", None),
        ("null", None),
        ("{}", {}),
        ('{"config.lr": {"$in": [0.1, 0.3]}}', {"config.lr": {"$in": [0.1, 0.3]}}),
    ],
)
def test_a_filter_sent_as_json_text_is_parsed(text: str | None, expected: Any) -> None:
    assert run_filters.loads_filter(text, Limits()) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{state: 1}", "A run filter is JSON text: Expecting property name"),
        ('{"a": 1', "A run filter is JSON text: Expecting ',' delimiter"),
        ({"state": "finished"}, "Run filters are sent as JSON text, not dict"),
        ('{"$and": [{"$and": [{"$and": [{}]}]}]}', "A run filter is nested deeper than 5 levels"),
        # deeper than json's parser could recurse: refused before it is parsed
        ("[" * 100_000, "A run filter is nested deeper than 5 levels"),
    ],
)
def test_json_text_that_is_not_a_filter_is_refused(text: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        run_filters.loads_filter(text, Limits(max_metadata_depth=5))


def test_json_text_passes_on_what_the_service_then_refuses(store: Store) -> None:
    for text, message in (
        ('["state"]', "A run filter is an object of conditions, not a list"),
        ('{"state": {"$near": 1}}', r"Unknown run filter operator '\$near'"),
    ):
        query = run_filters.loads_filter(text, store.limits)
        with pytest.raises(ValueError, match=message):
            runs.list_runs(store, LOCAL, E, P, "", None, 10, query)
    query = run_filters.loads_filter('{"state": "finished", "config.lr": 0.1}', store.limits)
    assert ids(store, query) == ["r1", "r4"]
