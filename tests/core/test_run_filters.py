"""The pure run-filter matcher: every operator, nested and W&B-style keys, $and/$or/$nor,
and what is refused before a run is read (shape, depth, terms, pattern length)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from cairn.core.run_filters import (
    MAX_PATTERN_CHARS,
    MISSING,
    Pattern,
    check_shape,
    compile_filter,
    run_lookup,
)

RUNS = {
    "a": run_lookup(
        {"id": "a", "name": "exp-alpha", "state": "finished", "job_type": "train", "group": "g"},
        {"lr": 0.1, "opt": {"name": "adam", "betas": [0.9, 0.99]}, "tags": ["x", "y"]},
        {"loss": 0.5, "acc": "NaN"},
    ),
    "b": run_lookup(
        {"id": "b", "name": "exp-beta", "state": "failed", "job_type": None},
        {"lr": 0.01, "opt": {"name": "sgd"}, "a.b": 1},
        {"loss": 0.2},
    ),
    "c": run_lookup({"id": "c", "name": "gamma", "state": "running"}, {"lr": "high"}, {}),
}


def _compile_re(pattern: str) -> Pattern:
    return re.compile(pattern)


def found(filters: Any, max_depth: int = 100, max_terms: int = 1000) -> list[str]:
    compiled = compile_filter(filters, _compile_re, max_depth, max_terms)
    return [name for name, lookup in RUNS.items() if compiled.matches(lookup)]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, ["a", "b", "c"]),
        ({"state": "finished"}, ["a"]),
        ({"name": "b"}, ["b"]),
        ({"display_name": "gamma"}, ["c"]),
        ({"displayName": {"$regex": "^exp-"}}, ["a", "b"]),
        ({"jobType": None}, ["b"]),  # a column without a value is null, not missing
        ({"job_type": {"$exists": False}}, ["c"]),
        ({"group": "g"}, ["a"]),
        ({"config.lr": 0.1}, ["a"]),
        ({"config.lr.value": 0.1}, ["a"]),  # W&B's config.<key>.value
        ({"config.opt.name": "sgd"}, ["b"]),
        ({"config.opt.name.value": "sgd"}, ["b"]),
        ({"config.a.b": 1}, ["b"]),  # a dotted key of its own
        ({"config.opt.betas": 0.99}, ["a"]),  # a list holds when one element is equal
        ({"config.opt.betas": [0.9, 0.99]}, ["a"]),
        ({"config.tags": {"$in": ["y", "z"]}}, ["a"]),
        ({"config.opt": {"name": "sgd"}}, ["b"]),  # a plain dict: equal as a whole
        ({"config.lr": {"$gt": 0.01}}, ["a"]),
        ({"config.lr": {"$gte": 0.01}}, ["a", "b"]),
        ({"config.lr": {"$lt": 0.1}}, ["b"]),
        ({"config.lr": {"$lte": 0.1, "$gt": 0.01}}, ["a"]),
        ({"config.lr": {"$gt": "a"}}, ["c"]),  # strings with strings only
        ({"config.lr": {"$ne": 0.1}}, ["b", "c"]),
        ({"config.lr": {"$eq": 0.01}}, ["b"]),
        ({"config.lr": {"$nin": [0.1, 0.01]}}, ["c"]),
        ({"config.missing": {"$ne": 1}}, ["a", "b", "c"]),
        ({"config.missing": {"$nin": [1]}}, ["a", "b", "c"]),
        ({"summary_metrics.loss": {"$lt": 0.3}}, ["b"]),
        ({"summaryMetrics.loss": {"$exists": True}}, ["a", "b"]),
        ({"summary_metrics.acc": {"$gt": 1e9}}, []),  # NaN: stored "NaN", read as a float
        ({"summary_metrics.acc": {"$regex": "NaN"}}, []),
        ({"tags": "x"}, []),  # not recorded: missing on every run
        ({"$or": [{"state": "failed"}, {"name": "c"}]}, ["b", "c"]),
        ({"$and": [{"config.lr": {"$lt": 1}}, {"state": {"$ne": "failed"}}]}, ["a"]),
        ({"$nor": [{"state": "running"}, {"config.lr": 0.01}]}, ["a"]),
        ({"$or": [{"$and": [{"name": "a"}]}, {"$nor": [{"name": {"$regex": "b"}}]}]}, ["a", "c"]),
        ({"state": ("finished", "failed")}, []),  # a tuple is a list: equal as a whole
        ({"state": {"$in": ("finished", "failed")}}, ["a", "b"]),
    ],
)
def test_conditions(filters: dict[str, Any], expected: list[str]) -> None:
    assert found(filters) == expected


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ([{"state": "x"}], "A run filter is an object of conditions, not a list"),
        ("state", "not a string"),
        ({"state": {"$near": 1}}, r"Unknown run filter operator '\$near'"),
        ({"$where": "1"}, r"Unknown run filter operator '\$where'"),
        ({"$or": {"state": "x"}}, r"\$or needs a list of filters"),
        ({"$and": ["state"]}, r"\$and needs a list of filters"),
        ({"state": {"$in": "finished"}}, r"\$in needs a list, got a string"),
        ({"state": {"$regex": 1}}, r"\$regex needs a pattern \(a string\), got int"),
        ({"state": {"$regex": "a" * (MAX_PATTERN_CHARS + 1)}}, "at most 1000 characters"),
        ({"state": {1: "x"}}, "keys are strings"),
        ({"state": {"x"}}, "JSON values, not set"),
    ],
)
def test_refusals(filters: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        found(filters)


def test_refused_whatever_the_runs() -> None:
    """The whole filter is checked up front: a bad operator in a branch no run reaches."""
    with pytest.raises(ValueError, match="Unknown run filter operator"):
        compile_filter({"$or": [{}, {"x": {"$bad": 1}}]}, _compile_re, 100, 1000)


def test_depth_and_terms_are_bounded() -> None:
    nested: dict[str, Any] = {"state": "x"}
    for _ in range(5):
        nested = {"$and": [nested]}
    assert found(nested, max_depth=11) == []  # 5 x (dict + list) + the last dict
    with pytest.raises(ValueError, match="nests at most 10 levels"):
        found(nested, max_depth=10)
    assert found({"name": {"$in": ["a"] * 8}}, max_terms=10) == ["a"]  # 1 + 1 + 8
    with pytest.raises(ValueError, match="holds at most 10 terms"):
        found({"name": {"$in": ["a"] * 9}}, max_terms=10)
    itself: dict[str, Any] = {}
    itself["$and"] = [itself]
    with pytest.raises(ValueError, match=r"nests at most|terms"):
        found(itself)


def test_the_shape_alone_is_checked_for_a_client() -> None:
    """What a client checks before it sends a filter as JSON: the shape, not the operators
    (the store checks those, and the terms under its own limit when given None)."""
    many = {"name": {"$near": ["a"] * 5000}, "b": ("x",)}
    assert check_shape(many, 3, None) is many
    for filters, message in (
        ({"a": {1: "x"}}, "A run filter's keys are strings"),
        ({"a": {"x"}}, "A run filter holds JSON values, not set"),
        ({"a": {"b": {"c": 1}}}, "A run filter nests at most 2 levels"),
        ([{}], "A run filter is an object of conditions, not a list"),
    ):
        with pytest.raises(ValueError, match=message):
            check_shape(filters, 2, None)


def test_patterns_are_compiled_by_the_given_compiler_once() -> None:
    seen: list[str] = []

    def compiler(pattern: str) -> Pattern:
        seen.append(pattern)
        if "(" in pattern:
            raise ValueError(f"refused {pattern!r}")
        return re.compile(pattern)

    compiled = compile_filter({"display_name": {"$regex": "^exp"}}, compiler, 100, 1000)
    assert [compiled.matches(lookup) for lookup in RUNS.values()] == [True, True, False]
    assert seen == ["^exp"]
    with pytest.raises(ValueError, match="refused"):
        compile_filter({"display_name": {"$regex": "(a)"}}, compiler, 100, 1000)


def test_lookup() -> None:
    lookup = RUNS["a"]
    assert (lookup("name"), lookup("displayName"), lookup("createdAt")) == (
        "a",
        "exp-alpha",
        MISSING,
    )
    assert lookup("config.opt") == {"name": "adam", "betas": [0.9, 0.99]}
    assert lookup("config.opt.nope") is MISSING and lookup("other") is MISSING
