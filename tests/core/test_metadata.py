"""Metadata validation (spec §3.5), with real numpy values."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from cairn.core.metadata import check_json_depth, loads_json, validate_metadata


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


DEPTH_MESSAGE = "Artifact metadata is nested deeper than 100 levels"


def _nested_dicts(levels: int) -> dict[str, Any]:
    """``{"a": {"a": ... {}}}``: ``levels`` dicts, one inside the other (iteratively built)."""
    value: dict[str, Any] = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def _nested_lists(levels: int) -> dict[str, Any]:
    """A dict holding ``levels - 1`` lists, one inside the other: ``levels`` levels in all."""
    value: list[Any] = []
    for _ in range(levels - 2):
        value = [value]
    return {"a": value}


def test_limits_keep_their_names_and_values() -> None:
    from cairn.core import metadata

    assert metadata.MAX_METADATA_DEPTH == 100
    assert metadata.MAX_METADATA_BYTES == 16 * 1024 * 1024


@pytest.mark.parametrize(
    ("value", "depth"),
    [
        ({}, 1),
        ({"a": 1, "b": "x", "c": None}, 1),
        ({"a": {}}, 2),
        ({"a": []}, 2),
        ({"a": ()}, 2),
        ({"a": [1, 2], "b": {"c": 3}}, 2),
        ({"a": [[1]]}, 3),
        ({"a": [{"b": [{}]}]}, 5),
        ({"a": np.zeros((2, 2))}, 3),  # a 2-d array is two levels of lists
        ({"a": np.zeros((1,) * 5)}, 6),
        ({"a": np.float64(1.0)}, 1),
    ],
)
def test_depth_definition(value: dict[str, Any], depth: int) -> None:
    assert validate_metadata(value, max_depth=depth) is not None
    with pytest.raises(ValueError) as info:
        validate_metadata(value, max_depth=depth - 1)
    assert str(info.value) == f"Artifact metadata is nested deeper than {depth - 1} levels"


@pytest.mark.parametrize("build", [_nested_dicts, _nested_lists])
def test_exactly_100_levels_accepted_101_refused(build: Any) -> None:
    assert validate_metadata(build(100)) == build(100)
    assert validate_metadata(json.dumps(build(100))) == build(100)
    with pytest.raises(ValueError) as info:
        validate_metadata(build(101))
    assert str(info.value) == DEPTH_MESSAGE
    with pytest.raises(ValueError) as info:
        validate_metadata(json.dumps(build(101)))
    assert str(info.value) == DEPTH_MESSAGE


def test_mixed_nesting_counts_every_container() -> None:
    value: Any = {}
    for level in range(99):
        value = [value] if level % 2 else {"k": value}
    metadata = {"top": value}  # 1 + 99 + the innermost {} = 101 levels
    with pytest.raises(ValueError, match=f"^{DEPTH_MESSAGE}$"):
        validate_metadata(metadata)
    assert validate_metadata(metadata, max_depth=101) == metadata


@pytest.mark.parametrize("levels", [10_000, 1_000_000])
def test_very_deep_dicts_and_lists_give_value_error(levels: int) -> None:
    for build in (_nested_dicts, _nested_lists):
        with pytest.raises(ValueError) as info:
            validate_metadata(build(levels))
        assert str(info.value) == DEPTH_MESSAGE


@pytest.mark.parametrize("levels", [10_000, 1_000_000])
def test_very_deep_json_strings_give_value_error(levels: int) -> None:
    texts = [
        '{"a":' * levels + "1" + "}" * levels,
        '{"a":' + "[" * levels + "]" * levels + "}",
        '{"a": ' + "[" * levels,  # not even closed
        '{"a": [' + "{}, [" * levels,
    ]
    for text in texts:
        with pytest.raises(ValueError) as info:
            validate_metadata(text)
        assert str(info.value) == DEPTH_MESSAGE


def test_json_depth_ignores_brackets_inside_strings() -> None:
    deep = "[{" * 5000
    assert validate_metadata(json.dumps({"a": deep, deep: "]}" * 5000})) == {
        "a": deep,
        deep: "]}" * 5000,
    }
    # An escaped quote does not end a string; an escaped backslash before the quote does.
    assert validate_metadata('{"a": "\\"' + "[" * 500 + '"}') == {"a": '"' + "[" * 500}
    text = '{"a": "\\\\", "b": ' + "[" * 500 + "]" * 500 + "}"
    with pytest.raises(ValueError, match=f"^{DEPTH_MESSAGE}$"):
        validate_metadata(text)


def test_json_string_not_json_stays_a_json_error() -> None:
    for text in ("{not json", '{"a": [1, 2}', '{"a": "unterminated', ""):
        with pytest.raises(json.JSONDecodeError):
            validate_metadata(text)


def test_self_referencing_dict_is_a_value_error() -> None:
    metadata: dict[str, Any] = {"ok": 1}
    metadata["self"] = metadata
    with pytest.raises(ValueError) as info:
        validate_metadata(metadata)
    assert str(info.value) == (
        "Artifact metadata refers to itself at metadata['self']: a reference cycle cannot be "
        "stored as JSON"
    )


def test_other_reference_cycles_are_value_errors() -> None:
    loop: list[Any] = [1]
    loop.append(loop)
    with pytest.raises(ValueError, match=r"refers to itself at metadata\['a'\]\[1\]: "):
        validate_metadata({"a": loop})
    first: dict[str, Any] = {}
    second: dict[str, Any] = {"back": first}
    first["next"] = [second]
    with pytest.raises(ValueError, match=r"refers to itself at metadata\['x'\]\['next'\]\[0\]"):
        validate_metadata({"x": first})
    # Even with a generous depth, a cycle is found, not followed for ever.
    with pytest.raises(ValueError, match=r"refers to itself at metadata\['x'\]"):
        validate_metadata({"x": first}, max_depth=500)


def test_shared_values_are_not_cycles() -> None:
    shared = [1, {"k": "v"}]
    metadata = {"a": shared, "b": shared, "c": [shared, {"d": shared}]}
    assert validate_metadata(metadata) == json.loads(json.dumps(metadata))


def test_size_limit_in_bytes_of_compact_json() -> None:
    limit = 16 * 1024 * 1024
    overhead = len('{"k":""}')
    exactly = {"k": "x" * (limit - overhead)}
    assert validate_metadata(exactly) == exactly
    over = {"k": "x" * (limit - overhead + 1)}
    with pytest.raises(ValueError) as info:
        validate_metadata(over)
    assert str(info.value) == (
        f"Artifact metadata is larger than {limit} bytes (16 MiB) as JSON ({limit + 1} bytes)"
    )


def test_size_counts_utf8_bytes_not_characters_nor_escapes() -> None:
    # '{"k":"' + 47 x 'é' + '"}' is 8 + 94 = 102 bytes; as ASCII escapes it would be 290.
    assert validate_metadata({"k": "é" * 46}, max_bytes=100) == {"k": "é" * 46}
    with pytest.raises(ValueError) as info:
        validate_metadata({"k": "é" * 47}, max_bytes=100)
    assert str(info.value) == "Artifact metadata is larger than 100 bytes as JSON (102 bytes)"
    assert validate_metadata({"k": "\U0001f600" * 23}, max_bytes=100) is not None  # 92 + 8
    with pytest.raises(ValueError, match=r"\(104 bytes\)$"):
        validate_metadata({"k": "\U0001f600" * 24}, max_bytes=100)


def test_size_ignores_whitespace_of_a_json_string() -> None:
    text = '{\n    "k"  :   [1,   2,   3]\n}'  # compact: {"k":[1,2,3]} is 13 bytes
    assert validate_metadata(text, max_bytes=13) == {"k": [1, 2, 3]}
    with pytest.raises(ValueError, match=r"^Artifact metadata is larger than 12 bytes as JSON"):
        validate_metadata(text, max_bytes=12)


def test_size_message_names_mib_when_whole() -> None:
    with pytest.raises(ValueError) as info:
        validate_metadata({"k": "x" * (2 * 1024 * 1024)}, max_bytes=2 * 1024 * 1024)
    assert "larger than 2097152 bytes (2 MiB) as JSON" in str(info.value)


def test_nul_in_keys_is_refused_with_its_path() -> None:
    with pytest.raises(ValueError) as info:
        validate_metadata({"a": {"ok": 1, "b\x00": 2}})
    assert str(info.value) == (
        "Invalid artifact metadata key at metadata['a']['b\\x00']: keys cannot contain control "
        "characters or lone surrogates (found '\\x00')"
    )


@pytest.mark.parametrize(
    "char", [chr(code) for code in [*range(0x20), *range(0x7F, 0xA0)]] + ["\ud800"], ids=repr
)
def test_control_characters_and_surrogates_in_keys_are_refused(char: str) -> None:
    key = f"k{char}"
    with pytest.raises(ValueError) as info:
        validate_metadata({"list": [{key: 1}]})
    assert str(info.value) == (
        f"Invalid artifact metadata key at metadata['list'][0][{key!r}]: keys cannot contain "
        f"control characters or lone surrogates (found {char!r})"
    )


@pytest.mark.parametrize(
    ("metadata", "where", "found"),
    [
        ({"a": "x\x00y"}, "metadata['a']", "'\\x00'"),
        ({"a": [1, ["ok", "\x00"]]}, "metadata['a'][1][1]", "'\\x00'"),
        ({"a": {"b": ("t", "\udcff")}}, "metadata['a']['b'][1]", "'\\udcff'"),
        ({"a": np.array(["ok", "x\x00y"])}, "metadata['a'][1]", "'\\x00'"),
        ({"a": "\x00\ud800\x00"}, "metadata['a']", "'\\x00', '\\ud800'"),
    ],
)
def test_nul_and_surrogates_in_string_values_are_refused(
    metadata: dict[str, Any], where: str, found: str
) -> None:
    with pytest.raises(ValueError) as info:
        validate_metadata(metadata)
    assert str(info.value) == (
        f"Invalid artifact metadata value at {where}: strings cannot contain NUL characters or "
        f"lone surrogates (found {found})"
    )


def test_json_escapes_of_nul_and_surrogates_are_refused() -> None:
    with pytest.raises(ValueError, match=r"^Invalid artifact metadata value at metadata\['a'\]"):
        validate_metadata('{"a": "\\u0000"}')
    with pytest.raises(ValueError, match=r"^Invalid artifact metadata value at metadata\['a'\]"):
        validate_metadata('{"a": ["\\ud800"]}')
    with pytest.raises(ValueError, match=r"^Invalid artifact metadata key at metadata\['a\\n'\]"):
        validate_metadata('{"a\\n": 1}')
    # A surrogate pair is one character, and fine.
    assert validate_metadata('{"a": "\\ud83d\\ude00"}') == {"a": "\U0001f600"}


def test_other_control_characters_in_values_are_kept() -> None:
    metadata = {"text": "line\nnext\ttab\r\x1b[0m\x7f\x85", "list": ["\x01"]}
    assert validate_metadata(metadata) == metadata


def test_key_path_in_messages_is_cut() -> None:
    long_key = "k" * 500
    with pytest.raises(ValueError) as info:
        validate_metadata({long_key: {"x\x00": 1}})
    assert str(info.value).startswith(
        f"Invalid artifact metadata key at metadata[{'k' * 50!r}...]['x\\x00']: "
    )
    deep: Any = "\x00"
    for index in range(30):
        deep = {f"k{index}": deep}
    with pytest.raises(ValueError) as info:
        validate_metadata(deep)
    assert str(info.value).startswith(
        "Invalid artifact metadata value at "
        "metadata['k29']['k28']['k27']['k26']['k25']['k24']..."
        "['k5']['k4']['k3']['k2']['k1']['k0']: "
    )


def test_non_string_keys_become_strings_as_before() -> None:
    assert validate_metadata({1: "a", None: "c", 2.5: "d"}) == {"1": "a", "null": "c", "2.5": "d"}
    assert validate_metadata({True: "b"}) == {"true": "b"}


def test_mappings_and_tuples_are_walked() -> None:
    from collections import OrderedDict
    from types import MappingProxyType

    metadata = {"m": MappingProxyType({"x": (1, (2, {"y": float("nan")}))}), "o": OrderedDict(z=1)}
    assert validate_metadata(metadata) == {"m": {"x": [1, [2, {"y": None}]]}, "o": {"z": 1}}
    assert list(validate_metadata({"b": 1, "a": 2, "c": 3})) == ["b", "a", "c"]


def test_value_converting_to_itself_is_left_to_json() -> None:
    class Stubborn:
        def tolist(self) -> Stubborn:
            return self

    class Endless:
        def item(self) -> Endless:
            return Endless()

    for value in (Stubborn(), Endless()):
        with pytest.raises(TypeError, match="is not JSON serializable"):
            validate_metadata({"x": value})


def test_infinity_deep_inside_is_still_wandbs_message() -> None:
    with pytest.raises(ValueError) as info:
        validate_metadata({"a": [{"b": [float("-inf")]}]})
    assert str(info.value) == "Out of range float values are not JSON compliant"


def test_depth_is_checked_before_json_sees_the_value() -> None:
    # json.dumps would raise RecursionError on this; the walk refuses it first.
    with pytest.raises(ValueError, match=f"^{DEPTH_MESSAGE}$"):
        validate_metadata({"ok": [1, 2], "deep": _nested_dicts(5000), "set": {1}})


def test_check_json_depth_for_any_json_text() -> None:
    check_json_depth("[" * 100 + "]" * 100)
    check_json_depth('{"a": 1}', max_depth=1)
    check_json_depth("1", max_depth=0)
    with pytest.raises(ValueError) as info:
        check_json_depth("[" * 16 + "]" * 16, max_depth=15, what="Request body")
    assert str(info.value) == "Request body is nested deeper than 15 levels"
    with pytest.raises(ValueError, match=f"^{DEPTH_MESSAGE}$"):
        check_json_depth("[" * 1_000_000)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-32"])
def test_check_json_depth_reads_bytes_as_json_loads_does(encoding: str) -> None:
    fine = '{"a": "\\"[[[[[[", "b": [[1]]}'
    check_json_depth(fine.encode(encoding), max_depth=3)
    assert json.loads(fine.encode(encoding)) == {"a": '"[[[[[[', "b": [[1]]}
    # An escaped quote does not end the string, whatever the encoding.
    deep = '{"a": "\\"", "b": ' + "[" * 101 + "]" * 101 + "}"
    with pytest.raises(ValueError, match=f"^{DEPTH_MESSAGE}$"):
        check_json_depth(deep.encode(encoding))
    with pytest.raises(ValueError, match=f"^{DEPTH_MESSAGE}$"):
        check_json_depth(bytearray(deep.encode(encoding)))


def test_check_json_depth_protects_json_loads() -> None:
    # Whatever check_json_depth lets through, json.loads parses without RecursionError.
    for text in ('{"a": "\\\\"' + "[" * 50_000, '"' + "[" * 50_000, "]" * 10 + "[" * 50_000):
        try:
            check_json_depth(text)
        except ValueError:
            continue
        with pytest.raises(json.JSONDecodeError):
            json.loads(text)


def test_loads_json_refuses_text_nested_too_deeply_before_parsing_it() -> None:
    """For the JSON strings of the GraphQL facade (metadata, run config): a ValueError naming
    the field, never json's RecursionError (found by the GraphQL gate fuzzer)."""
    assert loads_json('{"a": [1, {"b": null}]}') == {"a": [1, {"b": None}]}
    assert loads_json(b"[[1]]", max_depth=2) == [[1]]
    with pytest.raises(ValueError, match=r"^Run config is nested deeper than 100 levels$"):
        loads_json("[" * 100_000 + "]" * 100_000, what="Run config")
    with pytest.raises(ValueError, match="nested deeper than 2 levels"):
        loads_json("[[[1]]]", max_depth=2)
    with pytest.raises(ValueError):
        loads_json("not json")
