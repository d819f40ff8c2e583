"""What could never be downloaded is refused when it is added (issue 23), on every backend:
names no file system can hold, a file that another entry needs as a folder, control
characters, metadata nested too deep; ``latest`` stays with the server; and ``verify``
names every file that is missing or changed."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest

import cairn
from cairn.errors import VerificationError
from cairn.protocol import Backend

from .conftest import LogFn


def _file(tmp_path: Path, name: str = "f.txt", content: bytes = b"x") -> str:
    path = tmp_path / name
    path.write_bytes(content)
    return str(path)


def test_names_no_file_system_can_hold_are_refused_when_added(
    backend: Backend, tmp_path: Path
) -> None:
    art = cairn.Artifact("data", "dataset")
    source = _file(tmp_path)
    too_long = "é" * 128  # 256 bytes in UTF-8
    with pytest.raises(ValueError, match="component is longer than 255 bytes"):
        art.add_file(source, name=too_long)
    with pytest.raises(ValueError, match="longer than 4096 bytes"), art.new_file("a/" * 2048 + "f"):
        pass
    with pytest.raises(ValueError, match="Invalid artifact path: ''"), art.new_file(""):
        pass
    with pytest.raises(ValueError, match="Invalid artifact path"):
        art.add_reference("https://example.com/x.txt", name="", checksum=False)
    folder = tmp_path / "tree"
    folder.mkdir()
    (folder / "deep.txt").write_text("x")
    prefix = "/".join(["d" * 250] * 16)  # 4,015 bytes: valid alone, too long with a file
    with pytest.raises(ValueError, match="longer than 4096 bytes"):
        art.add_dir(str(folder), name=prefix + "/" + "e" * 200)
    assert art.manifest.entries == {}  # nothing of any refused add was added
    art.add_file(source, name="é" * 127)  # 254 bytes: fine
    assert list(art.manifest.entries) == ["é" * 127]


def test_a_file_and_a_folder_of_the_same_name_are_refused(backend: Backend, tmp_path: Path) -> None:
    source = _file(tmp_path)
    art = cairn.Artifact("data", "dataset")
    art.add_file(source, name="a")
    with pytest.raises(ValueError, match=r"'a/b'.*'a' is a file") as refused:
        art.add_file(source, name="a/b")
    assert "'a'" in str(refused.value) and "'a/b'" in str(refused.value)
    with pytest.raises(ValueError, match="'a' is a file"), art.new_file("a/c"):
        pass
    other = cairn.Artifact("data", "dataset")
    other.add_file(source, name="x/y/z")
    with pytest.raises(ValueError, match=r"'x/y/z'.*'x/y' is a file"):
        other.add_file(source, name="x/y")
    folder = tmp_path / "tree"
    (folder / "x").mkdir(parents=True)
    (folder / "x" / "y").write_text("clash")
    third = cairn.Artifact("data", "dataset")
    third.add_file(source, name="x")
    with pytest.raises(ValueError, match="'x' is a file"):
        third.add_dir(str(folder))
    assert list(third.manifest.entries) == ["x"]
    # removing the file frees the name for a folder
    third.remove("x")
    third.add_dir(str(folder))
    assert list(third.manifest.entries) == ["x/y"]


def test_control_characters_and_deep_metadata_are_refused(backend: Backend, log: LogFn) -> None:
    with pytest.raises(ValueError, match="control characters"):
        cairn.Artifact("data", "a\x00b")
    art = cairn.Artifact("data", "dataset")
    with art.new_file("f.txt") as handle:
        handle.write("x")
    with pytest.raises(ValueError, match="control characters"):
        log(art, aliases=["a\x01b"])
    with pytest.raises(ValueError, match="Invalid tag"):
        log(art, tags=["a\x00b"])
    deep: dict[str, object] = {}
    for _ in range(10_000):
        deep = {"k": deep}
    with pytest.raises(ValueError, match="nested deeper than 100 levels"):
        cairn.Artifact("data", "dataset", metadata=deep)
    with pytest.raises(ValueError, match="control characters"):
        cairn.Artifact("data", "dataset", metadata={"a\x00": 1})
    art.metadata = {"ok": 1}
    log(art)
    with pytest.raises(ValueError, match="control characters"):
        art.aliases = ["a\x01b"]
    with pytest.raises(ValueError, match="nested deeper than 100 levels"):
        art.metadata = deep
    art.save()
    assert cairn.Api().artifact("proj/data:v0").metadata == {"ok": 1}


def test_version_number_aliases_are_ignored_with_a_warning(backend: Backend, log: LogFn) -> None:
    art = cairn.Artifact("data", "dataset")
    with art.new_file("f.txt") as handle:
        handle.write("x")
    with pytest.warns(UserWarning, match="'v7' ignored"):
        log(art, aliases=["best", "v7"])
    assert sorted(cairn.Api().artifact("proj/data:v0").aliases) == ["best", "latest"]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"aliases": ["a" * 129]}, "aliases must be 1 to 128 characters long"),
        ({"aliases": [""]}, "aliases must be 1 to 128 characters long"),
        ({"tags": ["t" * 129]}, "tags are at most 128 long"),
    ],
    ids=["long-alias", "empty-alias", "long-tag"],
)
def test_values_no_store_keeps_are_refused_before_logging(
    backend: Backend, log: LogFn, values: dict[str, list[str]], message: str
) -> None:
    # the store's own rule (cairn.core), applied by the SDK before anything is sent
    art = cairn.Artifact("data", "dataset")
    with art.new_file("f.txt") as handle:
        handle.write("x")
    with pytest.raises(ValueError, match=message):
        log(art, **values)
    assert art.is_draft()
    log(art)
    assert art.name == "data:v0"  # the refused log left nothing behind


def test_the_store_moves_latest_to_every_new_version(backend: Backend, log: LogFn) -> None:
    first = cairn.Artifact("data", "dataset")
    with first.new_file("f.txt") as handle:
        handle.write("1")
    log(first)
    assert first.aliases == ["latest"]
    second = cairn.Artifact("data", "dataset")
    with second.new_file("f.txt") as handle:
        handle.write("2")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # naming latest is no ignored alias
        log(second, aliases=["latest", "best"])
    assert sorted(second.aliases) == ["best", "latest"]
    assert cairn.Api().artifact("proj/data:v0").aliases == []


def test_verify_names_every_missing_and_changed_file(
    backend: Backend, log: LogFn, tmp_path: Path
) -> None:
    art = cairn.Artifact("data", "dataset")
    for name in ("a.txt", "b.txt", "c.txt", "d.txt"):
        with art.new_file(name) as handle:
            handle.write(name)
    log(art)
    root = Path(cairn.Api().artifact("proj/data:v0").download(str(tmp_path / "down")))
    os.remove(root / "a.txt")
    os.remove(root / "b.txt")
    (root / "c.txt").write_text("changed")
    with pytest.raises(VerificationError) as found:
        art.verify(str(root))
    error = found.value
    assert isinstance(error, ValueError) and isinstance(error, FileNotFoundError)
    assert error.missing == ["a.txt", "b.txt"] and error.changed == ["c.txt"]
    assert str(error).startswith("Digest mismatch for file: c.txt")
    assert "a.txt, b.txt" in str(error)


def test_verify_names_a_folder_that_is_not_there(
    backend: Backend, log: LogFn, tmp_path: Path
) -> None:
    art = cairn.Artifact("data", "dataset")
    for name in ("a.txt", "sub/b.txt"):
        with art.new_file(name) as handle:
            handle.write(name)
    log(art)
    absent = tmp_path / "no" / "such" / "dir"
    with pytest.raises(VerificationError) as found:
        art.verify(str(absent))
    assert str(found.value) == f"Cannot verify artifact data:v0: {absent} does not exist"
    assert found.value.missing == ["a.txt", "sub/b.txt"] and found.value.changed == []
    plain = tmp_path / "plain"
    plain.write_text("x")
    with pytest.raises(VerificationError, match=f"{plain} is not a folder"):
        art.verify(str(plain))
