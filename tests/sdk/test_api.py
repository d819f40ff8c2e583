"""Api: artifact lookups by every name form, listings and their pages, collections, types, runs."""

from __future__ import annotations

from pathlib import Path

import pytest

import cairn.connect  # noqa: F401  (registers the backends, as ``import cairn`` does)
from cairn.errors import CommError
from cairn.protocol import Backend
from cairn.sdk.api import Api
from cairn.sdk.artifact import Artifact
from cairn.sdk.collections import (
    ArtifactCollection,
    ArtifactCollections,
    Artifacts,
    ArtifactType,
    ArtifactTypes,
)
from cairn.sdk.public_run import PublicRun
from cairn.sdk.run import init


def _draft(tmp_path: Path, content: str, name: str, type_: str = "dataset") -> Artifact:
    source = tmp_path / "src" / f"{name}-{content}.txt"
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_text(content)
    artifact = Artifact(name, type_, description=f"{name} data")
    artifact.add_file(str(source), name="file.txt")
    return artifact


@pytest.fixture
def logged(backend: Backend, tmp_path: Path) -> str:
    """Project ``p`` of the backend's entity: ``data`` v0..v2 (v1 aliased ``best``), ``weights``
    v0; returns the run id."""
    with init(project="p", job_type="prepare", config={"k": 1}) as run:
        run.log_artifact(_draft(tmp_path, "0", "data"), tags=["raw"])
        run.log_artifact(_draft(tmp_path, "1", "data"), aliases=["best"], tags=["raw", "clean"])
        run.log_artifact(_draft(tmp_path, "2", "data"))
        run.log_artifact(_draft(tmp_path, "w", "weights", "model"))
    return run.id


# ---------------------------------------------------------------- artifact


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("data", "data:v2"),
        ("data:latest", "data:v2"),
        ("data:best", "data:v1"),
        ("data:v0", "data:v0"),
        ("p/data:v1", "data:v1"),
        ("{entity}/p/data:best", "data:v1"),
    ],
)
def test_artifact_name_forms(
    backend: Backend, logged: str, monkeypatch: pytest.MonkeyPatch, name: str, expected: str
) -> None:
    entity = backend.settings.entity
    monkeypatch.setenv("CAIRN_PROJECT", "p")
    artifact = Api().artifact(name.format(entity=entity), type="dataset")
    assert artifact.name == expected
    assert (artifact.entity, artifact.project, artifact.type) == (entity, "p", "dataset")


def test_overrides_set_the_default_entity_and_project(backend: Backend, logged: str) -> None:
    entity = backend.settings.entity
    api = Api(overrides={"entity": entity, "project": "p", "run": "ignored"})
    assert api.artifact("data:v0").name == "data:v0"
    assert api.default_entity == entity
    assert api.settings["project"] == "p"
    with pytest.raises(ValueError, match="Unknown Api overrides: nonsense"):
        Api(overrides={"nonsense": 1})


def test_unknown_artifact_is_a_comm_error_naming_it(backend: Backend, logged: str) -> None:
    entity = backend.settings.entity
    api = Api()
    with pytest.raises(CommError, match=f"{entity}/p/data:v9"):
        api.artifact("p/data:v9")
    with pytest.raises(CommError, match=f"{entity}/p/nothing:latest"):
        api.artifact("p/nothing")
    with pytest.raises(ValueError, match="You must specify name="):
        api.artifact("")


def test_type_mismatch_is_a_comm_error_and_a_value_error(logged: str) -> None:
    # wandb 0.31 raises CommError (normalize_exceptions wraps its ValueError); both clauses work
    message = "^type 'model' specified but this artifact is of type 'dataset'$"
    with pytest.raises(CommError, match=message):
        Api().artifact("p/data:v0", type="model")
    with pytest.raises(ValueError, match=message):
        Api().artifact("p/data:v0", type="model")


def test_artifact_exists(logged: str) -> None:
    api = Api()
    assert api.artifact_exists("p/data:best")
    assert api.artifact_exists("p/data:v0", type="dataset")
    assert not api.artifact_exists("p/data:v0", type="model")
    assert not api.artifact_exists("p/data:v3")
    assert not api.artifact_exists("nowhere/data:v0")
    assert not api.artifact_exists("bad name!")


# ---------------------------------------------------------------- versions


def test_artifacts_lists_versions_newest_first(logged: str) -> None:
    versions = Api().artifacts("dataset", "p/data")
    assert isinstance(versions, Artifacts)
    assert len(versions) == 3
    assert [a.name for a in versions] == ["data:v2", "data:v1", "data:v0"]
    assert versions[0].name == "data:v2"
    assert versions[-1].name == "data:v0"
    assert [a.version for a in versions[1:]] == ["v1", "v0"]


def test_artifacts_pages_with_a_cursor(backend: Backend, logged: str) -> None:
    entity = backend.settings.entity
    versions = Api().artifacts("dataset", f"{entity}/p/data", per_page=2)
    assert versions.more and versions.cursor is None
    assert versions[0].name == "data:v2"
    assert len(versions.objects) == 2 and versions.more
    assert [a.name for a in versions] == ["data:v2", "data:v1", "data:v0"]
    assert not versions.more and versions.cursor is None
    assert [a.name for a in versions] == ["data:v2", "data:v1", "data:v0"]  # iterable again


def test_artifacts_filtered_by_all_tags(logged: str) -> None:
    api = Api()
    assert [a.name for a in api.artifacts("dataset", "p/data", tags=["raw"])] == [
        "data:v1",
        "data:v0",
    ]
    both = api.artifacts("dataset", "p/data", per_page=1, tags=["raw", "clean"])
    assert len(both) == 1 and both[0].name == "data:v1"
    with pytest.raises(ValueError, match="Invalid tag"):
        api.artifacts("dataset", "p/data", tags=["a.b"])


def test_artifact_versions_is_a_deprecated_alias(logged: str) -> None:
    with pytest.warns(DeprecationWarning, match="artifact_versions"):
        versions = Api().artifact_versions("dataset", "p/data")
    assert [a.version for a in versions] == ["v2", "v1", "v0"]


def test_artifacts_of_wrong_type_or_unknown_collection(backend: Backend, logged: str) -> None:
    entity = backend.settings.entity
    with pytest.raises(CommError, match="of type 'model'"):
        Api().artifacts("model", "p/data")
    with pytest.raises(CommError, match=f"{entity}/p/missing"):
        Api().artifacts("dataset", "p/missing")


# ---------------------------------------------------------------- collections and types


def test_artifact_collection(backend: Backend, logged: str) -> None:
    entity = backend.settings.entity
    collection = Api().artifact_collection("dataset", "p/data")
    assert isinstance(collection, ArtifactCollection)
    assert (collection.entity, collection.project, collection.name, collection.type) == (
        entity,
        "p",
        "data",
        "dataset",
    )
    assert collection.is_sequence()
    assert set(collection.aliases) >= {"latest", "best"}
    assert collection.tags == []
    assert collection.id and collection.created_at
    assert [a.name for a in collection.artifacts()] == ["data:v2", "data:v1", "data:v0"]
    assert [a.name for a in collection.versions()] == ["data:v2", "data:v1", "data:v0"]
    assert repr(collection) == "<ArtifactCollection data (dataset)>"


def test_logged_artifact_collection_is_the_api_collection(logged: str) -> None:
    api = Api()
    artifact = api.artifact("p/data:v1")
    assert artifact.collection == api.artifact_collection("dataset", "p/data")
    assert artifact.collection.aliases == api.artifact_collection("dataset", "p/data").aliases
    with pytest.raises(ValueError, match="per_page"):
        artifact.collection.artifacts(per_page=0)


def test_artifact_collection_exists(backend: Backend, logged: str) -> None:
    entity = backend.settings.entity
    api = Api()
    assert api.artifact_collection_exists("p/data", "dataset")
    assert api.artifact_collection_exists(f"{entity}/p/weights", "model")
    assert not api.artifact_collection_exists("p/data", "model")
    assert not api.artifact_collection_exists("p/missing", "dataset")
    with pytest.raises(CommError, match="of type 'model'"):
        api.artifact_collection("model", "p/data")


def test_artifact_collections(backend: Backend, logged: str) -> None:
    entity = backend.settings.entity
    api = Api()
    collections = api.artifact_collections("p", "dataset")
    assert isinstance(collections, ArtifactCollections)
    assert [c.name for c in collections] == ["data"]
    models = api.artifact_collections(f"{entity}/p", "model", per_page=1)
    assert len(models) == 1 and models[0].name == "weights" and models[0].type == "model"
    assert list(api.artifact_collections("p", "no-such-type")) == []


def test_artifact_types(backend: Backend, logged: str) -> None:
    entity = backend.settings.entity
    api = Api(overrides={"project": "p"})
    types = api.artifact_types()
    assert isinstance(types, ArtifactTypes)
    assert sorted(t.name for t in types) == ["dataset", "model"]
    assert sorted(t.name for t in api.artifact_types(f"{entity}/p")) == ["dataset", "model"]
    dataset = api.artifact_type("dataset")
    assert isinstance(dataset, ArtifactType)
    assert (dataset.name, dataset.type, dataset.project) == ("dataset", "dataset", "p")
    assert [c.name for c in dataset.collections()] == ["data"]
    assert dataset.collection("data").artifacts()[0].name == "data:v2"
    with pytest.raises(CommError, match="of type 'dataset'"):
        dataset.collection("weights")
    with pytest.raises(CommError, match="artifact type 'code'"):
        api.artifact_type("code")
    with pytest.raises(ValueError, match="Invalid project path"):
        api.artifact_types("a/b/c")


# ---------------------------------------------------------------- runs


def test_run_paths(backend: Backend, logged: str) -> None:
    entity = backend.settings.entity
    api = Api(overrides={"project": "p"})
    for path in (logged, f"p/{logged}", f"{entity}/p/{logged}", f"{entity}/p/runs/{logged}"):
        run = api.run(path)
        assert isinstance(run, PublicRun)
        assert (run.id, run.entity, run.project) == (logged, entity, "p")
        assert run.job_type == "prepare" and run.config == {"k": 1}
        assert run.state == "finished" and run.path == [entity, "p", logged]
    with pytest.raises(CommError, match=f"{entity}/p/{logged}x"):
        api.run(f"{logged}x")
    with pytest.raises(ValueError, match="Invalid run path"):
        api.run("")


@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
def test_api_reads_cairn_dir_when_created(
    logged: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Embedded only: which local store ``CAIRN_DIR`` names is the behaviour under test."""
    first = Api()
    monkeypatch.setenv("CAIRN_DIR", str(tmp_path / "elsewhere"))
    second = Api()
    assert first.artifact_exists("p/data:v0")
    assert not second.artifact_exists("p/data:v0")
    assert (tmp_path / "elsewhere" / "cairn.db").exists()
