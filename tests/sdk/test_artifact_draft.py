"""Draft artifacts: constructor, guards, add_file/add_dir/new_file, remove (spec §3, §4.1-4.8)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from cairn.errors import ArtifactFinalizedError, ArtifactNotLoggedError
from cairn.protocol import Backend
from cairn.sdk.artifact import Artifact

NOT_LOGGED = (
    "used prior to logging artifact or while in offline mode. "
    "Call Artifact.wait() before accessing logged artifact properties."
)


def _blob_files(cairn_dir: Path) -> list[Path]:
    blobs = cairn_dir / "blobs"
    return (
        [p for p in blobs.rglob("*") if p.is_file() and "tmp" not in p.parts]
        if blobs.exists()
        else []
    )


# ---------------------------------------------------------------- constructor


def test_constructor_validates_name_type_and_metadata(cairn_dir: Path) -> None:
    with pytest.raises(ValueError, match=r"Invalid name: 'a/b'"):
        Artifact("a/b", "dataset")
    with pytest.raises(ValueError, match=r"Artifact type 'job' is reserved"):
        Artifact("x", "job")
    with pytest.raises(ValueError, match=r"more than 100 metadata keys"):
        Artifact("x", "dataset", metadata={str(i): i for i in range(101)})
    with pytest.raises(TypeError, match=r"Cannot parse"):
        Artifact("x", "dataset", metadata=[1, 2])  # type: ignore[arg-type]


def test_draft_properties(cairn_dir: Path) -> None:
    art = Artifact("mnist", "dataset", description="raw", metadata={"rows": 7, "nan": float("nan")})
    assert art.id is None
    assert art.name == art.source_name == "mnist"
    assert art.type == "dataset"
    assert art.description == "raw"
    assert art.metadata == {"rows": 7, "nan": None}
    assert art.state == "PENDING"
    assert art.is_draft()
    assert art.is_link is False
    assert art.digest == "64e7c61456b10382e2f3b571ac24b659"  # empty artifact, spec §1.4
    assert art.size == 0
    assert art.manifest.entries == {}
    assert art.digest_algorithm == "MD5"
    assert repr(art) == "<Artifact mnist>"
    art.metadata = {"k": "v"}
    assert art.metadata == {"k": "v"}
    with pytest.raises(ValueError, match=r"Out of range float"):
        art.metadata = {"k": float("inf")}


def test_constructor_warnings_and_options(cairn_dir: Path) -> None:
    with pytest.warns(DeprecationWarning, match=r"use_as"):
        art = Artifact("x", "dataset", use_as="foo")
    with pytest.warns(DeprecationWarning):
        assert art.use_as is None
    with pytest.warns(UserWarning, match=r"experimental arg `incremental`"):
        assert Artifact("x", "dataset", incremental=True).incremental
    with pytest.warns(UserWarning, match=r"XXH128"):
        assert Artifact("x", "dataset", digest_algorithm="XXH128").digest_algorithm == "XXH128"
    assert Artifact("x", "dataset", digest_algorithm="sha1").digest_algorithm == "MD5"
    regional = Artifact("x", "dataset", storage_region=" coreweave-us ")
    assert regional.manifest.to_json()["storagePolicyConfig"] == {
        "storageLayout": "V2",
        "storageRegion": "coreweave-us",
    }


@pytest.mark.parametrize(
    ("member", "guarded"),
    [
        ("entity", "entity"),
        ("project", "project"),
        ("version", "version"),
        ("collection", "collection"),
        ("source_entity", "source_entity"),
        ("source_project", "source_project"),
        ("source_version", "source_version"),
        ("source_collection", "source_collection"),
        ("source_artifact", "source_artifact"),
        ("url", "url"),
        ("aliases", "aliases"),
        ("tags", "tags"),
        ("commit_hash", "commit_hash"),
        ("file_count", "file_count"),
        ("created_at", "created_at"),
        ("updated_at", "updated_at"),
        ("history_step", "history_step"),
        ("qualified_name", "entity"),
        ("source_qualified_name", "source_entity"),
        ("ttl", "ttl"),
    ],
)
def test_logged_only_properties_raise_on_drafts(cairn_dir: Path, member: str, guarded: str) -> None:
    art = Artifact("x", "dataset")
    with pytest.raises(ArtifactNotLoggedError) as info:
        getattr(art, member)
    assert str(info.value) == f"'Artifact.{guarded}' {NOT_LOGGED}"
    assert isinstance(info.value, AttributeError)
    assert not hasattr(art, member)


@pytest.mark.parametrize(
    ("call", "guarded"),
    [
        (lambda a: a.get_entry("x"), "get_entry"),
        (lambda a: a.download(), "download"),
        (lambda a: a.checkout(), "checkout"),
        (lambda a: a.verify(), "verify"),
        (lambda a: a.file(), "file"),
        (lambda a: a.files(), "files"),
        (lambda a: a.json_encode(), "json_encode"),
        (lambda a: a.new_draft(), "new_draft"),
        (lambda a: a.wait(), "wait"),
        (lambda a: setattr(a, "aliases", ["x"]), "aliases"),
        (lambda a: setattr(a, "tags", ["x"]), "tags"),
    ],
)
def test_logged_only_methods_raise_on_drafts(cairn_dir: Path, call: object, guarded: str) -> None:
    art = Artifact("x", "dataset")
    with pytest.raises(ArtifactNotLoggedError, match=f"^'Artifact.{guarded}' used prior"):
        call(art)  # type: ignore[operator]


def test_get_path_warns_then_needs_a_logged_artifact(cairn_dir: Path) -> None:
    art = Artifact("x", "dataset")
    with (
        pytest.warns(DeprecationWarning, match=r"get_path"),
        pytest.raises(ArtifactNotLoggedError, match=r"'Artifact.get_entry'"),
    ):
        art.get_path("x")


def test_finalize_forbids_changes(cairn_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "f.txt"
    source.write_text("x")
    art = Artifact("x", "dataset")
    art.add_file(str(source))
    art.finalize()
    assert art.is_draft() and art.state == "PENDING"
    calls = {
        "add_file": lambda: art.add_file(str(source), name="other"),
        "add_dir": lambda: art.add_dir(str(tmp_path)),
        "add_reference": lambda: art.add_reference("file:///tmp"),
        "new_file": lambda: art.new_file("n.txt"),
        "remove": lambda: art.remove("f.txt"),
    }
    for method, call in calls.items():
        with pytest.raises(ArtifactFinalizedError) as info:
            call()
        assert str(info.value) == (
            f"'Artifact.{method}' used on logged artifact. Can't modify finalized artifact."
        )
    assert list(art.manifest.entries) == ["f.txt"]


# ---------------------------------------------------------------- add_file


def test_add_file_mutable_copies_into_the_store(cairn_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "labels.csv"
    source.write_bytes(b"hello\n")
    art = Artifact("x", "dataset")
    entry = art.add_file(str(source), name="meta/labels.csv")
    assert (entry.path, entry.digest, entry.size) == (
        "meta/labels.csv",
        "sZRqySSS0jR8YjW00mERhA==",
        6,
    )
    assert entry.local_path is not None
    stored = Path(entry.local_path)
    assert stored != source and stored.is_relative_to(cairn_dir)
    source.write_bytes(b"changed")  # later edits to the source do not matter
    assert stored.read_bytes() == b"hello\n"
    assert art.get_added_local_path_name(str(source)) == "meta/labels.csv"
    assert art.get_added_local_path_name("elsewhere") is None
    assert art.manifest.to_json()["contents"] == {
        "meta/labels.csv": {"digest": "sZRqySSS0jR8YjW00mERhA==", "size": 6}
    }


def test_add_file_immutable_only_hashes(cairn_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "a.txt"
    source.write_bytes(b"hello\n")
    art = Artifact("x", "dataset")
    entry = art.add_file(source, policy="immutable")
    assert entry.local_path == str(source)
    assert entry.path == "a.txt"
    assert _blob_files(cairn_dir) == []


def test_add_file_validation_happens_before_anything_is_stored(
    cairn_dir: Path, tmp_path: Path
) -> None:
    source = tmp_path / "a.txt"
    source.write_bytes(b"data")
    art = Artifact("x", "dataset")
    with pytest.raises(ValueError, match=r"^Path is not a file: '.*missing'$"):
        art.add_file(str(tmp_path / "missing"))
    with pytest.raises(ValueError, match=r"Path is not a file"):
        art.add_file(str(tmp_path))
    with pytest.raises(
        ValueError, match=r"^Invalid policy 'foo'\. Policy may only be `mutable` or `immutable`\.$"
    ):
        art.add_file(str(source), policy="foo")
    for bad in ("../escape.txt", "/abs.txt", ".", "C:\\x"):
        with pytest.raises(ValueError, match=r"Invalid artifact path"):
            art.add_file(str(source), name=bad)
    assert art.manifest.entries == {}
    assert _blob_files(cairn_dir) == []


def test_add_file_collision_rules(cairn_dir: Path, tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    one.write_text("1")
    two.write_text("2")
    art = Artifact("x", "dataset")
    art.add_file(str(one), name="f")
    art.add_file(str(one), name="f")  # same digest: fine
    with pytest.raises(ValueError, match=r"^Cannot add the same path twice: 'f'$"):
        art.add_file(str(two), name="f")
    assert (
        art.add_file(str(two), name="f", overwrite=True).digest == art.manifest.entries["f"].digest
    )
    assert art.manifest.entries["f"].size == 1


def test_add_file_is_tmp_renames_by_digest(cairn_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "x.tar.gz"
    source.write_bytes(bytes(range(256)) * 4)
    art = Artifact("x", "dataset")
    entry = art.add_file(str(source), name="media/x.tar.gz", is_tmp=True)
    assert entry.path == "media/b2ea9f7fcea831a4a63b.tar.gz"


# ---------------------------------------------------------------- add_dir


def test_add_dir_tv1(cairn_dir: Path, tv1_tree: Path) -> None:
    art = Artifact("test-vector", "dataset")
    art.add_dir(str(tv1_tree))
    assert art.digest == "a9de54bcfcda910d54642598a7c54bd5"
    assert art.size == 1030
    assert art.manifest.to_json() == {
        "version": 1,
        "storagePolicy": "wandb-storage-policy-v1",
        "storagePolicyConfig": {"storageLayout": "V2"},
        "contents": {
            "a.txt": {"digest": "sZRqySSS0jR8YjW00mERhA==", "size": 6},
            "sub/b.bin": {"digest": "suqff86oMaSmOyE/QaiFWw==", "size": 1024},
        },
    }
    assert art.get_added_local_path_name(os.path.join(str(tv1_tree), "sub", "b.bin")) == "sub/b.bin"


def test_add_dir_tv1_variants(cairn_dir: Path, tv1_tree: Path) -> None:
    named = Artifact("test-vector", "dataset")
    named.add_dir(str(tv1_tree), name="data")
    assert sorted(named.manifest.entries) == ["data/a.txt", "data/sub/b.bin"]
    assert named.digest == "b5bdbd575e5d6a79f0d0a89659f2db41"
    with pytest.warns(UserWarning, match=r"XXH128"):
        fast = Artifact("test-vector", "dataset", digest_algorithm="XXH128")
    fast.add_dir(str(tv1_tree), policy="immutable")
    entry = fast.manifest.entries["a.txt"]
    assert (entry.digest, entry.extra) == ("a7qGx+Bp9W1aELQ18cjknA==", {"alg": "XXH128"})
    assert fast.manifest.entries["sub/b.bin"].digest == "g4hehTu2ZAyocPkphDmNIg=="
    assert fast.digest == "abc3c6221133c03bdfec0c5c3c413574"


def test_add_dir_merge_rules(cairn_dir: Path, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a").write_text("1")
    (tree / "b").write_text("2")
    art = Artifact("x", "dataset")
    art.add_dir(str(tree))
    art.add_dir(str(tree))  # identical files are fine
    (tree / "a").write_text("changed")
    (tree / "c").write_text("new")
    with pytest.raises(ValueError, match=r"^Cannot add the same path twice: 'a'$"):
        art.add_dir(str(tree))
    assert sorted(art.manifest.entries) == ["a", "b"]  # nothing of the refused call was added
    art.add_dir(str(tree), merge=True)
    assert sorted(art.manifest.entries) == ["a", "b", "c"]
    assert art.manifest.entries["a"].size == len("changed")


def test_add_dir_rejects_non_directories_and_bad_input(cairn_dir: Path, tmp_path: Path) -> None:
    art = Artifact("x", "dataset")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match=r"^Path is not a directory: '.*file'$"):
        art.add_dir(str(tmp_path / "file"))
    with pytest.raises(ValueError, match=r"Invalid policy"):
        art.add_dir(str(tmp_path), policy="sometimes")
    with pytest.raises(ValueError, match=r"Invalid artifact path"):
        art.add_dir(str(tmp_path), name="../up")


def test_add_dir_follows_symlinks_and_records_targets(cairn_dir: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "deep.txt").write_text("deep")
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / ".hidden").write_text("h")
    (tree / "empty").mkdir()
    (tree / "linked-dir").symlink_to(outside)
    (tree / "linked-file").symlink_to(outside / "deep.txt")
    art = Artifact("x", "dataset")
    art.add_dir(str(tree))
    assert sorted(art.manifest.entries) == [".hidden", "linked-dir/deep.txt", "linked-file"]
    assert art.manifest.entries["linked-file"].size == 4


def test_add_dir_lists_files_in_the_order_of_their_paths(cairn_dir: Path, tmp_path: Path) -> None:
    # A folder sorts by its name and "/": "a-b/x" < "a.txt" < "a/x" < "a0", as wandb's
    # sorted manifest has them, whatever order the file system lists them in.
    tree = tmp_path / "tree"
    for relative in ["a/x", "a-b/x", "a.txt", "a0", "a/b/c", "a/b.txt", "Z", "é/é"]:
        (tree / relative).parent.mkdir(parents=True, exist_ok=True)
        (tree / relative).write_text(relative)
    art = Artifact("x", "dataset")
    art.add_dir(str(tree))
    expected = sorted(["a/x", "a-b/x", "a.txt", "a0", "a/b/c", "a/b.txt", "Z", "é/é"])
    assert list(art.manifest.entries) == expected
    assert [entry.size for entry in art.manifest.entries.values()] == [
        len(path.encode()) for path in expected
    ]
    prefixed = Artifact("y", "dataset")
    prefixed.add_dir(str(tree), name="data")
    assert list(prefixed.manifest.entries) == [f"data/{path}" for path in expected]


def test_add_dir_sends_unusual_names_through_the_normaliser(
    cairn_dir: Path, tmp_path: Path
) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "plain").write_text("1")
    (tree / "back\\slash").write_text("2")  # kept as is, as wandb does on POSIX
    art = Artifact("x", "dataset")
    art.add_dir(str(tree))
    assert list(art.manifest.entries) == ["back\\slash", "plain"]
    (tree / "a:b").write_text("3")  # a drive-like name is refused, and nothing is added
    other = Artifact("y", "dataset")
    with pytest.raises(ValueError, match=r"^Invalid artifact path: 'a:b'$"):
        other.add_dir(str(tree))
    assert other.manifest.entries == {}


def test_add_dir_refuses_symlink_loops_without_hanging(cairn_dir: Path, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "f.txt").write_text("x")
    (tree / "sub" / "back").symlink_to(tree)
    art = Artifact("x", "dataset")
    with pytest.raises(ValueError, match=r"Symlink loop: '.*back'"):
        art.add_dir(str(tree))
    assert art.manifest.entries == {}
    assert _blob_files(cairn_dir) == []


def test_add_dir_refuses_self_referencing_link(cairn_dir: Path, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "me").symlink_to(tree / "me")
    with pytest.raises(ValueError, match=r"Symlink loop: '.*me'"):
        Artifact("x", "dataset").add_dir(str(tree))


def test_add_dir_refuses_fifos_and_sockets_before_copying(cairn_dir: Path, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a-regular.txt").write_text("x")
    os.mkfifo(tree / "pipe")
    art = Artifact("x", "dataset")
    with pytest.raises(ValueError, match=r"^Cannot add a FIFO to an artifact: '.*pipe'$"):
        art.add_dir(str(tree))
    os.unlink(tree / "pipe")
    sock_dir = Path("/tmp") / f"cairn-sock-{os.getpid()}"
    sock_dir.mkdir(exist_ok=True)
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(sock_dir / "s"))
        (tree / "sock").symlink_to(sock_dir / "s")
        with pytest.raises(ValueError, match=r"^Cannot add a socket to an artifact: '.*sock'$"):
            art.add_dir(str(tree))
    finally:
        server.close()
        os.unlink(sock_dir / "s")
        sock_dir.rmdir()
    assert art.manifest.entries == {}
    assert _blob_files(cairn_dir) == []


def test_add_dir_refuses_devices(cairn_dir: Path, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "null").symlink_to("/dev/null")
    with pytest.raises(
        ValueError, match=r"^Cannot add a character device to an artifact: '.*null'$"
    ):
        Artifact("x", "dataset").add_dir(str(tree))


def test_add_dir_refuses_broken_symlinks(cairn_dir: Path, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "dangling").symlink_to(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match=r"dangling"):
        Artifact("x", "dataset").add_dir(str(tree))


# ---------------------------------------------------------------- new_file, remove


def test_new_file(cairn_dir: Path) -> None:
    art = Artifact("x", "dataset")
    with art.new_file("notes/n.txt") as handle:
        handle.write("v0")
    entry = art.manifest.entries["notes/n.txt"]
    assert entry.size == 2 and entry.skip_cache is True
    with (
        pytest.raises(
            ValueError, match=r"^File with name 'notes/n.txt' already exists at '.*n.txt'$"
        ),
        art.new_file("notes/n.txt") as handle,
    ):
        handle.write("v1")
    with art.new_file("notes/n.txt", mode="w") as handle:
        handle.write("v1!")
    assert art.manifest.entries["notes/n.txt"].size == 3
    with pytest.raises(ValueError, match=r"Invalid artifact path"), art.new_file("../x"):
        pass
    with pytest.raises(RuntimeError), art.new_file("failed.txt") as handle:
        raise RuntimeError("body failed")
    assert "failed.txt" not in art.manifest.entries
    with art.new_file("bytes.bin", mode="xb") as raw:
        raw.write(b"\x00\x01")
        raw.close()  # closing inside the block is fine
    assert art.manifest.entries["bytes.bin"].size == 2


def test_remove(cairn_dir: Path, tv1_tree: Path) -> None:
    art = Artifact("x", "dataset")
    art.add_dir(str(tv1_tree), name="d")
    art.add_file(str(tv1_tree / "a.txt"))
    art.remove("d/sub")
    assert sorted(art.manifest.entries) == ["a.txt", "d/a.txt"]
    art.remove(art.manifest.entries["a.txt"])
    with pytest.raises(FileNotFoundError, match=r"^No such file or directory: nothing$"):
        art.remove("nothing")
    entry = art.manifest.entries["d/a.txt"]
    art.remove("d/a.txt")
    with pytest.raises(FileNotFoundError, match=r"^Cannot remove missing entry: 'd/a.txt'$"):
        art.remove(entry)
    assert art.manifest.entries == {}


def test_drafts_open_the_backend_lazily(
    cairn_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend: Backend
) -> None:
    art = Artifact("x", "dataset")
    assert art._state.backend is None
    source = tmp_path / "f"
    source.write_text("x")
    art.add_file(str(source))
    assert art._state.backend is backend
