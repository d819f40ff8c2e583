"""Automation filters (wandb's MongoDB-like documents) and payload templates."""

from __future__ import annotations

import json

import pytest

from cairn.core.automation_rules import check_filter, check_template, matches, render


def _wrapped(condition: dict[str, object]) -> dict[str, object]:
    return {"$or": [{"$and": [condition]}]}


@pytest.mark.parametrize(
    ("condition", "aliases", "expected"),
    [
        ({"alias": {"$eq": "prod"}}, ["prod", "latest"], True),
        ({"alias": {"$eq": "prod"}}, ["dev"], False),
        ({"alias": {"$ne": "prod"}}, ["dev"], True),
        ({"alias": {"$in": ["a", "b"]}}, ["b"], True),
        ({"alias": {"$nin": ["a", "b"]}}, ["b"], False),
        ({"alias": {"$regex": "^rc-[0-9]+$"}}, ["rc-12"], True),
        ({"alias": {"$regex": "^rc-[0-9]+$"}}, ["rc-x"], False),
        ({"alias": {"$contains": "prod"}}, ["preprod"], True),
        ({"alias": {"$exists": True}}, [], False),
        ({"$not": {"alias": {"$eq": "prod"}}}, ["prod"], False),
        ({"alias": "prod"}, ["prod"], True),
    ],
)
def test_filters_match_as_wandb_means_them(
    condition: dict[str, object], aliases: list[str], expected: bool
) -> None:
    document = check_filter(json.dumps(_wrapped(condition)))
    assert matches(document, {"alias": aliases, "tag": []}) is expected


def test_an_empty_filter_matches_everything() -> None:
    assert check_filter("") == {} and matches({}, {"alias": [], "tag": []})


@pytest.mark.parametrize(
    "bad",
    ["not json", "[1]", {"run": {"$eq": 1}}, {"alias": {"$near": 1}}, {"alias": {"$regex": "("}}],
)
def test_bad_filters_are_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="Invalid event filter"):
        check_filter(bad)


def test_templates_fill_variables_inside_strings_only() -> None:
    template = check_template('{"v": "${artifact_version_string}", "n": ["${tag}", 3]}')
    body = render(template, {"artifact_version_string": 'a"b/c:v1', "tag": "gold"})
    assert json.loads(body) == {"v": 'a"b/c:v1', "n": ["gold", 3]}
    assert json.loads(render(None, {"tag": "x"})) == {"tag": "x"}
    with pytest.raises(ValueError, match="unknown variable"):
        check_template('{"x": "${secret}"}')
    with pytest.raises(ValueError, match="not JSON"):
        check_template("{")
