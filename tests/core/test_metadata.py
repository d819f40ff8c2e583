"""Metadata validation (spec §3.5), with real numpy values."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from cairn.core.metadata import validate_metadata


def test_none_and_empty() -> None:
    assert validate_metadata(None) == {}
    assert validate_metadata({}) == {}


def test_plain_dict_round_trips_through_json() -> None:
    meta = {"a": 1, "b": [1, 2.5, "x"], "c": {"d": None, "e": True}, "t": (1, 2), 3: "int key"}
    assert validate_metadata(meta) == {
        "a": 1,
        "b": [1, 2.5, "x"],
        "c": {"d": None, "e": True},
        "t": [1, 2],
        "3": "int key",
    }


def test_json_string() -> None:
    assert validate_metadata('{"rows": 10, "nested": {"k": [1]}}') == {
        "rows": 10,
        "nested": {"k": [1]},
    }


def test_numpy_values_and_nan() -> None:
    meta: dict[str, Any] = {
        "f": np.float32(1.5),
        "i": np.int64(7),
        "b": np.bool_(True),
        "arr": np.array([[1, 2], [3, 4]]),
        "nan": float("nan"),
        "npnan": np.float64("nan"),
        "nested": {"v": np.array([1.0, np.nan])},
    }
    result = validate_metadata(meta)
    assert result == {
        "f": 1.5,
        "i": 7,
        "b": True,
        "arr": [[1, 2], [3, 4]],
        "nan": None,
        "npnan": None,
        "nested": {"v": [1.0, None]},
    }
    assert json.dumps(result, allow_nan=False)


@pytest.mark.parametrize(
    "value", [float("inf"), -float("inf"), np.float64("inf"), np.array([np.inf])]
)
def test_infinity_is_rejected(value: object) -> None:
    with pytest.raises(ValueError) as info:
        validate_metadata({"x": value})
    assert str(info.value) == "Out of range float values are not JSON compliant"


def test_key_limit() -> None:
    exactly = {f"k{i}": i for i in range(100)}
    assert validate_metadata(exactly) == exactly
    with pytest.raises(ValueError) as info:
        validate_metadata({f"k{i}": i for i in range(101)})
    assert str(info.value) == "Artifact must not have more than 100 metadata keys."
    nested = {"outer": {f"k{i}": i for i in range(500)}}
    assert validate_metadata(nested) == nested


@pytest.mark.parametrize(("value", "cls"), [([1], "list"), (5, "int"), ((1,), "tuple")])
def test_other_types_are_type_errors(value: object, cls: str) -> None:
    with pytest.raises(TypeError) as info:
        validate_metadata(value)
    assert str(info.value) == f"Cannot parse <class '{cls}'> as artifact metadata"


def test_json_string_must_be_object() -> None:
    with pytest.raises(TypeError, match=r"^Cannot parse <class 'list'> as artifact metadata$"):
        validate_metadata("[1, 2]")
    with pytest.raises(ValueError):
        validate_metadata("{not json")


def test_unencodable_value_is_type_error() -> None:
    with pytest.raises(TypeError):
        validate_metadata({"s": {1, 2}})
