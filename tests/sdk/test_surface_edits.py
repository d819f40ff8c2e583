"""Edits after logging (issue 3 §1): description, metadata, aliases, tags, collections."""

from __future__ import annotations

from pathlib import Path

import pytest

import cairn
from cairn.errors import CommError
from cairn.protocol import Backend


def _log(tmp_path: Path, content: str, name: str = "data", aliases: list[str] | None = None):
    source = tmp_path / f"{name}-{content}.txt"
    source.write_text(content)
    art = cairn.Artifact(name, "dataset", description="first")
    art.add_file(str(source), name="f.txt")
    with cairn.init(project="proj") as run:
        run.log_artifact(art, aliases=aliases)
    return art


def test_edits_are_saved_and_read_back(backend: Backend, tmp_path: Path) -> None:
    art = _log(tmp_path, "one")
    art.description = "second"
    art.metadata = {"acc": 0.9}
    art.aliases.append("best")
    art.tags = ["gold", "needs review"]
    art.save()
    fetched = cairn.Api().artifact("proj/data:v0")
    assert fetched.description == "second"
    assert fetched.metadata == {"acc": 0.9}
    assert sorted(fetched.aliases) == ["best", "latest"]
    assert fetched.tags == ["gold", "needs review"]
    assert fetched.updated_at >= fetched.created_at
    fetched.tags = ["gold"]
    fetched.aliases.remove("best")
    fetched.save()
    again = cairn.Api().artifact("proj/data:v0")
    assert again.tags == ["gold"]
    assert again.aliases == ["latest"]


def test_user_alias_moves_and_latest_stays_on_the_newest(backend: Backend, tmp_path: Path) -> None:
    v0 = _log(tmp_path, "one", aliases=["best"])
    v1 = _log(tmp_path, "two")
    v1.aliases.append("best")
    v1.save()
    api = cairn.Api()
    assert api.artifact("proj/data:best").version == "v1"
    assert "best" not in api.artifact("proj/data:v0").aliases
    v1.aliases.remove("latest")
    v1.save()
    with pytest.raises(CommError):
        api.artifact("proj/data:latest")
    old = api.artifact("proj/data:v0")
    old.aliases.append("latest")
    with pytest.warns(UserWarning, match="'latest' ignored"):
        old.save()  # the server keeps latest on the newest version (spec §3.3)
    assert "latest" not in old.aliases
    with pytest.raises(CommError):
        api.artifact("proj/data:latest")
    v1.aliases.append("latest")
    v1.save()
    assert api.artifact("proj/data:latest").id == v1.id
    assert api.artifact("proj/data:v0").id == v0.id


def test_refused_edits_change_nothing(backend: Backend, tmp_path: Path) -> None:
    art = _log(tmp_path, "one")
    with pytest.raises(ValueError, match="Invalid tag"):
        art.tags = ["bad.tag"]
    with pytest.raises(ValueError, match="Aliases must not contain"):
        art.aliases = ["a/b"]
    art.metadata = {"k": 1}
    art.description = "changed"
    art._state.tags = ["bad.tag"]  # bypass the setter: the service refuses it too
    with pytest.raises(ValueError, match="Invalid tag"):
        art.save()
    fetched = cairn.Api().artifact("proj/data:v0")
    assert fetched.description == "first"
    assert fetched.metadata == {}
    assert fetched.tags == []


def test_collection_description_tags_and_delete(backend: Backend, tmp_path: Path) -> None:
    _log(tmp_path, "one")
    _log(tmp_path, "two")
    api = cairn.Api()
    collection = api.artifact_collection("dataset", "proj/data")
    collection.description = "all the data"
    collection.tags = ["team-a"]
    collection.save()
    again = api.artifact_collection("dataset", "proj/data")
    assert again.description == "all the data"
    assert again.tags == ["team-a"]
    with pytest.raises(ValueError, match="Invalid tag"):
        again.tags = ["no/slash"]
    again.delete()
    assert not api.artifact_collection_exists("proj/data", "dataset")
    assert not api.artifact_exists("proj/data:v1")
    # The name is free again, and indices are never reused.
    art = _log(tmp_path, "three")
    assert art.version == "v2"


def test_save_outside_a_run_logs_through_an_auto_run(backend: Backend, tmp_path: Path) -> None:
    source = tmp_path / "x.txt"
    source.write_text("x")
    art = cairn.Artifact("solo", "dataset")
    art.add_file(str(source))
    art.save(project="proj")
    assert art.wait(timeout=5) is art
    assert art.state == "COMMITTED"
    run = art.logged_by()
    assert run is not None and run.job_type == "auto"
    assert cairn.run is None
    entity = backend.settings.entity
    assert art.url == (f"{backend.settings.ui_url}/{entity}/proj/artifacts/dataset/solo/v0")


def test_use_as_is_deprecated_and_storage_region_in_manifest(backend: Backend) -> None:
    with pytest.warns(DeprecationWarning):
        art = cairn.Artifact("r", "dataset", use_as="x", storage_region="eu-1")
    with pytest.warns(DeprecationWarning):
        assert art.use_as is None
    assert art.manifest.storage_policy_config["storageRegion"] == "eu-1"


def test_collection_is_renamed_and_retyped_with_its_versions(
    backend: Backend, tmp_path: Path
) -> None:
    first = _log(tmp_path, "one", name="coll")
    _log(tmp_path, "two", name="coll")
    api = cairn.Api()
    collection = api.artifact_collection("dataset", "proj/coll")
    collection.name = "renamed"
    collection.description = "now renamed"
    collection.save()
    renamed = api.artifact_collection("dataset", "proj/renamed")
    assert (renamed.id, renamed.description) == (collection.id, "now renamed")
    assert api.artifact("proj/renamed:v0").id == first.id
    with pytest.raises(CommError):
        api.artifact("proj/coll:v0")
    renamed.change_type("model")
    assert api.artifact_collection("model", "proj/renamed").type == "model"
    assert api.artifact("proj/renamed:v1").type == "model"
    with pytest.raises(ValueError, match="reserved"):
        renamed.type = "job"
    _log(tmp_path, "taken", name="other")
    clash = api.artifact_collection("dataset", "proj/other")
    clash.name = "renamed"
    with pytest.raises(ValueError, match="exists"):
        clash.save()
    linked = api.artifact("proj/other:v0")
    linked.link("proj/portfolio")
    again = api.artifact_collection("dataset", "proj/other")
    again.type = "model"
    with pytest.raises(ValueError, match="linked"):
        again.save()
    assert api.artifact("proj/other:v0").type == "dataset"
