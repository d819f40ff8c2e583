"""What resuming and rewinding a run read and change in the service: the history's length
and tail, a rewind that cuts the history back and remakes the summary, and who created a
run and its group; each behind the gate (an outsider sees nothing, a viewer changes none)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cairn.errors import AuthorizationError, NotFoundError
from cairn.service import history, rewind, runs
from cairn.service.accounts import authenticate, create_key, create_team, create_user, set_member
from cairn.service.caller import LOCAL, Caller
from cairn.service.resources import Store, open_store
from cairn.settings import Settings

P = "proj"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """``owner`` (member of team ``lab``), ``viewer`` (its viewer), ``outsider``; run
    ``lab/proj/r`` made by ``owner`` with rows at steps 0..14 (``x`` = step)."""
    opened = open_store(Settings.load({"cairn_dir": tmp_path / "s", "entity": "tester"}))
    try:
        for user in ("owner", "viewer", "outsider"):
            create_user(opened, LOCAL, user)
        create_team(opened, LOCAL, "lab", "owner")
        set_member(opened, LOCAL, "lab", "viewer", "viewer")
        owner = _caller(opened, "owner")
        runs.create_run(opened, owner, "lab", P, "r", None, "train", {}, group="sweep-1")
        for step in range(15):
            history.log_history(opened, owner, "lab", P, "r", step, {"x": step, f"k{step % 2}": 1})
        yield opened
    finally:
        opened.close()


def _caller(store: Store, user: str) -> Caller:
    return authenticate(store, create_key(store, LOCAL, user).api_key)


def test_length_and_tail_of_the_history(store: Store) -> None:
    assert history.row_count(store, LOCAL, "lab", P, "r") == 15
    tail = history.tail(store, LOCAL, "lab", P, "r", 10)
    assert [row["_step"] for row in tail] == list(range(5, 15))
    assert tail[-1] == {"_step": 14, "x": 14, "k0": 1}
    with pytest.raises(ValueError, match="at least 1"):
        history.tail(store, LOCAL, "lab", P, "r", 0)
    outsider = _caller(store, "outsider")
    with pytest.raises(NotFoundError):
        history.row_count(store, outsider, "lab", P, "r")
    with pytest.raises(NotFoundError):
        history.tail(store, outsider, "lab", P, "r", 3)


def test_rewind_cuts_the_history_back_and_remakes_the_summary(store: Store) -> None:
    owner = _caller(store, "owner")
    rewound = rewind.rewind_run(store, owner, "lab", P, "r", "_step", 2.0)
    assert rewound.last_step == 2
    assert rewound.summary == {"x": 2, "k0": 1, "k1": 1, "_step": 2}
    assert [row["_step"] for row in history.read_history(store, owner, "lab", P, "r")] == [0, 1, 2]
    # logging goes on after the step rewound to
    assert history.log_history(store, owner, "lab", P, "r", None, {"x": 100}) == 3
    assert runs.get_run(store, owner, "lab", P, "r").summary["x"] == 100


def test_a_rewind_is_refused_before_anything_changes(store: Store) -> None:
    owner, viewer = _caller(store, "owner"), _caller(store, "viewer")
    for metric, value in (("loss", 2.0), ("_step", -1.0), ("_step", 2.5), ("_step", float("nan"))):
        with pytest.raises(ValueError):
            rewind.rewind_run(store, owner, "lab", P, "r", metric, value)
    with pytest.raises(AuthorizationError):
        rewind.rewind_run(store, viewer, "lab", P, "r", "_step", 1.0)
    with pytest.raises(NotFoundError):
        rewind.rewind_run(store, _caller(store, "outsider"), "lab", P, "r", "_step", 1.0)
    assert history.row_count(store, owner, "lab", P, "r") == 15
    assert runs.get_run(store, owner, "lab", P, "r").last_step == 14


def test_a_run_records_who_made_it_and_its_group(store: Store) -> None:
    made = runs.get_run(store, LOCAL, "lab", P, "r")
    assert (made.created_by, made.group, made.job_type) == ("owner", "sweep-1", "train")
    assert made.project_internal_id is not None
    # resumed by another member: still the owner's run; a new group replaces the old one
    set_member(store, LOCAL, "lab", "viewer", "member")
    resumed = runs.create_run(store, _caller(store, "viewer"), "lab", P, "r", None, None, {})
    assert (resumed.created_by, resumed.group) == ("owner", "sweep-1")
    regrouped = runs.create_run(store, LOCAL, "lab", P, "r", None, None, {}, group="sweep-2")
    assert (regrouped.created_by, regrouped.group) == ("owner", "sweep-2")
    local = runs.create_run(store, LOCAL, "lab", P, "local-run", None, None, {})
    assert local.created_by is None  # the embedded store's one user has no name
    with pytest.raises(ValueError, match="group"):
        runs.create_run(store, LOCAL, "lab", P, "bad", None, None, {}, group="a\x00b")
    with pytest.raises(NotFoundError):
        runs.get_run(store, LOCAL, "lab", P, "bad")
