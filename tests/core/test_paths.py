"""The safe-path normaliser (spec §3.6) and lexical containment."""

from __future__ import annotations

from pathlib import Path

import pytest

from cairn.core.paths import is_within, normalize_artifact_path, safe_join


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
