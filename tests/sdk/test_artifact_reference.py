"""add_reference for file:// and unknown schemes (spec §5, §5.5, §5.7, TV4)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cairn.core.digest import digest_bytes
from cairn.sdk.artifact import Artifact


def test_no_scheme_is_refused(cairn_dir: Path) -> None:
    with pytest.raises(
        ValueError, match=r"^References must be URIs\. To reference a local file, use file://$"
    ):
        Artifact("x", "dataset").add_reference("/data/a.txt")


def test_file_reference_to_a_file(cairn_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "extra.bin"
    source.write_bytes(b"hello\n")
    art = Artifact("x", "dataset")
    [entry] = art.add_reference(source.as_uri())
    assert (entry.path, entry.ref, entry.size) == ("extra.bin", source.as_uri(), 6)
    assert entry.digest == "sZRqySSS0jR8YjW00mERhA=="
    assert entry.local_path is None
    [named] = art.add_reference(source.as_uri(), name="other/name.bin", checksum=False)
    assert named.path == "other/name.bin"
    assert named.digest == digest_bytes(source.resolve().as_uri().encode())
    assert art.manifest.to_json()["contents"]["extra.bin"] == {
        "digest": "sZRqySSS0jR8YjW00mERhA==",
        "ref": source.as_uri(),
        "size": 6,
    }


def test_tv4_path_digest_for_checksum_false() -> None:
    assert digest_bytes(b"file:///data/a.txt") == "AlCpgpg+vJK96nZQZNExfg=="


def test_file_reference_to_a_directory(cairn_dir: Path, tv1_tree: Path) -> None:
    uri = tv1_tree.as_uri()
    art = Artifact("x", "dataset")
    entries = art.add_reference(uri, name="ref")
    assert [(e.path, e.ref, e.size) for e in entries] == [
        ("ref/a.txt", f"{uri}/a.txt", 6),
        ("ref/sub/b.bin", f"{uri}/sub/b.bin", 1024),
    ]
    assert entries[0].digest == "sZRqySSS0jR8YjW00mERhA=="
    unchecked = Artifact("y", "dataset").add_reference(uri, checksum=False)
    assert [e.path for e in unchecked] == ["a.txt", "sub/b.bin"]  # still walked, sizes kept
    assert unchecked[1].size == 1024
    assert unchecked[1].digest == digest_bytes((tv1_tree / "sub" / "b.bin").as_uri().encode())


def test_file_reference_does_not_follow_symlinked_directories(
    cairn_dir: Path, tmp_path: Path
) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "f").write_text("x")
    (tree / "loop").symlink_to(tree)
    entries = Artifact("x", "dataset").add_reference(tree.as_uri())
    assert [e.path for e in entries] == ["f"]


def test_file_reference_max_objects(cairn_dir: Path, tv1_tree: Path) -> None:
    art = Artifact("x", "dataset")
    with pytest.raises(
        ValueError, match=r"^Exceeded 1 objects tracked, pass max_objects to add_reference$"
    ):
        art.add_reference(tv1_tree.as_uri(), max_objects=1)
    assert art.manifest.entries == {}
    assert len(art.add_reference(tv1_tree.as_uri(), max_objects=2)) == 2


def test_file_reference_errors(cairn_dir: Path, tmp_path: Path) -> None:
    art = Artifact("x", "dataset")
    missing = (tmp_path / "missing").as_uri()
    with pytest.raises(
        ValueError, match=rf"^Path '{missing}' must be a valid file or directory path$"
    ):
        art.add_reference(missing)
    tree = tmp_path / "tree"
    tree.mkdir()
    os.mkfifo(tree / "pipe")
    with pytest.raises(ValueError, match=r"Cannot add a FIFO to an artifact: '.*pipe'"):
        art.add_reference(tree.as_uri())
    (tmp_path / "f").write_text("x")
    with pytest.raises(ValueError, match="Invalid artifact path"):
        art.add_reference((tmp_path / "f").as_uri(), name="../f")
    assert art.manifest.entries == {}


def test_reference_collisions_follow_the_add_entry_rule(cairn_dir: Path, tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    one.write_text("1")
    two.write_text("2")
    art = Artifact("x", "dataset")
    art.add_reference(one.as_uri(), name="f")
    art.add_reference(one.as_uri(), name="f")
    with pytest.raises(ValueError, match=r"^Cannot add the same path twice: 'f'$"):
        art.add_reference(two.as_uri(), name="f")


@pytest.mark.parametrize(
    "uri", ["foo://bar/baz", "ftp://example.com/x.csv", "wandb-client-artifact://abc/x"]
)
def test_unknown_schemes_are_tracked_verbatim(cairn_dir: Path, uri: str) -> None:
    art = Artifact("x", "dataset")
    with pytest.raises(ValueError) as info:
        art.add_reference(uri)
    assert str(info.value) == (
        'You must pass name="<entry_name>" when tracking references with unknown schemes. '
        f"ref: {uri}"
    )
    with pytest.warns(UserWarning, match="unsupported schemes cannot be checksummed"):
        [entry] = art.add_reference(uri, name="baz")
    assert entry.to_json() == {"digest": uri, "ref": uri}
    assert entry.size is None


def test_tv4_unknown_scheme_entry(cairn_dir: Path) -> None:
    art = Artifact("x", "dataset")
    with pytest.warns(UserWarning):
        art.add_reference("foo://bar/baz", name="baz")
    assert art.manifest.to_json()["contents"] == {
        "baz": {"digest": "foo://bar/baz", "ref": "foo://bar/baz"}
    }
