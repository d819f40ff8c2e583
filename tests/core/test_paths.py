"""The safe-path normaliser (spec §3.6) and lexical containment."""

from __future__ import annotations

from pathlib import Path

import pytest

from cairn.core.paths import (
    MAX_COMPONENT_BYTES,
    MAX_PATH_BYTES,
    is_within,
    normalize_artifact_path,
    safe_join,
    validate_entry_path,
)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("a.txt", "a.txt"),
        ("./y/./z.txt", "y/z.txt"),
        ("a//b/", "a/b"),
        ("d\\x.txt", "d\\x.txt"),
        ("é/ü.bin", "é/ü.bin"),
        ("...", "..."),
        ("a/..b/c..", "a/..b/c.."),
        (".hidden", ".hidden"),
    ],
)
def test_normalize(path: str, expected: str) -> None:
    assert normalize_artifact_path(path) == expected


@pytest.mark.parametrize(
    "path",
    [
        "",
        ".",
        "./",
        "/etc/passwd",
        "//x",
        "..",
        "../x",
        "a/../b",
        "a/..",
        "a\\..\\b",
        "..\\x",
        "C:\\x",
        "C:x",
        "c:/x",
        "\\x",
        "\\\\server\\share\\x",
        "a\x00b",
    ],
)
def test_normalize_rejects(path: str) -> None:
    with pytest.raises(ValueError) as info:
        normalize_artifact_path(path)
    assert str(info.value) == f"Invalid artifact path: '{path}'"


def test_safe_join(tmp_path: Path) -> None:
    assert safe_join(tmp_path, "./sub/./f.txt") == tmp_path / "sub" / "f.txt"
    assert safe_join(Path("rel"), "a/b") == Path("rel/a/b")
    for bad in ("../escape", "/abs", "a/../../b", "."):
        with pytest.raises(ValueError, match=r"^Invalid artifact path: "):
            safe_join(tmp_path, bad)


def test_is_within() -> None:
    root = Path("/data/root")
    assert is_within(root, root)
    assert is_within(root, root / "a" / "b")
    assert is_within(root, Path("/data/root/a/../b"))
    assert not is_within(root, Path("/data/root/../other"))
    assert not is_within(root, Path("/data/rootx/a"))
    assert not is_within(root, Path("/data"))
    assert not is_within(root, Path("data/root/a"))
    assert is_within(Path("rel"), Path("rel/./x"))


def _path_of_bytes(total: int, part: str = "a" * 200) -> str:
    """A path of exactly ``total`` UTF-8 bytes: copies of ``part`` (200 bytes), then ASCII."""
    parts: list[str] = []
    while True:
        room = total - len("/".join(parts).encode()) - (1 if parts else 0)
        if room <= MAX_COMPONENT_BYTES:
            parts.append("a" * room)
            break
        parts.append(part)
    path = "/".join(parts)
    assert len(path.encode()) == total
    return path


def test_limits_are_the_posix_ones() -> None:
    assert MAX_COMPONENT_BYTES == 255
    assert MAX_PATH_BYTES == 4096


@pytest.mark.parametrize(
    "component",
    [
        "a" * 255,
        "é" * 127 + "a",  # 254 + 1 bytes
        "\U0001f600" * 63 + "abc",  # 252 + 3 bytes
        "€" * 85,  # 3-byte characters: 255 bytes
    ],
    ids=["ascii", "two-byte", "four-byte", "three-byte"],
)
def test_component_of_255_bytes_is_accepted(component: str) -> None:
    assert len(component.encode()) == 255
    assert normalize_artifact_path(component) == component
    assert normalize_artifact_path(f"dir/{component}/x") == f"dir/{component}/x"
    assert validate_entry_path(f"{component}/x") == f"{component}/x"


@pytest.mark.parametrize(
    "component",
    ["a" * 256, "é" * 128, "\U0001f600" * 64, "a" * 254 + "é", "€" * 86, "x" * 5000],
    ids=[
        "256-ascii",
        "128-two-byte",
        "64-four-byte",
        "254-ascii-then-two-byte",
        "86-three-byte",
        "5000-ascii",
    ],
)
def test_component_over_255_bytes_is_refused(component: str) -> None:
    for path in (component, f"dir/{component}", f"{component}/x", f"./a/{component}/"):
        with pytest.raises(ValueError) as info:
            normalize_artifact_path(path)
        message = str(info.value)
        assert message.startswith("Invalid artifact path: '")
        assert message.endswith("': a path component is longer than 255 bytes")
        with pytest.raises(ValueError, match=r"a path component is longer than 255 bytes$"):
            validate_entry_path(path)


def test_component_limit_counts_the_normal_form() -> None:
    # Dots and empty components are not part of any component.
    padded = "./" * 300 + "a" * 255 + "//" * 300
    assert normalize_artifact_path(padded) == "a" * 255


@pytest.mark.parametrize(
    "part", ["a" * 200, "é" * 100, "\U0001f600" * 50], ids=["ascii", "two-byte", "four-byte"]
)
def test_path_of_4096_bytes_is_accepted_and_4097_refused(part: str) -> None:
    exactly = _path_of_bytes(4096, part)
    assert normalize_artifact_path(exactly) == exactly
    assert validate_entry_path(exactly) == exactly
    over = _path_of_bytes(4097, part)
    with pytest.raises(ValueError) as info:
        normalize_artifact_path(over)
    assert str(info.value) == (
        f"Invalid artifact path: '{over[:100]}...': the path is longer than 4096 bytes"
    )
    with pytest.raises(ValueError, match=r"the path is longer than 4096 bytes$"):
        validate_entry_path(over)
    # The last byte may be part of a multi-byte character.
    assert normalize_artifact_path(exactly[:-2] + "é") == exactly[:-2] + "é"
    with pytest.raises(ValueError, match=r"the path is longer than 4096 bytes$"):
        normalize_artifact_path(exactly[:-1] + "é")


def test_whole_path_limit_counts_the_normal_form() -> None:
    exactly = _path_of_bytes(4096)
    assert normalize_artifact_path("./" + exactly.replace("/", "/./") + "/") == exactly
    with pytest.raises(ValueError, match=r"the path is longer than 4096 bytes$"):
        normalize_artifact_path(_path_of_bytes(4097))
    with pytest.raises(ValueError, match=r"the path is longer than 4096 bytes$"):
        normalize_artifact_path("a/" * 2500)


def test_five_thousand_character_names_are_refused() -> None:
    for path in ("x" * 5000, "é" * 5000, "a/" * 2500 + "b", "../" + "x" * 5000):
        with pytest.raises(ValueError, match=r"^Invalid artifact path: '.{100}\.\.\.'"):
            normalize_artifact_path(path)
        with pytest.raises(ValueError, match=r"^Invalid artifact path: '.{100}\.\.\.'"):
            validate_entry_path(path)


def test_long_paths_are_truncated_in_messages() -> None:
    path = "../" + "x" * 5000
    with pytest.raises(ValueError) as info:
        normalize_artifact_path(path)
    assert str(info.value) == f"Invalid artifact path: '{path[:100]}...'"
    short = "../" + "x" * 97  # exactly 100 characters: shown whole
    with pytest.raises(ValueError) as info:
        normalize_artifact_path(short)
    assert str(info.value) == f"Invalid artifact path: '{short}'"


@pytest.mark.parametrize("path", ["bad\udcff.txt", "d/\ud800", "\udc80"])
def test_lone_surrogates_are_refused(path: str) -> None:
    # What os.fsdecode makes of a file name that is not UTF-8: no digest can be computed.
    with pytest.raises(ValueError) as info:
        normalize_artifact_path(path)
    assert str(info.value) == (
        f"Invalid artifact path: '{path}': it holds a lone surrogate, which UTF-8 cannot "
        "encode (a file name that is not UTF-8?)"
    )


@pytest.mark.parametrize(
    "path", ["a\nb.txt", "tab\there", "cr\r", "\x01", "bell\x07/x", "del\x7f", "c1\x85", "\x1b[0m"]
)
def test_control_characters_other_than_nul_are_literal(path: str) -> None:
    # POSIX file names may hold them and wandb accepts them; only NUL cannot be stored.
    assert normalize_artifact_path(path) == path
    assert validate_entry_path(path) == path


@pytest.mark.parametrize(
    "path",
    ["a.txt", "a/b/c.txt", "d\\x.txt", "é/ü.bin", ".hidden", "...", "a/..b/c..", "a\nb", "a b"],
)
def test_validate_entry_path_accepts_normal_paths(path: str) -> None:
    assert validate_entry_path(path) == path


HOSTILE = [
    "../../x",
    "/abs",
    "a/../../b",
    "..\\..\\x",
    "C:\\x",
    "C:x",
    "\\x",
    "a\x00b",
    "\x00",
    "",
    ".",
    "./",
    "..",
    "//x",
    "\\\\server\\share\\x",
]


@pytest.mark.parametrize("path", HOSTILE)
def test_validate_entry_path_refuses_hostile_paths(path: str) -> None:
    with pytest.raises(ValueError) as info:
        validate_entry_path(path)
    assert str(info.value) == f"Invalid artifact path: '{path}'"


@pytest.mark.parametrize(
    ("path", "normal"),
    [
        ("./a", "a"),
        ("a//b", "a/b"),
        ("a/", "a"),
        ("a/./b", "a/b"),
        ("./y/./z.txt", "y/z.txt"),
        ("a/b//", "a/b"),
    ],
)
def test_validate_entry_path_refuses_other_forms(path: str, normal: str) -> None:
    with pytest.raises(ValueError) as info:
        validate_entry_path(path)
    assert str(info.value) == (
        f"Invalid artifact path: '{path}': it is not in normal form ('{normal}')"
    )


def test_validate_entry_path_accepts_what_normalize_returns() -> None:
    for path in ("./y/./z.txt", "a//b/", "d\\x.txt", "é/ü.bin", "x/" * 100):
        normal = normalize_artifact_path(path)
        assert validate_entry_path(normal) == normal


def test_safe_join_refuses_long_components(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"a path component is longer than 255 bytes$"):
        safe_join(tmp_path, "x" * 256)
    assert safe_join(tmp_path, "x" * 255) == tmp_path / ("x" * 255)
