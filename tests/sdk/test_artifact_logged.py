"""Logging drafts through ``_log`` and the logged-artifact surface (spec §4.8-4.11)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

import pytest

from cairn.core.digest import decode_artifact_id
from cairn.errors import ArtifactFinalizedError, CommError, CorruptionError
from cairn.protocol import Backend, BlobRef
from cairn.sdk.artifact import Artifact
from cairn.sdk.run import init

LogFn = Callable[..., Artifact]


def _tv1(tv1_tree: Path, name: str = "tv") -> Artifact:
    art = Artifact(name, "dataset", description="raw", metadata={"rows": 2})
    art.add_dir(str(tv1_tree))
    return art


def test_log_turns_the_draft_into_a_logged_version(
    cairn_dir: Path, tv1_tree: Path, backend: Backend, log: LogFn
) -> None:
    entity = backend.settings.entity
    art = _tv1(tv1_tree)
    with art.new_file("notes.txt") as handle:
        handle.write("v0")
    digest = art.digest
    log(art, aliases=["best"], tags=["raw"])
    assert not art.is_draft() and art.state == "COMMITTED"
    assert art.id is not None and decode_artifact_id(art.id) > 0
    assert base64.b64decode(art.id).decode().startswith("Artifact:")
    assert (art.name, art.version, art.source_name, art.source_version) == (
        "tv:v0",
        "v0",
        "tv:v0",
        "v0",
    )
    assert (art.entity, art.project, art.source_entity, art.source_project) == (
        entity,
        "proj",
        entity,
        "proj",
    )
    assert art.qualified_name == art.source_qualified_name == f"{entity}/proj/tv:v0"
    assert sorted(art.aliases) == ["best", "latest"]
    assert art.tags == ["raw"]
    assert (art.type, art.description, art.metadata) == ("dataset", "raw", {"rows": 2})
    assert art.digest == digest
    assert art.size == 1032
    assert art.file_count == 3
    assert art.created_at and art.updated_at and art.commit_hash
    assert art.history_step is None
    assert art.is_link is False
    assert art.source_artifact is art
    assert art.wait() is art
    ui = (
        "http://127.0.0.1:8421"
        if backend.settings.mode == "embedded"
        else backend.settings.base_url
    )
    assert art.url == f"{ui}/{entity}/proj/artifacts/dataset/tv/v0"
    assert (art.collection.name, art.collection.type) == ("tv", "dataset")
    assert art.source_collection.name == "tv"
    assert art.json_encode() == {
        "_type": "artifactVersion",
        "_version": "v0",
        "id": art.id,
        "version": "v0",
        "sequenceName": "tv",
        "usedAs": None,
    }
    assert sorted(art.manifest.entries) == ["a.txt", "notes.txt", "sub/b.bin"]
    with pytest.raises(ArtifactFinalizedError, match=r"'Artifact\.add_file' used on logged"):
        art.add_file(str(tv1_tree / "a.txt"), name="more.txt")
    with pytest.raises(ValueError, match="Aliases must not contain"):
        art.aliases = ["a/b"]
    art.aliases = ["x"]
    art.tags = ["t1", "t1"]
    assert (art.aliases, art.tags) == (["x"], ["t1"])


def test_versions_and_the_digest_no_op(cairn_dir: Path, tmp_path: Path, log: LogFn) -> None:
    source = tmp_path / "f.txt"
    source.write_text("one")
    first = Artifact("data", "dataset")
    first.add_file(str(source))
    log(first)
    same = Artifact("data", "dataset")
    same.add_file(str(source))
    with pytest.warns(UserWarning, match=r'^Artifact "data" already exists with the same content'):
        log(same)
    assert (same.id, same.name) == (first.id, "data:v0")
    source.write_text("two")
    second = Artifact("data", "dataset")
    second.add_file(str(source))
    log(second)
    assert second.name == "data:v1" and second.aliases == ["latest"]
    log(second)  # logging a logged artifact changes nothing
    assert second.name == "data:v1"


def test_log_validates_everything_before_writing(
    cairn_dir: Path, tmp_path: Path, backend: Backend, log: LogFn
) -> None:
    source = tmp_path / "f.txt"
    source.write_text("never stored")
    art = Artifact("data", "dataset")
    entry = art.add_file(str(source), policy="immutable")
    blob = BlobRef(entry.digest, "md5", entry.size or 0)
    with pytest.raises(ValueError, match="Aliases must not contain"):
        log(art, aliases=["a:b"])
    with pytest.raises(ValueError, match="Invalid tag"):
        log(art, tags=["no.dots"])
    art.metadata["bad"] = float("inf")  # mutated in place after the setter checked it
    with pytest.raises(ValueError, match="Out of range float"):
        log(art)
    assert art.is_draft()
    entity = backend.settings.entity
    assert backend.missing_blobs(entity, [blob]) == [blob]
    with pytest.raises(CommError):
        backend.resolve_version(entity, "proj", "data", "latest")


def test_changed_immutable_file_is_refused(
    cairn_dir: Path, tmp_path: Path, backend: Backend, log: LogFn
) -> None:
    source = tmp_path / "f.txt"
    source.write_text("original")
    art = Artifact("data", "dataset")
    art.add_file(str(source), policy="immutable")
    source.write_text("modified")
    with pytest.raises(CorruptionError):
        log(art)
    with pytest.raises(CommError):
        backend.resolve_version(backend.settings.entity, "proj", "data", "latest")


def test_from_version_reads_lazily(
    cairn_dir: Path, tv1_tree: Path, backend: Backend, log: LogFn
) -> None:
    logged = log(_tv1(tv1_tree), aliases=["best"])
    info = backend.resolve_version(backend.settings.entity, "proj", "tv", "best")
    fetched = Artifact._from_version(info, backend)
    assert fetched._state.manifest is None
    assert (fetched.id, fetched.name, fetched.digest, fetched.size) == (
        logged.id,
        "tv:v0",
        "a9de54bcfcda910d54642598a7c54bd5",
        1030,
    )
    assert fetched._state.manifest is None  # digest and size came from the backend
    assert fetched.manifest.entries["a.txt"].digest == "sZRqySSS0jR8YjW00mERhA=="
    entry = fetched.get_entry("a.txt")
    assert entry.parent_artifact() is fetched
    hex_id = base64.b64decode(fetched.id or "").hex()
    assert entry.ref_url() == f"wandb-artifact://{hex_id}/a.txt"
    with pytest.raises(KeyError, match="Path not contained in artifact: nope"):
        fetched.get_entry("nope")
    with pytest.raises(KeyError, match="Path not contained in artifact"):
        fetched.get_entry("../a.txt")
    with pytest.warns(DeprecationWarning):
        assert fetched.get_path("sub/b.bin").size == 1024


def test_incremental_keeps_the_latest_files(cairn_dir: Path, tmp_path: Path, log: LogFn) -> None:
    (tmp_path / "a").write_text("a")
    (tmp_path / "b").write_text("b")
    base = Artifact("inc", "dataset")
    base.add_file(str(tmp_path / "a"))
    log(base)
    with pytest.warns(UserWarning, match="incremental"):
        more = Artifact("inc", "dataset", incremental=True)
    more.add_file(str(tmp_path / "b"))
    log(more)
    assert more.name == "inc:v1"
    assert sorted(more.manifest.entries) == ["a", "b"]


def test_new_draft_copies_the_version(cairn_dir: Path, tv1_tree: Path, log: LogFn) -> None:
    logged = log(_tv1(tv1_tree))
    draft = logged.new_draft()
    assert draft.is_draft() and draft.name == "tv" and draft.metadata == {"rows": 2}
    assert draft.digest == logged.digest
    assert all(e.local_path is None for e in draft.manifest.entries.values())
    with pytest.warns(UserWarning, match="already exists with the same content"):
        log(draft)
    assert draft.name == "tv:v0"
    changed = logged.new_draft()
    changed.remove("sub")
    log(changed)  # the remaining blobs are already stored: nothing to upload
    assert changed.name == "tv:v1" and list(changed.manifest.entries) == ["a.txt"]


def test_xxh128_round_trip(cairn_dir: Path, tv1_tree: Path, log: LogFn, tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match="XXH128"):
        art = Artifact("fast", "dataset", digest_algorithm="XXH128")
    art.add_dir(str(tv1_tree))
    log(art)
    assert art.digest_algorithm == "XXH128"
    assert art.digest == "abc3c6221133c03bdfec0c5c3c413574"
    root = art.download(tmp_path / "out")
    art.verify(root)
    assert (Path(root) / "sub" / "b.bin").read_bytes() == bytes(range(256)) * 4


def test_through_a_run(cairn_dir: Path, tv1_tree: Path) -> None:
    with init(project="mnist", job_type="prepare") as run:
        art = Artifact("mnist", "dataset")
        art.add_dir(str(tv1_tree))
        run.log_artifact(art, aliases=["best"])
    assert art.qualified_name == "tester/mnist/mnist:v0"
    with init(project="mnist", job_type="train") as run:
        used = run.use_artifact("mnist:best")
        path = used.download()
        used.verify(path)
    assert Path(path) == cairn_dir.parent / "artifacts" / "mnist:v0"
    assert (Path(path) / "a.txt").read_bytes() == b"hello\n"
