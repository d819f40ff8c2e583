"""One run's config, log and summary calls, made through ``wandb`` (offline) or through
``cairn`` (``import cairn as wandb``), printing what came of them as ``RESULT <json>``:
``run.step`` after each call, the history rows written, and the final summary and
config. ``test_run_semantics.py`` runs it both ways and compares.

Usage: ``python run_semantics.py wandb|cairn``. wandb writes offline to ``$WANDB_DIR``; its
rows are read back from the run's ``.wandb`` transaction log (the LevelDB log format its
core writes), cairn's through ``Api().run(path).history()``.
"""

from __future__ import annotations

import glob
import importlib
import json
import math
import os
import struct
import sys
import warnings
from typing import Any

TIMING = ("_runtime", "_timestamp", "_wandb")


def _records(path: str) -> Any:
    """The records of a wandb transaction log (7-byte header, 32 KiB blocks, chunks)."""
    with open(path, "rb") as log:
        data = log.read()
    pos, pending = 7, b""
    while pos < len(data):
        left = 32768 - pos % 32768
        if left < 7:
            pos += left
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos : pos + 7])
        chunk = data[pos + 7 : pos + 7 + length]
        pos += 7 + length
        if kind == 1:
            yield chunk
        elif kind == 2:
            pending = chunk
        elif kind == 3:
            pending += chunk
        elif kind == 4:
            yield pending + chunk


def _row(items: Any) -> dict[str, Any]:
    """A history record's items as a row. wandb 0.31's core splits a logged dict into one
    item per leaf (``nested_key``); they are put back together, as the core's JSON of the
    row has them."""
    row: dict[str, Any] = {}
    for item in items:
        path = list(item.nested_key) or [item.key]
        place = row
        for part in path[:-1]:
            place = place.setdefault(part, {})
        place[path[-1]] = json.loads(item.value_json)
    return row


def _wandb_rows() -> list[dict[str, Any]]:
    from wandb.proto import wandb_internal_pb2 as pb

    (path,) = glob.glob(os.path.join(os.environ["WANDB_DIR"], "wandb", "offline-run-*", "*.wandb"))
    rows = []
    for raw in _records(path):
        record = pb.Record()
        record.ParseFromString(raw)
        if record.WhichOneof("record_type") == "history":
            rows.append(_row(record.history.item))
    return rows


def _value(value: Any) -> Any:
    """NaN as the text "nan" (JSON has no NaN), a nested summary as a dict."""
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if hasattr(value, "keys") and not isinstance(value, dict):
        return {key: _value(value[key]) for key in value.keys()}  # noqa: SIM118 (no iter)
    return value


def _plain(values: Any) -> dict[str, Any]:
    """Values without wandb's timing keys (they differ from run to run)."""
    keys = values.keys()  # wandb's summary cannot be iterated
    return {key: _value(values[key]) for key in keys if key not in TIMING}


def main(name: str) -> None:
    wandb = importlib.import_module(name)
    steps = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the dropped step: wandb prints, Cairn warns
        run = wandb.init(project="semantics", config={"lr": 0.1, "--batch": 8, "_hidden": 1})
        wandb.config.update({"epochs": 3, "path": os.path.sep, "tags": ("a", "b")})
        wandb.config.layers = [64, 32]
        calls: list[tuple[dict[str, Any], dict[str, Any]]] = [
            ({"loss": 1.0}, {}),
            ({"loss": 0.8, "acc": 0.5}, {}),
            ({"extra": 1}, {"commit": False}),
            ({"loss": 0.7}, {}),
            ({"loss": 0.6}, {"step": 10}),
            ({"acc": 0.7}, {"step": 10}),
            ({"loss": 9.9}, {"step": 4}),  # below the current step: dropped with a warning
            ({"loss": 0.5}, {}),
            ({"loss": 0.4, "nan": float("nan")}, {"step": 20, "commit": True}),
            ({"partial": 1}, {"commit": False}),
            ({"loss": 0.3}, {"step": 30}),
            ({"acc": 0.9}, {"step": 30, "commit": False}),
            ({"nested": {"a": 1, "b": [1, 2]}}, {}),
        ]
        for data, kwargs in calls:
            wandb.log(data, **kwargs)
            steps.append(run.step)
        wandb.summary["best"] = 0.95
        wandb.summary.update({"final": "done"})
        del wandb.summary["extra"]
        summary = _plain(wandb.summary)
        config = dict(wandb.config)
        path = f"{run.entity}/{run.project}/{run.id}"
        run.finish()
    if name == "wandb":
        wandb.teardown()  # the core has written every record of the run once it stops
        rows = _wandb_rows()
    else:
        rows = wandb.Api().run(path).history(pandas=False)
    result = {
        "steps": steps,
        "rows": [_plain(row) for row in rows],
        "summary": summary,
        "config": config,
    }
    print("RESULT " + json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main(sys.argv[1])
