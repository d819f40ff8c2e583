"""Name, type, alias, tag, project and entity validation; artifact path parsing (spec §3)."""

from __future__ import annotations

import pytest

from cairn.core.names import (
    ArtifactPath,
    check_artifact_type,
    is_version_alias,
    parse_artifact_path,
    validate_aliases,
    validate_artifact_name,
    validate_artifact_type,
    validate_description,
    validate_entity_name,
    validate_project_name,
    validate_stored_aliases,
    validate_stored_tags,
    validate_tags,
)

# Every control character (Unicode category Cc), and what Python gives for bytes that are not
# UTF-8 (lone surrogates).
CONTROL = [chr(code) for code in [*range(0x20), *range(0x7F, 0xA0)]]
SURROGATES = ["\ud800", "\udcff", "\udfff"]

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


def test_control_is_category_cc() -> None:
    import unicodedata

    assert [chr(c) for c in range(0x110000) if unicodedata.category(chr(c)) == "Cc"] == CONTROL


@pytest.mark.parametrize("type_", ["a" * 128, "model", "Data Set", "é", "a/b:c", "x-y_z.1"])
def test_type_of_up_to_128_characters_is_accepted(type_: str) -> None:
    assert validate_artifact_type(type_, "name") == type_


def test_empty_type_is_refused() -> None:
    with pytest.raises(ValueError) as info:
        validate_artifact_type("", "name")
    assert str(info.value) == "Artifact type cannot be empty"


def test_type_over_128_characters_is_refused() -> None:
    assert validate_artifact_type("é" * 128, "x") == "é" * 128  # characters, not bytes
    for type_ in ("a" * 129, "é" * 129, "t" * 5000):
        with pytest.raises(ValueError) as info:
            validate_artifact_type(type_, "name")
        assert str(info.value) == (
            f"Artifact type is longer than 128 characters: '{type_[:128]} ...'"
        )


def test_type_limit_fits_the_database_column() -> None:
    from cairn.db.models import NAME_LENGTH

    validate_artifact_type("a" * NAME_LENGTH, "x")
    with pytest.raises(ValueError):
        validate_artifact_type("a" * (NAME_LENGTH + 1), "x")


@pytest.mark.parametrize("char", CONTROL + SURROGATES, ids=repr)
def test_type_with_control_character_is_refused(char: str) -> None:
    type_ = f"data{char}set"
    with pytest.raises(ValueError) as info:
        validate_artifact_type(type_, "name")
    assert str(info.value) == (
        f"Invalid artifact type {type_!r}: artifact types cannot contain control characters "
        f"or lone surrogates (found {char!r})"
    )


def test_type_message_lists_each_character_found_once() -> None:
    with pytest.raises(ValueError, match=r"\(found '\\x00', '\\n'\)$"):
        validate_artifact_type("\n\x00a\n\x00", "name")


def test_reserved_type_message_comes_first() -> None:
    with pytest.raises(ValueError, match="reserved for internal use"):
        validate_artifact_type("wandb-" + "x" * 200, "name")


@pytest.mark.parametrize("char", CONTROL + SURROGATES, ids=repr)
def test_alias_with_control_character_is_refused(char: str) -> None:
    alias = f"best{char}"
    with pytest.raises(ValueError) as info:
        validate_aliases(["ok", alias])
    assert str(info.value) == (
        f"Invalid alias {alias!r}: aliases cannot contain control characters or lone "
        f"surrogates (found {char!r})"
    )


def test_alias_slash_and_colon_keep_wandbs_message_first() -> None:
    with pytest.raises(ValueError) as info:
        validate_aliases(["a\x00", "x/y"])
    assert str(info.value) == "Aliases must not contain any of the following characters: '/', ':'"


def test_long_alias_is_cut_in_the_message() -> None:
    alias = "a" * 5000 + "\x00"
    with pytest.raises(ValueError) as info:
        validate_aliases(alias)
    assert str(info.value) == (
        f"Invalid alias {'a' * 100!r}...: aliases cannot contain control characters or lone "
        "surrogates (found '\\x00')"
    )


@pytest.mark.parametrize("alias", ["best", "é", "with space", "a" * 500, "\u200b", "v3", ""])
def test_other_aliases_are_accepted(alias: str) -> None:
    assert validate_aliases(alias) == [alias]


@pytest.mark.parametrize("char", CONTROL + SURROGATES + ["\u2028", "\xa0", "\u3000"], ids=repr)
def test_tags_refuse_control_characters(char: str) -> None:
    for tag in (char, f"a{char}b", f"ab{char}", f"{char}ab", f"a {char}b"):
        with pytest.raises(ValueError) as info:
            validate_tags(["fine", tag])
        assert str(info.value) == TAGS_MESSAGE


@pytest.mark.parametrize("char", CONTROL + SURROGATES, ids=repr)
def test_project_name_with_control_character_is_refused(char: str) -> None:
    name = f"proj{char}x"
    with pytest.raises(ValueError) as info:
        validate_project_name(name)
    assert str(info.value) == (
        f"Invalid project name {name!r}, cannot contain characters: {char!r}"
    )


def test_project_name_message_lists_nul_with_the_others() -> None:
    with pytest.raises(ValueError) as info:
        validate_project_name("a\x00b/c\x00")
    assert str(info.value) == (
        "Invalid project name 'a\\x00b/c\\x00', cannot contain characters: '\\x00', '/'"
    )


@pytest.mark.parametrize(
    "text", [None, "", "plain", "two\nlines\r\n\ttabbed", "é" * 10, "\x07\x1b"]
)
def test_description_accepted(text: str | None) -> None:
    assert validate_description(text, 65536) == text


def test_description_byte_limit() -> None:
    limit = 65536
    assert validate_description("a" * limit, limit) == "a" * limit
    assert validate_description("é" * (limit // 2), limit) == "é" * (limit // 2)
    assert validate_description("\U0001f600" * (limit // 4), limit) is not None
    for text in ("a" * (limit + 1), "é" * (limit // 2) + "a", "\U0001f600" * (limit // 4) + "a"):
        with pytest.raises(ValueError) as info:
            validate_description(text, limit)
        assert str(info.value) == "Artifact description is longer than 65536 bytes"
    # Bytes, not characters: 40,000 characters of two bytes are over 65,536.
    with pytest.raises(ValueError, match=r"^Artifact description is longer than 65536 bytes$"):
        validate_description("é" * 40_000, limit)
    with pytest.raises(ValueError, match=r"^Artifact description is longer than 10 bytes$"):
        validate_description("a" * 11, 10)


@pytest.mark.parametrize("text", ["\x00", "before\x00after", "a" * 70_000 + "\x00"])
def test_description_with_nul_is_refused(text: str) -> None:
    with pytest.raises(ValueError) as info:
        validate_description(text, 65536)
    assert str(info.value) == "Artifact description cannot contain a NUL character"


@pytest.mark.parametrize("text", ["\ud800", "bad \udcff name"])
def test_description_with_lone_surrogate_is_refused(text: str) -> None:
    with pytest.raises(ValueError) as info:
        validate_description(text, 65536)
    assert str(info.value) == "Artifact description cannot contain a lone surrogate"


def test_a_store_keeps_reserved_types_with_the_same_rule_otherwise() -> None:
    # the official client logs W&B's own types; the store's rule is the rest of the SDK's
    for type_ in ("wandb-history", "job", "run_table"):
        assert check_artifact_type(type_) == type_
    for bad in ("", "x" * 129, "data\tset"):
        with pytest.raises(ValueError) as store:
            check_artifact_type(bad)
        with pytest.raises(ValueError) as sdk:
            validate_artifact_type(bad, "name")
        assert str(store.value) == str(sdk.value)


@pytest.mark.parametrize("alias", ["", "a" * 129])
def test_stored_aliases_are_1_to_128_characters(alias: str) -> None:
    assert validate_aliases(["ok", alias]) == ["ok", alias]  # wandb's client rule lets it by
    with pytest.raises(ValueError) as info:
        validate_stored_aliases(["ok", alias])
    shown = repr(alias) if len(alias) <= 100 else repr(alias[:100]) + "..."
    assert str(info.value) == f"Invalid alias {shown}: aliases must be 1 to 128 characters long"


def test_stored_aliases_apply_wandbs_rule_first() -> None:
    assert validate_stored_aliases(None) == []
    assert validate_stored_aliases("best") == ["best"]
    assert validate_stored_aliases(["a" * 128, "latest", "v3"]) == ["a" * 128, "latest", "v3"]
    with pytest.raises(ValueError, match="must not contain any of the following"):
        validate_stored_aliases(["", "x/y"])


def test_stored_tags_are_at_most_128_characters() -> None:
    assert validate_stored_tags(["t" * 128, "a b", "a b"]) == ["t" * 128, "a b"]
    assert validate_tags(["t" * 129]) == ["t" * 129]  # wandb's client rule lets it by
    with pytest.raises(ValueError) as info:
        validate_stored_tags(["ok", "t" * 129])
    assert str(info.value) == f"Invalid tag {'t' * 40!r}...: tags are at most 128 long"
    with pytest.raises(ValueError, match=r"Invalid tag\(s\)"):
        validate_stored_tags(["t" * 129 + "/"])
