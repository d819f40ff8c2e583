"""The run surface in the service: history rows and the summary they leave, config and
summary edits, listing runs in W&B's orders, reading history by query, and the gate on
each of them (an outsider sees nothing, a viewer reads but does not write)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from cairn.errors import AuthorizationError, NotFoundError
from cairn.protocol import HistoryQuery, RunEdit
from cairn.service import history, runs
from cairn.service.accounts import authenticate, create_key, create_team, create_user, set_member
from cairn.service.backend import EmbeddedBackend
from cairn.service.caller import LOCAL, Caller
from cairn.service.limits import Limits
from cairn.service.resources import Store, open_store
from cairn.settings import Settings

E, P = "tester", "proj"


def _row(backend: EmbeddedBackend, step: int | None, **values: object) -> int | None:
    return backend.log_history(E, P, "r", step, dict(values))


@pytest.fixture
def run(backend: EmbeddedBackend) -> EmbeddedBackend:
    backend.create_run(E, P, "r", None, None, {"lr": 0.1})
    return backend


# ---------------------------------------------------------------- history and summary


def test_rows_set_the_summary_to_the_last_value_of_each_key(run: EmbeddedBackend) -> None:
    assert run.get_run(E, P, "r").last_step is None
    assert _row(run, 0, loss=2.0, acc=0.1) == 0
    assert _row(run, 3, loss=1.0, _step=99) == 3  # a row's own _step is the step
    info = run.get_run(E, P, "r")
    assert info.summary == {"loss": 1.0, "acc": 0.1, "_step": 3}
    assert info.last_step == 3
    assert _row(run, None, x=1) == 4  # no step: the one after the last
    assert _row(run, 2, loss=9.0) is None  # below the last: ignored, nothing changes
    assert run.get_run(E, P, "r").summary["loss"] == 1.0
    assert _row(run, 4, y=2) == 4  # the same step again: merged into its row
    assert run.read_history(E, P, "r")[-1] == {"_step": 4, "x": 1, "y": 2}


def test_non_finite_values_are_stored_by_name(run: EmbeddedBackend) -> None:
    _row(run, 0, nan=float("nan"), up=float("inf"), down=[float("-inf")])
    assert run.read_history(E, P, "r") == [
        {"_step": 0, "nan": "NaN", "up": "Infinity", "down": ["-Infinity"]}
    ]
    assert run.get_run(E, P, "r").summary["nan"] == "NaN"


@pytest.mark.parametrize(
    ("values", "error", "message"),
    [
        ({"s": "a\x00b"}, ValueError, "NUL"),
        ({"o": object()}, TypeError, "not JSON serializable"),
        ({"deep": [[[[[[1]]]]]]}, ValueError, "nested too deeply"),
        ({"big": "x" * 600}, ValueError, "larger than 500 bytes"),
    ],
)
def test_values_that_cannot_be_stored_are_refused_before_anything_is_written(
    tmp_path: Path, values: dict[str, object], error: type[Exception], message: str
) -> None:
    opened = open_store(Settings.load({"cairn_dir": tmp_path / "s", "entity": E}))
    store = dataclasses.replace(opened, limits=Limits(max_metadata_depth=5, max_metadata_bytes=500))
    try:
        runs.create_run(store, LOCAL, E, P, "r", None, None, {})
        with pytest.raises(error, match=message):
            history.log_history(store, LOCAL, E, P, "r", 0, values)
        with pytest.raises(error, match=message):
            runs.edit_run(store, LOCAL, E, P, "r", RunEdit(config=values))
        with pytest.raises(error, match=message):
            runs.create_run(store, LOCAL, E, P, "other", None, None, values)
        info = runs.get_run(store, LOCAL, E, P, "r")
        assert (info.config, info.summary, info.last_step) == ({}, {}, None)
        # many small edits cannot grow a summary past the limit either
        runs.edit_run(store, LOCAL, E, P, "r", RunEdit(summary={"a": "x" * 300}))
        with pytest.raises(ValueError, match="summary is larger than 500 bytes"):
            runs.edit_run(store, LOCAL, E, P, "r", RunEdit(summary={"b": "y" * 300}))
        assert runs.get_run(store, LOCAL, E, P, "r").summary == {"a": "x" * 300}
    finally:
        opened.close()


def test_history_queries(run: EmbeddedBackend) -> None:
    for step in range(10):
        values = {"loss": 10 - step} if step % 2 == 0 else {"acc": step}
        _row(run, step, **values)
    rows = run.read_history(E, P, "r", HistoryQuery(keys=["loss"]))
    assert rows == [{"_step": s, "loss": 10 - s} for s in (0, 2, 4, 6, 8)]
    page = run.read_history(E, P, "r", HistoryQuery(keys=["acc"], min_step=4, limit=2))
    assert page == [{"_step": 5, "acc": 5}, {"_step": 7, "acc": 7}]
    bounded = run.read_history(E, P, "r", HistoryQuery(min_step=3, max_step=5))
    assert [row["_step"] for row in bounded] == [3, 4]
    sampled = run.read_history(E, P, "r", HistoryQuery(samples=4))
    assert [row["_step"] for row in sampled] == [0, 3, 6, 9]
    assert run.read_history(E, P, "r", HistoryQuery(keys=[])) == run.read_history(E, P, "r")
    with pytest.raises(ValueError, match="samples must be at least 1"):
        run.read_history(E, P, "r", HistoryQuery(samples=0))


# ---------------------------------------------------------------- edits


def test_edit_sets_and_removes_config_and_summary_keys(run: EmbeddedBackend) -> None:
    _row(run, 0, loss=1.0)
    edit = RunEdit(
        config={"batch": 8, "nested": {"a": [1, 2]}},
        config_remove=["lr", "absent"],
        summary={"best": 0.9},
        summary_remove=["loss"],
    )
    info = run.edit_run(E, P, "r", edit)
    assert info.config == {"batch": 8, "nested": {"a": [1, 2]}}
    assert info.summary == {"_step": 0, "best": 0.9}
    assert run.get_run(E, P, "r") == info
    run.finish_run(E, P, "r", 0)  # a finished run may still be edited (W&B's public API)
    assert run.edit_run(E, P, "r", RunEdit(summary={"late": 1})).summary["late"] == 1


# ---------------------------------------------------------------- listing


def test_list_runs_in_w_and_b_orders_and_pages(backend: EmbeddedBackend) -> None:
    for run_id, loss, lr in (("b", 0.5, 0.1), ("a", 0.2, None), ("c", None, 0.3)):
        config = {} if lr is None else {"opt": {"lr": lr}}
        backend.create_run(E, P, run_id, f"name-{run_id}", None, config)
        if loss is not None:
            backend.log_history(E, P, run_id, 0, {"loss": loss})

    def ids(order: str) -> list[str]:
        page = backend.list_runs(E, P, order, None, 50)
        assert page.total == 3 and page.next_cursor is None
        return [info.id for info in page.items]

    assert ids("") == ids("+created_at") == ["b", "a", "c"]
    assert ids("-created_at") == ["c", "a", "b"]
    assert ids("name") == ["a", "b", "c"]
    assert ids("-display_name") == ["c", "b", "a"]
    assert ids("+summary_metrics.loss") == ["a", "b", "c"]  # without the key: last
    assert ids("-summary_metrics.loss") == ["b", "a", "c"]
    assert ids("-config.opt.lr.value") == ["c", "b", "a"]  # W&B's config.<key>.value
    first = backend.list_runs(E, P, "-created_at", None, 2)
    assert [i.id for i in first.items] == ["c", "a"] and first.next_cursor == "2"
    second = backend.list_runs(E, P, "-created_at", first.next_cursor, 2)
    assert [i.id for i in second.items] == ["b"] and second.next_cursor is None
    with pytest.raises(ValueError, match="Unknown run order"):
        backend.list_runs(E, P, "+heartbeat", None, 50)
    with pytest.raises(ValueError, match="Invalid cursor"):
        backend.list_runs(E, P, "", "x", 50)
    with pytest.raises(NotFoundError, match="project 'tester/none' not found"):
        backend.list_runs(E, "none", "", None, 50)


# ---------------------------------------------------------------- the gate


@pytest.fixture
def server_store(tmp_path: Path) -> Iterator[Store]:
    """A store with users: ``owner`` (member of team ``lab``), ``viewer`` (viewer of it) and
    ``outsider``, and one run ``lab/proj/r`` with history."""
    store = open_store(Settings.load({"cairn_dir": tmp_path / "s", "entity": E}))
    try:
        for user in ("owner", "viewer", "outsider"):
            create_user(store, LOCAL, user)
        create_team(store, LOCAL, "lab", "owner")
        set_member(store, LOCAL, "lab", "viewer", "viewer")
        runs.create_run(store, LOCAL, "lab", P, "r", None, None, {"lr": 1})
        history.log_history(store, LOCAL, "lab", P, "r", 0, {"loss": 1.0})
        yield store
    finally:
        store.close()


def _caller(store: Store, user: str) -> Caller:
    return authenticate(store, create_key(store, LOCAL, user).api_key)


def test_outsiders_see_no_run_and_viewers_change_none(server_store: Store) -> None:
    store = server_store
    outsider, viewer = _caller(store, "outsider"), _caller(store, "viewer")
    edit = RunEdit(config={"lr": 2}, summary={"x": 1})
    with pytest.raises(NotFoundError):
        runs.list_runs(store, outsider, "lab", P, "", None, 50)
    with pytest.raises(NotFoundError):
        history.read_history(store, outsider, "lab", P, "r", HistoryQuery(samples=5))
    with pytest.raises(NotFoundError):
        runs.edit_run(store, outsider, "lab", P, "r", edit)
    assert [i.id for i in runs.list_runs(store, viewer, "lab", P, "", None, 50).items] == ["r"]
    assert history.read_history(store, viewer, "lab", P, "r")[0]["loss"] == 1.0
    with pytest.raises(AuthorizationError):
        runs.edit_run(store, viewer, "lab", P, "r", edit)
    with pytest.raises(AuthorizationError):
        history.log_history(store, viewer, "lab", P, "r", 1, {"loss": 0.0})
    info = runs.get_run(store, LOCAL, "lab", P, "r")
    assert (info.config, info.summary, info.last_step) == ({"lr": 1}, {"loss": 1.0, "_step": 0}, 0)
