"""W&B's run filters (``Api().runs(path, filters=...)``): MongoDB-style queries over runs.

A filter is a dict of conditions that must all hold. A condition is ``field: value``
(equal; a list value holds when one element is equal), ``field: {"$op": operand, ...}``, or
``"$and"``/``"$or"``/``"$nor"`` with a list of filters. Operators: ``$eq``, ``$ne``,
``$gt``, ``$gte``, ``$lt``, ``$lte`` (numbers with numbers, strings with strings), ``$in``,
``$nin`` (a list), ``$exists``, ``$regex`` (a pattern, searched for in strings; who
compiles it is the caller's choice: the service uses RE2, as W&B does).

Fields, as W&B names them: ``name`` (the run id), ``display_name``/``displayName``,
``state``, ``jobType``/``job_type``, ``createdAt``/``created_at`` (ISO 8601 text),
``entity``, ``project``, ``group``, ``config.<key>`` (W&B's ``config.<key>.value`` too) and
``summary_metrics.<key>``; a dotted key walks into nested dicts. Fields Cairn does not
record (``tags``, ``host``, ``username``, ``duration``) are missing on every run.

``compile_filter`` checks a whole filter before any run is read and compiles its
patterns once (``check_shape`` is its first check, which a client can make alone);
``RunFilter.matches(lookup)`` tests one run through ``lookup(field)``, the run's value of a
field or ``MISSING``, which ``run_lookup`` builds from a run's plain values. Pure, no I/O:
the service evaluates filters for every transport (``cairn.service.run_filters``).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any, Final, Protocol

from cairn.core.run_values import from_stored


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()
"""What a lookup returns for a field the run does not have."""

MAX_PATTERN_CHARS: Final = 1000
"""The longest ``$regex`` pattern a filter may hold."""

COLUMNS: Final[Mapping[str, str]] = {
    "name": "id",
    "display_name": "name",
    "displayName": "name",
    "state": "state",
    "jobType": "job_type",
    "job_type": "job_type",
    "createdAt": "created_at",
    "created_at": "created_at",
    "entity": "entity",
    "project": "project",
    "group": "group",
}
"""W&B's field names of a run's columns -> the names ``run_lookup`` takes them by."""

VALUE_PREFIXES: Final[Mapping[str, str]] = {
    "config.": "config",
    "summary_metrics.": "summary",
    "summaryMetrics.": "summary",
}
"""Field prefixes that name a value of a run's config or summary."""

_LOGICAL = ("$and", "$or", "$nor")
_ORDER: dict[str, Callable[[Any, Any], Any]] = {
    "$gt": operator.gt,
    "$gte": operator.ge,
    "$lt": operator.lt,
    "$lte": operator.le,
}


class Pattern(Protocol):
    """A compiled ``$regex`` (``re.Pattern``, ``re2``'s compiled patterns)."""

    def search(self, text: str, /) -> object: ...


Lookup = Callable[[str], Any]
"""A run's value of a field (W&B's name, see module doc), or ``MISSING``."""

RegexCompiler = Callable[[str], Pattern]
"""Compiles a ``$regex`` pattern; raises ValueError for one it refuses."""

_Test = Callable[[Lookup], bool]


def value_at(values: Mapping[str, Any], path: str, source: str) -> Any:
    """The stored value at ``path`` of a run's config or summary (``source``: ``"config"``
    or ``"summary"``): a key, or dotted keys into nested dicts; in the config W&B's
    ``<key>.value`` names ``<key>`` too. ``MISSING`` when there is none."""
    found = _walk(values, path)
    if found is MISSING and source == "config" and path.endswith(".value"):
        found = _walk(values, path[: -len(".value")])
    return found


def _walk(values: Any, path: str) -> Any:
    if isinstance(values, Mapping) and path in values:
        return values[path]
    for part in path.split("."):
        if not isinstance(values, Mapping) or part not in values:
            return MISSING
        values = values[part]
    return values


def run_lookup(
    columns: Mapping[str, Any], config: Mapping[str, Any], summary: Mapping[str, Any]
) -> Lookup:
    """The lookup of one run: ``columns`` by the names ``COLUMNS`` maps to (``id``,
    ``name``, ``state``, ``job_type``, ``created_at``, ``entity``, ``project``, ``group``;
    one not given is missing), its ``config`` and ``summary`` as stored (values are read
    back with ``from_stored``: ``"NaN"`` is a float again)."""

    def lookup(field: str) -> Any:
        column = COLUMNS.get(field)
        if column is not None:
            return columns.get(column, MISSING)
        for prefix, source in VALUE_PREFIXES.items():
            if field.startswith(prefix):
                values = config if source == "config" else summary
                found = value_at(values, field[len(prefix) :], source)
                return found if found is MISSING else from_stored(found)
        return MISSING

    return lookup


class RunFilter:
    """A checked, compiled filter (``compile_filter``)."""

    __slots__ = ("_test",)

    def __init__(self, test: _Test) -> None:
        self._test = test

    def matches(self, lookup: Lookup) -> bool:
        """Whether the run ``lookup`` reads meets every condition of the filter."""
        return self._test(lookup)


def compile_filter(
    filters: object, compile_regex: RegexCompiler, max_depth: int, max_terms: int
) -> RunFilter:
    """Check ``filters`` (see module doc) and compile it, ``$regex`` patterns with
    ``compile_regex``.

    ``filters`` is a dict of JSON values (tuples count as lists) nesting at most
    ``max_depth`` levels (``{}`` is one) and holding at most ``max_terms`` terms (each entry
    of a dict and item of a list, at any depth); a pattern is at most
    ``MAX_PATTERN_CHARS`` characters.

    Raises: ValueError for anything else: not a dict, an unknown operator, ``$and``/
    ``$or``/``$nor`` without a list of filters, ``$in``/``$nin`` without a list,
    ``$regex`` without a string, too deep, too many terms, a pattern too long or one
    ``compile_regex`` refuses.
    """
    return RunFilter(_compile(check_shape(filters, max_depth, max_terms), compile_regex))


def check_shape(filters: object, max_depth: int, max_terms: int | None) -> Mapping[str, Any]:
    """``filters``, once it is known to be a dict of JSON values with string keys (tuples
    count as lists) nesting at most ``max_depth`` levels and holding at most ``max_terms``
    terms (None: any number); checked without recursion (a filter may contain itself). A
    client checks this much before it sends a filter as JSON text, which would turn a key
    ``1`` into ``"1"`` and recurse once per level.

    Raises: ValueError for a filter that is not a dict, with a key that is not a string or
    a value JSON lacks, too deep or with too many terms.
    """
    if not isinstance(filters, Mapping):
        raise ValueError(f"A run filter is an object of conditions, not {_kind(filters)}")
    terms = 0
    stack: list[tuple[object, int]] = [(filters, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, Mapping | list | tuple):
            if depth > max_depth:
                raise ValueError(f"A run filter nests at most {max_depth} levels")
            if isinstance(value, Mapping):
                if not all(isinstance(key, str) for key in value):
                    raise ValueError("A run filter's keys are strings")
                items: Any = value.values()
            else:
                items = value
            for item in items:
                terms += 1
                if max_terms is not None and terms > max_terms:
                    raise ValueError(
                        f"A run filter holds at most {max_terms} terms (conditions, operators "
                        "and list items)"
                    )
                stack.append((item, depth + 1))
        elif not (value is None or isinstance(value, str | int | float)):
            raise ValueError(f"A run filter holds JSON values, not {_kind(value)}")
    return filters


def _kind(value: object) -> str:
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, str):
        return "a string"
    return "null" if value is None else type(value).__name__


def _plain(value: Any) -> Any:
    """A checked JSON value with tuples as lists and mappings as dicts (to compare)."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _compile(filters: Mapping[str, Any], compile_regex: RegexCompiler) -> _Test:
    tests: list[_Test] = []
    for key, condition in filters.items():
        if key in _LOGICAL:
            if not isinstance(condition, list | tuple) or not all(
                isinstance(item, Mapping) for item in condition
            ):
                raise ValueError(f"{key} needs a list of filters")
            tests.append(_logical(key, [_compile(item, compile_regex) for item in condition]))
        elif key.startswith("$"):
            raise ValueError(f"Unknown run filter operator {key!r}")
        else:
            tests.append(_condition(key, condition, compile_regex))
    return lambda lookup: all(test(lookup) for test in tests)


def _logical(key: str, parts: list[_Test]) -> _Test:
    if key == "$and":
        return lambda lookup: all(part(lookup) for part in parts)
    if key == "$or":
        return lambda lookup: any(part(lookup) for part in parts)
    return lambda lookup: not any(part(lookup) for part in parts)


def _condition(field: str, condition: Any, compile_regex: RegexCompiler) -> _Test:
    if (
        isinstance(condition, Mapping)
        and condition
        and all(key.startswith("$") for key in condition)
    ):
        checks = [_operator(op, operand, compile_regex) for op, operand in condition.items()]
        return lambda lookup: _all_hold(checks, lookup(field))
    expected = _plain(condition)

    def equal(lookup: Lookup) -> bool:
        value = lookup(field)
        return value is not MISSING and _equal(value, expected)

    return equal


def _all_hold(checks: list[Callable[[Any], bool]], value: Any) -> bool:
    return all(check(value) for check in checks)


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


def _operator(op: str, operand: Any, compile_regex: RegexCompiler) -> Callable[[Any], bool]:
    operand = _plain(operand)
    if op == "$eq":
        return lambda value: value is not MISSING and _equal(value, operand)
    if op == "$ne":
        return lambda value: not (value is not MISSING and _equal(value, operand))
    compare = _ORDER.get(op)
    if compare is not None:
        return lambda value: (
            value is not MISSING and _comparable(value, operand) and bool(compare(value, operand))
        )
    if op in ("$in", "$nin"):
        if not isinstance(operand, list):
            raise ValueError(f"{op} needs a list, got {_kind(operand)}")
        items: list[Any] = operand

        def inside(value: Any) -> bool:
            return value is not MISSING and any(_equal(value, item) for item in items)

        if op == "$in":
            return inside
        return lambda value: not inside(value)
    if op == "$exists":
        wanted = bool(operand)
        return lambda value: (value is not MISSING) == wanted
    if op == "$regex":
        if not isinstance(operand, str):
            raise ValueError(f"$regex needs a pattern (a string), got {_kind(operand)}")
        if len(operand) > MAX_PATTERN_CHARS:
            raise ValueError(
                f"A $regex pattern is at most {MAX_PATTERN_CHARS} characters, got {len(operand)}"
            )
        pattern = compile_regex(operand)
        return lambda value: isinstance(value, str) and pattern.search(value) is not None
    raise ValueError(f"Unknown run filter operator {op!r}")
