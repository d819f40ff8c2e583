"""The rules of a copy (``service/replication.py``) through the engine, between embedded
stores: numbers kept or appended with the mapping reported, no gap for a version deleted
at the source, alias conflicts left or forced, a missing registry refused before anything
is written, a dry run that writes nothing."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

import cairn
import cairn.connect
from cairn.core.manifest import Manifest
from cairn.errors import NotFoundError
from cairn.protocol import CommitRequest, ReplicaLink, ReplicaVersion
from cairn.replication.engine import Engine, Options, Renumbered, Summary
from cairn.replication.source import BackendSource, Selection
from cairn.sdk import backend_cache
from cairn.service.backend import EmbeddedBackend
from cairn.settings import Settings
from replication_seed import PROJECT, seed

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from cairn.protocol import Backend


@contextmanager
def sdk_on(path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The SDK writes into the embedded store at ``path`` meanwhile."""
    backend_cache.close_all()
    monkeypatch.setenv("CAIRN_DIR", str(path))
    yield
    backend_cache.close_all()


def _store(path: Path) -> EmbeddedBackend:
    return EmbeddedBackend(Settings.load({"cairn_dir": path}))


def _copy(source: Backend, dest: Backend, selection: str = "", **options: object) -> Summary:
    chosen = Selection.parse(selection or None)
    return Engine(BackendSource(source, chosen), dest, Options(**options)).run()  # type: ignore[arg-type]


def _own_data(tmp_path: Path, content: str, aliases: list[str]) -> None:
    """A ``data`` version logged at the destination itself."""
    source = tmp_path / f"own-{content}.txt"
    source.write_text(content)
    art = cairn.Artifact("data", "dataset")
    art.add_file(str(source))
    with cairn.init(project=PROJECT) as run:
        run.log_artifact(art, aliases=aliases)


def test_numbers_are_kept_when_the_collection_holds_the_versions_before(
    cairn_dir: Path, tmp_path: Path
) -> None:
    seed(tmp_path)
    source, dest = _store(cairn_dir), _store(tmp_path / "dest")
    first = _copy(source, dest, f"tester/{PROJECT}/data")
    assert (first.versions, first.renumbered) == (3, [])
    for index in range(3):
        assert dest.resolve_version("tester", PROJECT, "data", f"v{index}").digest == (
            source.resolve_version("tester", PROJECT, "data", f"v{index}").digest
        )


def test_appended_after_the_destinations_own_versions_with_the_mapping(
    cairn_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dest_dir = tmp_path / "dest"
    with sdk_on(dest_dir, monkeypatch):
        _own_data(tmp_path, "theirs", ["best"])
    with sdk_on(cairn_dir, monkeypatch):
        seed(tmp_path)
    source, dest = _store(cairn_dir), _store(dest_dir)
    summary = _copy(source, dest, f"tester/{PROJECT}/data")
    path = f"tester/{PROJECT}/data"
    assert summary.versions == 3
    assert summary.renumbered == [Renumbered(path, i, i + 1) for i in range(3)]
    # "best" stays on the destination's own v0: a conflict, reported
    assert [(c.alias, c.held_by_index) for c in summary.conflicts] == [("best", 0)]
    assert dest.resolve_version("tester", PROJECT, "data", "best").version_index == 0
    assert dest.resolve_version("tester", PROJECT, "data", "raw").version_index == 1
    assert dest.resolve_version("tester", PROJECT, "data", "latest").version_index == 3
    # again: nothing to do, the conflict still reported
    again = _copy(source, dest, f"tester/{PROJECT}/data")
    assert (again.versions, again.updated, again.unchanged) == (0, 0, 3)
    assert [c.alias for c in again.conflicts] == ["best"]
    # --force-aliases moves it
    forced = _copy(source, dest, f"tester/{PROJECT}/data", force_aliases=True)
    assert (forced.updated, forced.aliases_moved, forced.conflicts) == (1, 1, [])
    assert dest.resolve_version("tester", PROJECT, "data", "best").version_index == 2


def test_no_gap_for_a_version_deleted_at_the_source(cairn_dir: Path, tmp_path: Path) -> None:
    seed(tmp_path)
    cairn.Api().artifact(f"tester/{PROJECT}/data:v1").delete(delete_aliases=True)
    source, dest = _store(cairn_dir), _store(tmp_path / "dest")
    summary = _copy(source, dest, f"tester/{PROJECT}/data")
    assert summary.versions == 2
    assert summary.renumbered == [Renumbered(f"tester/{PROJECT}/data", 2, 1)]
    assert dest.get_collection("tester", PROJECT, "data").version_count == 2
    assert dest.resolve_version("tester", PROJECT, "data", "v1").digest == (
        source.resolve_version("tester", PROJECT, "data", "v2").digest
    )


def test_a_missing_registry_is_refused_before_anything_is_written(
    cairn_dir: Path, tmp_path: Path
) -> None:
    cairn.Api().create_registry("audit", visibility="organization")
    seed(tmp_path, registry="audit")
    source, dest = _store(cairn_dir), _store(tmp_path / "dest")
    with pytest.raises(NotFoundError, match="Registry 'audit' does not exist at the destination"):
        _copy(source, dest)
    assert dest.list_projects(None, 100) == []


def test_a_dry_run_writes_nothing(cairn_dir: Path, tmp_path: Path) -> None:
    seed(tmp_path)
    source, dest = _store(cairn_dir), _store(tmp_path / "dest")
    summary = _copy(source, dest, dry_run=True)
    assert (summary.versions, summary.collections, summary.runs) == (4, 2, 2)
    assert summary.line("synced").startswith("would have synced 4 versions of 2 collections")
    # (the core registry ``model`` exists in every store: it is made when first asked for)
    assert [p.name for p in dest.list_projects(None, 100)] == ["wandb-registry-model"]


def test_a_copy_deleted_at_the_destination_is_not_copied_again(
    cairn_dir: Path, tmp_path: Path
) -> None:
    seed(tmp_path)
    source, dest = _store(cairn_dir), _store(tmp_path / "dest")
    _copy(source, dest, f"tester/{PROJECT}/data")
    dest.delete_version(dest.resolve_version("tester", PROJECT, "data", "v0").id, True)
    again = _copy(source, dest, f"tester/{PROJECT}/data")
    assert (again.versions, again.updated, again.unchanged) == (0, 0, 3)
    assert dest.get_collection("tester", PROJECT, "data").version_count == 2


def test_a_version_changed_at_the_source_is_updated_in_place(
    cairn_dir: Path, tmp_path: Path
) -> None:
    seed(tmp_path)
    source, dest = _store(cairn_dir), _store(tmp_path / "dest")
    _copy(source, dest, f"tester/{PROJECT}/data")
    art = cairn.Api().artifact(f"tester/{PROJECT}/data:v0")
    art.description = "edited"
    art.metadata = {"n": "edited"}
    art.tags = ["late"]
    art.aliases.append("stable")
    art.save()
    again = _copy(source, dest, f"tester/{PROJECT}/data")
    assert (again.versions, again.updated, again.unchanged, again.aliases_moved) == (0, 1, 2, 1)
    there = dest.resolve_version("tester", PROJECT, "data", "v0")
    assert (there.description, there.metadata, there.tags) == ("edited", {"n": "edited"}, ["late"])
    assert "stable" in there.aliases


def _empty_copy(created_at: str, **fields: object) -> ReplicaVersion:
    manifest = Manifest()
    commit = CommitRequest(
        entity="tester",
        project="p",
        collection="c",
        type="dataset",
        digest=manifest.digest(),
        digest_algorithm="MD5",
        manifest_json=manifest.to_json_bytes(),
    )
    return ReplicaVersion(commit, "elsewhere", "QXJ0aWZhY3Q6MQ==", created_at, **fields)  # type: ignore[arg-type]


def test_a_copy_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    """A time in the future, a run or a registry that does not exist here."""
    dest = _store(tmp_path / "dest")
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    with pytest.raises(ValueError, match="in the future"):
        dest.replicate_version(_empty_copy(future))
    with pytest.raises(ValueError, match="expected ISO 8601"):
        dest.replicate_version(_empty_copy("yesterday"))
    with pytest.raises(NotFoundError, match="run 'tester/p/ghost' not found"):
        dest.replicate_version(
            _empty_copy("2020-01-01T00:00:00Z", used_by=[("tester", "p", "ghost")])
        )
    with pytest.raises(NotFoundError, match="registry 'absent' not found"):
        dest.replicate_version(
            _empty_copy("2020-01-01T00:00:00Z", links=[ReplicaLink("absent", "c")])
        )
    assert dest.list_projects(None, 100) == []
    made = dest.replicate_version(_empty_copy("2020-01-01T00:00:00Z"))
    assert made.created and made.version.created_at == "2020-01-01T00:00:00Z"
    again = dest.replicate_version(_empty_copy("2020-01-01T00:00:00Z"))
    assert not again.created and again.version.id == made.version.id
