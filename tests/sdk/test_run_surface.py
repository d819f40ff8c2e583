"""W&B's run surface through the SDK, on every backend: ``config``, ``log`` with steps and
``commit``, ``summary``, ``define_metric``, the module-level names, resuming, and a disabled
run. Expected values are what wandb 0.31.0 gives for the same calls (run offline as an
oracle; ``tests/compat/test_run_semantics.py`` compares the two directly)."""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import enum
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import cairn
from cairn.errors import ConfigError, Error, UsageError
from cairn.protocol import Backend
from cairn.sdk.run import current_run

TIMING = ("_runtime", "_timestamp")


@pytest.fixture(autouse=True)
def _no_leftover_run(cairn_dir: Path) -> Iterator[None]:
    assert current_run() is None
    yield
    cairn.finish()


def _rows(run: cairn.Run) -> list[dict[str, Any]]:
    """The run's stored history rows without wandb's timing keys."""
    rows = cairn.Api().run(run.path).history(pandas=False)
    return [{k: v for k, v in row.items() if k not in TIMING} for row in rows]


def _stored(backend: Backend, run: cairn.Run) -> Any:
    return backend.get_run(run.entity, run.project, run.id)


# ---------------------------------------------------------------- config


def test_config_reads_and_writes_as_wandbs(backend: Backend) -> None:
    run = cairn.init(project="p", config={"a": 1, "_p": 2, "--lr": 0.1})
    config = cairn.config
    assert config is run.config
    assert dict(config) == {"a": 1, "lr": 0.1}  # "-" stripped, "_" keys left out
    assert (config.keys(), config.items()) == (["a", "lr"], [("a", 1), ("lr", 0.1)])
    assert list(config) == ["a", "_p", "lr"]  # iteration shows them all, as wandb's
    assert config.as_dict() == {"a": 1, "lr": 0.1} and repr(config) == "{'a': 1, 'lr': 0.1}"
    assert (config.a, config["_p"], config.get("zz", 5), "a" in config) == (1, 2, 5, True)
    with pytest.raises(ConfigError, match='change value of key "a" from 1 to 2'):
        config.a = 2
    assert isinstance(ConfigError("x"), Error)
    config.a = 1  # the same value is no change
    config.update({"a": 3}, allow_val_change=True)
    config.update(argparse.Namespace(ns=1))
    config.update(
        {"p": Path("/x"), "d": datetime.date(2020, 1, 2), "n": math.nan, "t": (1, 2), "s": {3}}
    )
    expected = {
        "a": 3, "lr": 0.1, "ns": 1, "p": "/x", "d": "2020-01-02", "n": None, "t": [1, 2],
        "s": [3],
    }  # fmt: skip
    assert config.as_dict() == expected  # wandb 0.31 gives exactly this
    assert _stored(backend, run).config == {**expected, "_p": 2}  # stored as it changes
    with pytest.raises(AttributeError, match="has no attribute 'zz'"):
        _ = config.zz
    with pytest.raises(KeyError):
        config["zz"]
    with pytest.raises(TypeError):
        len(config)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="WBValue objects cannot be added to the run config"):
        config.update({"table": cairn.Table(columns=["a"])})
    assert "table" not in config
    run.finish()
    assert dict(run.config) == {k: v for k, v in expected.items()}  # still readable
    with pytest.raises(UsageError, match=r"is finished\. The call to `_config_callback`"):
        run.config.update({"late": 1})
    assert "late" not in run.config
    assert cairn.Api().run(run.path).config == {**expected, "_p": 2}


def test_no_run_means_placeholders_that_refuse_every_use(backend: Backend) -> None:
    for use, name in [
        (lambda: cairn.config["a"], "wandb.config['a']"),
        (lambda: cairn.config.a, "wandb.config.a"),
        (lambda: cairn.config.update({}), "wandb.config.update"),
        (lambda: cairn.summary["x"], "wandb.summary['x']"),
        (lambda: cairn.log({"a": 1}), "wandb.log()"),
        (lambda: cairn.define_metric("x"), "wandb.define_metric()"),
        (lambda: cairn.log_model("m"), "wandb.log_model()"),
    ]:
        with pytest.raises(
            Error, match="^" + re.escape(f"You must call wandb.init() before {name}")
        ):
            use()
    with cairn.init(project="p") as run:
        assert cairn.config is run.config and cairn.summary is run.summary
    with pytest.raises(UsageError):
        cairn.config["a"]


# ---------------------------------------------------------------- log


def test_steps_commit_and_lower_steps_as_wandb(backend: Backend) -> None:
    run = cairn.init(project="p")
    assert run.step == 0
    run.log({"x": 1})
    run.log({"x": 2, "y": 5})
    run.log({"z": 1}, commit=False)
    run.log({"x": 3})
    run.log({"x": 4}, step=10)  # a later step: not written until something commits it
    assert run.step == 10
    run.log({"y": 7}, step=10)
    with pytest.warns(UserWarning, match="step 3 that is less than the current step 10"):
        run.log({"x": 5}, step=3)
    run.log({"x": 6})  # commits step 10 (x=4 overwritten)
    run.log({"x": 7}, step=20, commit=True)
    run.log({"x": 8}, commit=False)
    run.log({"q": 8}, step=25)  # writes step 21 first
    run.log({"w": 1}, step=25, commit=False)
    run.summary["best"] = 0.9
    summary = {k: run.summary[k] for k in run.summary if k not in TIMING}
    assert summary == {"x": 8, "y": 7, "z": 1, "_step": 21, "best": 0.9}
    assert run.step == 25
    run.finish()  # writes the row being filled
    assert _rows(run) == [
        {"_step": 0, "x": 1},
        {"_step": 1, "x": 2, "y": 5},
        {"_step": 2, "z": 1, "x": 3},
        {"_step": 10, "x": 6, "y": 7},
        {"_step": 20, "x": 7},
        {"_step": 21, "x": 8},
        {"_step": 25, "q": 8, "w": 1},
    ]
    stored = cairn.Api().run(run.path)
    assert stored.lastHistoryStep == 25
    assert {k: stored.summary[k] for k in ("_step", "q", "w", "x", "best")} == {
        "_step": 25, "q": 8, "w": 1, "x": 8, "best": 0.9
    }  # fmt: skip
    rows = stored.history(pandas=False)
    assert all(isinstance(row["_timestamp"], float) for row in rows)
    assert all(0 <= row["_runtime"] < 600 for row in rows)


class Color(enum.Enum):
    RED = 1


@dataclasses.dataclass
class Point:
    x: int


def test_logged_values_convert_as_wandb(backend: Backend) -> None:
    big = np.arange(100, dtype=np.float32)
    with cairn.init(project="p") as run:
        with pytest.warns(UserWarning, match="Image values cannot be logged to run history"):
            run.log(
                {
                    "f32": np.float32(0.5),
                    "i64": np.int64(3),
                    "small": np.array([1, 2]),
                    "big": big,
                    "when": datetime.datetime(2024, 1, 2, 3, 4, 5),
                    "color": Color.RED,
                    "point": Point(1),
                    "nested": {"a": np.float64(1.5), "b": [math.inf]},
                    "nan": math.nan,
                    "img": cairn.Image(np.zeros((2, 2, 3), dtype=np.uint8)),
                }
            )
        with pytest.raises(TypeError, match="not JSON serializable"):
            run.log({"o": object()})
        with pytest.raises(TypeError, match=r"Key values passed to `wandb\.log` must be strings"):
            run.log({1: 2})  # type: ignore[dict-item]
        with pytest.raises(TypeError, match=r"wandb\.log must be passed a dictionary"):
            run.log([1])  # type: ignore[arg-type]
    (row,) = _rows(run)
    histogram = row.pop("big")
    counts, bins = np.histogram(big, bins=32)
    assert histogram == {"_type": "histogram", "values": counts.tolist(), "bins": bins.tolist()}
    assert math.isnan(row.pop("nan"))
    assert row == {
        "_step": 0,
        "f32": 0.5,
        "i64": 3,
        "small": [1, 2],
        "when": "2024-01-02T03:04:05",
        "color": "RED",
        "point": {"x": 1},
        "nested": {"a": 1.5, "b": [math.inf]},
    }
    assert math.isnan(cairn.Api().run(run.path).summary["nan"])


# ---------------------------------------------------------------- summary


def test_summary_is_the_last_value_unless_set(backend: Backend) -> None:
    run = cairn.init(project="p")
    run.log({"acc": 0.5, "loss": 2.0})
    run.log({"acc": 0.7})
    summary = cairn.summary
    assert (summary["acc"], summary.acc, summary.get("loss"), summary["_step"]) == (
        0.7, 0.7, 2.0, 1
    )  # fmt: skip
    assert set(summary.keys()) == {"acc", "loss", "_step", "_runtime", "_timestamp"}
    summary["best"] = 0.9
    summary.update({"n": {"a": {"b": 1}}, "t": (1, 2)})
    summary["n"]["a"]["c"] = 2  # a nested change keeps its siblings
    del summary["loss"]
    with pytest.raises(KeyError):
        summary["loss"]
    assert (summary["n"]["a"]["b"], summary.n.a.c, summary["t"]) == (1, 2, [1, 2])
    assert ("best" in summary, "loss" in summary, len(summary)) == (True, False, 7)
    run.log({"best": 0.1})  # a logged value replaces a set one, as in wandb
    assert summary["best"] == 0.1
    run.finish()
    assert run.summary["acc"] == 0.7  # still readable from the store
    with pytest.raises(UsageError, match="`_summary_update_callback`"):
        run.summary["late"] = 1
    stored = cairn.Api().run(run.path).summary
    assert {k: stored[k] for k in ("acc", "best", "t")} == {"acc": 0.7, "best": 0.1, "t": [1, 2]}
    assert dict(stored["n"]["a"]) == {"b": 1, "c": 2} and "loss" not in stored


# ---------------------------------------------------------------- resume, define_metric, disabled


def test_a_resumed_run_continues_after_its_last_step(backend: Backend) -> None:
    with cairn.init(project="p", id="resume01", config={"a": 1}) as first:
        assert (first.starting_step, first.resumed) == (0, False)
        for i in range(3):
            first.log({"i": i})
    with cairn.init(project="p", id="resume01", config={"b": 2}) as again:
        assert (again.step, again.starting_step, again.resumed) == (3, 3, True)
        assert dict(again.config) == {"b": 2, "a": 1}
        assert again.summary["i"] == 2
        again.log({"i": 3})
    assert [row["_step"] for row in _rows(again)] == [0, 1, 2, 3]


def test_define_metric_is_checked_and_returned(backend: Backend) -> None:
    with cairn.init(project="p") as run:
        metric = cairn.define_metric("loss", summary="min,last")
        assert (metric.name, metric.summary, metric.step_metric, metric.step_sync) == (
            "loss", ("min", "last"), None, False
        )  # fmt: skip
        by_step = run.define_metric("val/*", step_metric=run.define_metric("epoch"))
        assert (by_step.step_metric, by_step.step_sync) == ("epoch", True)
        for bad, message in [
            ({"name": ""}, "requires non-empty name"),
            ({"name": "a*b"}, "glob suffixes only"),
            ({"name": "x", "summary": "median"}, "summary op: median"),
            ({"name": "x", "hidden": "yes"}, "arg: hidden type: str"),
        ]:
            with pytest.raises(Error, match=message):
                run.define_metric(**bad)  # type: ignore[arg-type]
        run.log({"loss": 3})
        run.log({"loss": 1})
        run.log({"loss": 2})
        assert run.summary["loss"] == 2  # not acted on: the summary stays the last value


def test_a_disabled_run_keeps_everything_in_memory(backend: Backend) -> None:
    with cairn.init(project="p", mode="disabled", config={"a": 1}) as run:
        run.config.b = 2
        run.log({"x": 1})
        run.log({"x": 2}, commit=False)
        run.summary["best"] = 3
        assert (dict(run.config), run.step, run.summary["best"]) == ({"a": 1, "b": 2}, 1, 3)
        assert "x" not in run.summary
    with pytest.raises(Error):
        cairn.Api().run(run.path)
