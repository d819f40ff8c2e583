"""Name, type, alias, tag, project and entity validation; artifact path parsing (spec §3)."""

from __future__ import annotations

import pytest

from cairn.core.names import (
    ArtifactPath,
    is_version_alias,
    parse_artifact_path,
    validate_aliases,
    validate_artifact_name,
    validate_artifact_type,
    validate_entity_name,
    validate_project_name,
    validate_tags,
)

TAGS_MESSAGE = (
    "Invalid tag(s).  Tags must only contain alphanumeric characters separated by hyphens, "
    "underscores, and/or spaces."
)


@pytest.mark.parametrize("name", ["a", "my-data_set.v2", "A" * 128, "..", "-"])
def test_valid_artifact_names(name: str) -> None:
    assert validate_artifact_name(name) == name


@pytest.mark.parametrize("name", ["", "a/b", "a:b", "a b", "é", "name\n", "x\x00"])
def test_invalid_artifact_name_message(name: str) -> None:
    with pytest.raises(ValueError) as info:
        validate_artifact_name(name)
    assert str(info.value) == (
        "Artifact name may only contain alphanumeric characters, dashes, underscores, and dots. "
        f"Invalid name: '{name}'"
    )


def test_long_artifact_name_message() -> None:
    with pytest.raises(ValueError) as info:
        validate_artifact_name("a" * 129)
    assert str(info.value) == f"Artifact name is longer than 128 characters: '{'a' * 128} ...'"


@pytest.mark.parametrize(
    ("type_", "name"),
    [("dataset", "x"), ("a/b", "x"), ("a:b", "x"), ("run_table", "table"), ("code", "src")],
)
def test_accepted_types(type_: str, name: str) -> None:
    assert validate_artifact_type(type_, name) == type_


@pytest.mark.parametrize(
    ("type_", "name"),
    [("wandb-history", "x"), ("job", "anything"), ("run_table", "run-abc"), ("code", "source-x")],
)
def test_reserved_types(type_: str, name: str) -> None:
    with pytest.raises(ValueError) as info:
        validate_artifact_type(type_, name)
    assert str(info.value) == (
        f"Artifact type '{type_}' is reserved for internal use. Please use a different type."
    )


def test_aliases() -> None:
    assert validate_aliases(None) == []
    assert validate_aliases("best") == ["best"]
    assert validate_aliases(("a", "", "latest", "v3")) == ["a", "", "latest", "v3"]
    for bad in ("a/b", ["ok", "x:y"]):
        with pytest.raises(ValueError) as info:
            validate_aliases(bad)
        assert (
            str(info.value) == "Aliases must not contain any of the following characters: '/', ':'"
        )


@pytest.mark.parametrize(
    ("alias", "expected"),
    [("v0", True), ("v12", True), ("v", False), ("v1a", False), ("V1", False), ("latest", False)],
)
def test_is_version_alias(alias: str, expected: bool) -> None:
    assert is_version_alias(alias) is expected


def test_tags_valid_and_deduplicated() -> None:
    assert validate_tags(None) == []
    assert validate_tags("one") == ["one"]
    tags = ["b", "a-b_c", "two  words", "é", "b", "a-b_c"]
    assert validate_tags(tags) == ["b", "a-b_c", "two  words", "é"]


@pytest.mark.parametrize("tag", ["", " lead", "trail ", "a.b", "a/b", "a\nb", "ok\n"])
def test_invalid_tags(tag: str) -> None:
    with pytest.raises(ValueError) as info:
        validate_tags(["fine", tag])
    assert str(info.value) == TAGS_MESSAGE


@pytest.mark.parametrize(
    "name", ["proj", "wandb-registry-model", "wandb-registry-", "x" * 128, "a b", "é-proj"]
)
def test_valid_project_names(name: str) -> None:
    assert validate_project_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "x" * 129,
        "wandb-registry-" + "m" * 114,
        "a/b",
        "a\\b",
        "a#b",
        "a?b",
        "a%b",
        "a:b",
        "a\rb",
        "a\nb",
    ],
)
def test_invalid_project_names(name: str) -> None:
    with pytest.raises(ValueError):
        validate_project_name(name)


def test_project_name_messages() -> None:
    with pytest.raises(ValueError, match=r"^Project name cannot be empty$"):
        validate_project_name("")
    with pytest.raises(ValueError) as info:
        validate_project_name("a?b/c")
    assert str(info.value) == "Invalid project name 'a?b/c', cannot contain characters: '/', '?'"


@pytest.mark.parametrize("name", ["tester", "my-team_1", "é", "a.b"])
def test_valid_entity_names(name: str) -> None:
    assert validate_entity_name(name) == name


@pytest.mark.parametrize("name", ["", "x" * 129, "a/b", "a:b", "a b", "a\tb", "a\x00b", "a\x7fb"])
def test_invalid_entity_names(name: str) -> None:
    with pytest.raises(ValueError):
        validate_entity_name(name)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("data", ArtifactPath(None, None, "data", "latest")),
        ("data:v3", ArtifactPath(None, None, "data", "v3")),
        ("proj/data:best", ArtifactPath(None, "proj", "data", "best")),
        ("proj/data", ArtifactPath(None, "proj", "data", "latest")),
        ("ent/proj/data:latest", ArtifactPath("ent", "proj", "data", "latest")),
        (
            "ent/wandb-registry-model/data:prod",
            ArtifactPath("ent", "wandb-registry-model", "data", "prod"),
        ),
    ],
)
def test_parse_artifact_path(text: str, expected: ArtifactPath) -> None:
    assert parse_artifact_path(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "a/b/c/d:v1",
        "/data:v1",
        "proj//data",
        "data/",
        "data:",
        ":v1",
        "data:a:b",
        "e n/proj/data",
        "ent/pr?j/data",
    ],
)
def test_parse_artifact_path_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_artifact_path(text)
