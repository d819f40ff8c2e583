"""The fields of a ``Run`` that the client reads from its history, summary and config: what
``api.run(...)``, ``run.history()`` and ``run.summary`` show, and what a resuming client
goes on from (``historyTail``, ``historyLineCount``, ``summaryMetrics``, ``wandbConfig``).

Each field is resolved only when selected, through a ``cairn.service`` call made for the
request's caller. Values are given back as the client logged them (``NaN`` and the
infinities as floats again, ``core.run_values``).
"""

from __future__ import annotations

import json
from collections import Counter
from typing import TYPE_CHECKING, Any

from cairn.core.metadata import loads_json
from cairn.core.run_values import from_stored
from cairn.protocol import HistoryQuery, RunInfo
from cairn.server.wandb_compat.context import Ctx, Info, or_none
from cairn.service import history
from cairn.service.fields import bounded

if TYPE_CHECKING:
    from collections.abc import Callable

WANDB_KEY = "_wandb"  # the client's own entry of a run's config
DEFAULT_SAMPLES = 500  # the client's own default for history(samples=...)
TAIL_ROWS = 10  # rows of historyTail: a resumed run goes on after the last one
MAX_SPECS = 10  # sampledHistory specs in one request


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "nil"
    return "map" if isinstance(value, dict) else "list"


def _spec(text: str, max_depth: int) -> HistoryQuery:
    """One ``sampledHistory`` spec (``{"keys": [...], "samples": n}``) as a query.

    Raises: ValueError (not such an object).
    """
    spec = loads_json(text, max_depth, "sampledHistory spec")
    keys = spec.get("keys") if isinstance(spec, dict) else None
    samples = spec.get("samples", DEFAULT_SAMPLES) if isinstance(spec, dict) else None
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise ValueError('a sampledHistory spec names its keys: {"keys": [...]}')
    if not isinstance(samples, int) or isinstance(samples, bool) or samples < 1:
        raise ValueError("a sampledHistory spec's samples is a whole number >= 1")
    return HistoryQuery(keys=keys, samples=samples)


def history_fields(ctx: Ctx, run: RunInfo) -> dict[str, Callable[..., Any]]:
    """The ``Run`` fields read from the run's history, summary and config."""
    store, caller = ctx.store, ctx.caller
    e, p, r = run.entity, run.project, run.id
    depth = ctx.state.config.limits.max_metadata_depth

    def read(query: HistoryQuery) -> list[dict[str, Any]]:
        rows = or_none(lambda: history.read_history(store, caller, e, p, r, query)) or []
        return [from_stored(row) for row in rows]

    def full(
        _info: Info,
        samples: int | None = None,
        minStep: int | None = None,
        maxStep: int | None = None,
    ) -> list[str]:
        query = HistoryQuery(
            min_step=max(minStep or 0, 0),
            max_step=maxStep,
            samples=samples if samples and samples > 0 else DEFAULT_SAMPLES,
        )
        return [json.dumps(row) for row in read(query)]

    def sampled(_info: Info, specs: list[str]) -> list[list[dict[str, Any]]]:
        return [read(_spec(s, depth)) for s in bounded(specs, MAX_SPECS, "history specs")]

    def keys(_info: Info) -> dict[str, Any]:
        counts: dict[str, Counter[str]] = {}
        for row in read(HistoryQuery()):
            for key, value in row.items():
                counts.setdefault(key, Counter())[_json_type(value)] += 1
        described = {
            key: {"typeCounts": [{"type": t, "count": n} for t, n in sorted(found.items())]}
            for key, found in counts.items()
        }
        last = -1 if run.last_step is None else run.last_step
        return {"keys": described, "lastStep": last}

    def tail(_info: Info) -> str:
        rows = or_none(lambda: history.tail(store, caller, e, p, r, TAIL_ROWS)) or []
        return json.dumps([json.dumps(from_stored(row)) for row in rows])

    def wandb_config(_info: Info, keys: list[str] | None = None) -> str:
        own = run.config.get(WANDB_KEY)
        own = own if isinstance(own, dict) else {}
        wanted = own if keys is None else {k: own[k] for k in keys if k in own}
        return json.dumps(wanted)

    return {
        "history": full,
        "sampledHistory": sampled,
        "historyKeys": keys,
        "historyTail": tail,
        "historyLineCount": lambda _info: (
            or_none(lambda: history.row_count(store, caller, e, p, r)) or 0
        ),
        "summaryMetrics": lambda _info: json.dumps(from_stored(run.summary)),
        "wandbConfig": wandb_config,
    }
