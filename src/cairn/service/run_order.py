"""The orders ``Api().runs(path, order=...)`` accepts, as W&B names them.

``[+|-]<key>``: ``+`` (or no sign) ascending, ``-`` descending; W&B's default is
``+created_at``. Keys are columns of a run (``created_at``, ``name`` = the run id,
``display_name``, ``state``, ``job_type``, in W&B's snake or camel case) or a value of its
config or summary (``config.<key>``, W&B's ``config.<key>.value``, ``summary_metrics.<key>``;
a dotted key walks into nested dicts). Runs that lack the value come last either way;
numbers sort before strings, strings before other values, and ties keep the order of
creation.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import TYPE_CHECKING, Any

from cairn.core.run_filters import MISSING, VALUE_PREFIXES, value_at
from cairn.core.run_values import from_stored
from cairn.db.models import Run

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.orm import InstrumentedAttribute

_COLUMNS: dict[str, InstrumentedAttribute[Any]] = {
    "created_at": Run.created_at,
    "createdAt": Run.created_at,
    "name": Run.run_id,
    "display_name": Run.name,
    "displayName": Run.name,
    "state": Run.state,
    "job_type": Run.job_type,
    "jobType": Run.job_type,
}


@dataclasses.dataclass(frozen=True)
class Order:
    """A parsed order: a column (``column``) or a config/summary path (``source``, ``path``)."""

    descending: bool
    column: InstrumentedAttribute[Any] | None
    source: str = ""
    path: str = ""


def parse_order(order: str) -> Order:
    """The order ``order`` names (empty: ``+created_at``).

    Raises: ValueError for a key that is not one of the module doc's.
    """
    text = (order or "+created_at").strip()
    descending = text.startswith("-")
    key = text[1:] if text[:1] in "+-" else text
    column = _COLUMNS.get(key)
    if column is not None:
        return Order(descending, column)
    for prefix, source in VALUE_PREFIXES.items():
        if key.startswith(prefix) and len(key) > len(prefix):
            return Order(descending, None, source, key[len(prefix) :])
    raise ValueError(
        f"Unknown run order {order!r}: expected [+|-] and created_at, name, display_name, "
        "state, job_type, config.<key> or summary_metrics.<key>"
    )


def _rank(value: Any) -> tuple[int, Any]:
    if isinstance(value, bool):
        return (0, int(value))
    if isinstance(value, int | float):
        return (0, value)
    if isinstance(value, str):
        return (1, value)
    return (2, json.dumps(value, sort_keys=True))


def sort_runs(runs: Sequence[Run], order: Order) -> list[Run]:
    """``runs`` (in order of creation) sorted by a config or summary value (see module doc)."""
    present: list[tuple[tuple[int, Any], Run]] = []
    missing: list[Run] = []
    for run in runs:
        values = run.config if order.source == "config" else run.summary
        value = from_stored(value_at(values or {}, order.path, order.source))
        if value is MISSING or value is None or (isinstance(value, float) and math.isnan(value)):
            missing.append(run)
        else:
            present.append((_rank(value), run))
    present.sort(key=lambda item: item[0], reverse=order.descending)  # stable: ties stay
    return [run for _, run in present] + missing
