"""The filters of ``Api().runs(path, filters=...)``: W&B's MongoDB-style queries over runs.

A filter is a dict of conditions that must all hold. A condition is ``field: value``
(equal; a list value holds when one element is equal), ``field: {"$op": operand, ...}``, or
``"$and"``/``"$or"``/``"$nor"`` with a list of filters. Operators: ``$eq``, ``$ne``,
``$gt``, ``$gte``, ``$lt``, ``$lte`` (numbers with numbers, strings with strings), ``$in``,
``$nin``, ``$exists``, ``$regex`` (Python ``re.search`` on strings; W&B uses RE2, whose
syntax is mostly the same).

Fields, as W&B names them: ``name`` (the run id), ``display_name``/``displayName``,
``state``, ``jobType``/``job_type``, ``createdAt``/``created_at`` (ISO 8601 text),
``entity``, ``project``, ``config.<key>`` (W&B's ``config.<key>.value`` too) and
``summary_metrics.<key>``; a dotted key walks into nested dicts. Fields Cairn does not
record (``tags``, ``group``, ``host``, ``username``, ``duration``) are missing on every run.

Filters are applied by the SDK to the pages the store returns, so the server never runs a
caller's regular expression.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

from cairn.core.run_values import from_stored
from cairn.protocol import RunInfo

_MISSING = object()
_COLUMNS: dict[str, Callable[[RunInfo], Any]] = {
    "name": lambda run: run.id,
    "display_name": lambda run: run.name,
    "displayName": lambda run: run.name,
    "state": lambda run: run.state,
    "jobType": lambda run: run.job_type,
    "job_type": lambda run: run.job_type,
    "createdAt": lambda run: run.created_at,
    "created_at": lambda run: run.created_at,
    "entity": lambda run: run.entity,
    "project": lambda run: run.project,
}
_ORDER: dict[str, Callable[[Any, Any], Any]] = {
    "$gt": operator.gt,
    "$gte": operator.ge,
    "$lt": operator.lt,
    "$lte": operator.le,
}
_VALUES = {"config.": "config", "summary_metrics.": "summary", "summaryMetrics.": "summary"}


def _walk(values: Any, path: str) -> Any:
    if isinstance(values, dict) and path in values:
        return values[path]
    for part in path.split("."):
        if not isinstance(values, dict) or part not in values:
            return _MISSING
        values = values[part]
    return values


def field_value(run: RunInfo, field: str) -> Any:
    """The value of ``field`` on ``run`` (see module doc), or a marker for missing."""
    column = _COLUMNS.get(field)
    if column is not None:
        return column(run)
    for prefix, source in _VALUES.items():
        if field.startswith(prefix):
            path = field[len(prefix) :]
            values = run.config if source == "config" else run.summary
            found = _walk(values, path)
            if found is _MISSING and source == "config" and path.endswith(".value"):
                found = _walk(values, path[: -len(".value")])
            return _MISSING if found is _MISSING else from_stored(found)
    return _MISSING


def _comparable(a: Any, b: Any) -> bool:
    numbers = (int, float)
    if isinstance(a, bool) or isinstance(b, bool):
        return False
    return (isinstance(a, numbers) and isinstance(b, numbers)) or (
        isinstance(a, str) and isinstance(b, str)
    )


def _equal(value: Any, operand: Any) -> bool:
    if isinstance(value, list) and not isinstance(operand, list):
        return operand in value
    return bool(value == operand)


def _operator(op: str, value: Any, operand: Any) -> bool:
    present = value is not _MISSING
    if op == "$eq":
        return present and _equal(value, operand)
    if op == "$ne":
        return not (present and _equal(value, operand))
    compare = _ORDER.get(op)
    if compare is not None:
        return present and _comparable(value, operand) and bool(compare(value, operand))
    if op in ("$in", "$nin"):
        if not isinstance(operand, list):
            raise ValueError(f"{op} needs a list, got {operand!r}")
        inside = present and any(_equal(value, item) for item in operand)
        return inside if op == "$in" else not inside
    if op == "$exists":
        return present == bool(operand)
    if op == "$regex":
        return isinstance(value, str) and re.search(str(operand), value) is not None
    raise ValueError(f"Unknown run filter operator {op!r}")


def _condition(run: RunInfo, field: str, condition: Any) -> bool:
    value = field_value(run, field)
    if (
        isinstance(condition, Mapping)
        and condition
        and all(isinstance(k, str) and k.startswith("$") for k in condition)
    ):
        return all(_operator(op, value, operand) for op, operand in condition.items())
    return value is not _MISSING and _equal(value, condition)


def matches(run: RunInfo, filters: Mapping[str, Any]) -> bool:
    """Whether ``run`` meets every condition of ``filters`` (see module doc).

    Raises: ValueError for an unknown operator or a malformed ``$and``/``$or``/``$nor``.
    """
    for key, condition in filters.items():
        if key in ("$and", "$or", "$nor"):
            if not isinstance(condition, list) or not all(
                isinstance(item, Mapping) for item in condition
            ):
                raise ValueError(f"{key} needs a list of filters")
            results = [matches(run, item) for item in condition]
            ok = {"$and": all(results), "$or": any(results), "$nor": not any(results)}[key]
        elif key.startswith("$"):
            raise ValueError(f"Unknown run filter operator {key!r}")
        else:
            ok = _condition(run, key, condition)
        if not ok:
            return False
    return True
