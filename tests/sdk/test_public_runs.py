"""``Api().runs`` and ``Api().run`` on every backend: paging, W&B's orders and filters,
config and summary (and editing them), history as a DataFrame or dicts, sampled, by keys,
scanned by pages, and the extra pandas needs."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import cairn
from cairn.errors import CommError, MissingExtraError
from cairn.protocol import Backend
from cairn.sdk.public_run import Runs


@pytest.fixture
def project(backend: Backend, tmp_path: Path) -> Iterator[list[str]]:
    """Runs ``a`` (finished, lr 0.1, loss 0.5), ``b`` (failed, lr 0.01, loss 0.2) and ``c``
    (running, no loss), created in that order in ``proj``; yields their ids."""
    ids = []
    for name, lr, losses, code in (
        ("alpha", 0.1, [0.9, 0.5], 0),
        ("beta", 0.01, [0.8, 0.2], 1),
        ("gamma", 0.3, [], None),
    ):
        run = cairn.init(project="proj", name=name, config={"lr": lr, "opt": {"name": name}})
        for loss in losses:
            run.log({"loss": loss})
        if code is not None:
            run.finish(exit_code=code)
        ids.append(run.id)
    yield ids
    cairn.finish()


def _ids(runs: Runs) -> list[str]:
    return [run.id for run in runs]


def test_runs_in_order_paged_and_filtered(project: list[str]) -> None:
    a, b, c = project
    api = cairn.Api()
    runs = api.runs("proj", per_page=2)
    assert (len(runs), _ids(runs), runs[2].id, runs[-1].id) == (3, [a, b, c], c, c)
    assert _ids(api.runs(f"{api.default_entity}/proj", order="-created_at")) == [c, b, a]
    assert _ids(api.runs("proj", order="+summary_metrics.loss")) == [b, a, c]
    assert _ids(api.runs("proj", order="-config.lr.value")) == [c, a, b]
    filtered = {
        "state": "finished",
        "config.lr": {"$gte": 0.01},
    }
    assert _ids(api.runs("proj", filters=filtered)) == [a]
    cases: list[tuple[dict[str, object], list[str]]] = [
        ({"summary_metrics.loss": {"$lt": 0.3}}, [b]),
        ({"$or": [{"display_name": "gamma"}, {"name": a}]}, [a, c]),
        ({"display_name": {"$regex": "^[ab]"}}, [a, b]),
        ({"config.opt.name": {"$in": ["beta", "gamma"]}}, [b, c]),
        ({"summary_metrics.loss": {"$exists": False}}, [c]),
        ({"$nor": [{"state": "running"}], "config.lr.value": {"$ne": 0.1}}, [b]),
        ({"tags": "x"}, []),  # not recorded by Cairn: missing on every run
    ]
    for filters, expected in cases:
        found = api.runs("proj", filters=filters, per_page=1)
        assert (_ids(found), len(found)) == (expected, len(expected)), filters
    with pytest.raises(ValueError, match=r"Unknown run filter operator '\$near'"):
        list(api.runs("proj", filters={"lr": {"$near": 1}}))
    with pytest.raises(ValueError, match="Unknown run order"):
        list(api.runs("proj", order="-heartbeat"))
    with pytest.raises(CommError, match="not found"):
        len(api.runs("no-such-project"))


def test_the_store_filters_and_counts_in_one_call(
    project: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b, c = project
    api = cairn.Api()
    backend = api._backend
    calls: list[object] = []
    listed = backend.list_runs

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(args[-1] if len(args) > 5 else kwargs.get("filters"))
        return listed(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(backend, "list_runs", counted)
    runs = api.runs("proj", filters={"config.lr": {"$in": (0.1, 0.3)}}, per_page=1)
    assert len(runs) == 2 and calls == [{"config.lr": {"$in": (0.1, 0.3)}}]
    assert _ids(runs) == [a, c]
    assert _ids(api.runs("proj", filters={"display_name": {"$regex": "(?i)^B|MM"}})) == [b, c]
    assert [r.id for r in api.runs("proj", filters={"state": "finished"}, order="-name")] == [a]


def _nested(levels: int) -> dict[str, object]:
    """``{"$and": [{"$and": [... {} ...]}]}``, ``levels`` dicts and lists deep."""
    filters: dict[str, object] = {}
    for _ in range(levels // 2):
        filters = {"$and": [filters]}
    return filters


def _itself() -> dict[str, object]:
    """A filter that contains itself."""
    filters: dict[str, object] = {}
    filters["$or"] = [filters]
    return filters


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"$or": {"state": "finished"}}, r"\$or needs a list of filters"),
        ({"state": {"$in": "finished"}}, r"\$in needs a list"),
        ({"state": {"finished"}}, "A run filter holds JSON values, not set"),
        ({"state": {"$in": [{1: "x"}]}}, "A run filter's keys are strings"),
        (_nested(200), "A run filter nests at most 100 levels"),
        (_itself(), "A run filter nests at most 100 levels"),
        ({"display_name": {"$regex": r"(a)\1"}}, r"Invalid \$regex .*: invalid escape"),
        ({"display_name": {"$regex": "a" * 1001}}, "at most 1000 characters"),
    ],
)
def test_filters_the_store_refuses(project: list[str], filters: object, message: str) -> None:
    """Refused alike by every backend (a remote client refuses what it cannot send as the
    embedded store would; the server refuses the rest)."""
    pytest.importorskip("re2")  # the embedded store's syntax is RE2's when it is installed
    with pytest.raises(ValueError, match=message):
        len(cairn.Api().runs("proj", filters=filters))  # type: ignore[arg-type]


def test_a_run_s_config_summary_and_artifacts(project: list[str], tmp_path: Path) -> None:
    a, _, c = project
    api = cairn.Api()
    run = api.run(f"proj/{a}")
    assert (run.id, run.name, run.display_name, run.state) == (a, "alpha", "alpha", "finished")
    assert run.config == {"lr": 0.1, "opt": {"name": "alpha"}}
    assert (run.summary["loss"], run.summary["_step"], run.lastHistoryStep) == (0.5, 1, 1)
    assert run.summary_metrics["loss"] == 0.5
    assert api.run(f"proj/{c}").lastHistoryStep == -1
    run.summary["best"] = 0.9  # kept until update(), as in W&B's public API
    assert "best" not in api.run(f"proj/{a}").summary
    run.summary.update({"note": "ok"})
    run.config["batch"] = 8
    del run.config["opt"]
    run.update()
    again = api.run(f"proj/{a}")
    assert {k: again.summary[k] for k in ("best", "note", "loss")} == {
        "best": 0.9,
        "note": "ok",
        "loss": 0.5,
    }
    assert again.config == {"lr": 0.1, "batch": 8}
    source = tmp_path / "f.txt"
    source.write_text("data")
    live = cairn.run  # gamma, still running
    assert live is not None and live.id == c
    logged = live.log_artifact(str(source), type="dataset")
    live.use_artifact(logged)
    fetched = api.run(f"proj/{c}")
    assert [v.id for v in fetched.logged_artifacts()] == [logged.id]
    assert [v.id for v in fetched.used_artifacts()] == [logged.id]


def test_history_as_wandb_returns_it(backend: Backend) -> None:
    with cairn.init(project="proj") as live:
        for step in range(10):
            live.log({"loss": 10 - step, "epoch": step // 2} if step % 3 else {"acc": step})
    run = cairn.Api().run(live.path)
    frame = run.history()
    assert list(frame["_step"]) == list(range(10))
    assert {"_step", "_runtime", "_timestamp", "loss", "epoch", "acc"} == set(frame.columns)
    assert list(frame["acc"].dropna()) == [0, 3, 6, 9]
    sampled = run.history(samples=4, pandas=False)
    assert [row["_step"] for row in sampled] == [0, 3, 6, 9]
    by_keys = run.history(keys=["loss"], pandas=False)
    assert by_keys == [{"_step": s, "loss": 10 - s} for s in (1, 2, 4, 5, 7, 8)]
    by_epoch = run.history(keys=["loss"], x_axis="epoch", pandas=False)
    assert by_epoch[0] == {"epoch": 0, "loss": 9}
    assert list(run.history(keys=["loss"])["loss"]) == [9, 8, 6, 5, 3, 2]
    scanned = list(run.scan_history(keys=["acc"], page_size=2))
    assert scanned == [{"_step": s, "acc": s} for s in (0, 3, 6, 9)]
    assert [row["_step"] for row in run.scan_history(page_size=3, min_step=4, max_step=8)] == [
        4,
        5,
        6,
        7,
    ]
    assert run.history(stream="system", pandas=False) == []
    with pytest.raises(ValueError, match="keys must be specified in a list"):
        run.history(keys="loss")  # type: ignore[arg-type]


def test_history_without_pandas_names_the_extra(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    with cairn.init(project="proj") as live:
        live.log({"x": 1})
    run = cairn.Api().run(live.path)
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now fails
    with pytest.raises(MissingExtraError, match=r"pip install 'cairn\[media\]'") as raised:
        run.history()
    assert isinstance(raised.value, ImportError) and "\n" not in str(raised.value)
    assert run.history(pandas=False)[0]["x"] == 1
