"""``Run.upsert_artifact`` / ``finish_artifact``: several runs write one version, on every
backend (the parts are gathered by the store, as W&B gathers them on its server)."""

from __future__ import annotations

from pathlib import Path

import pytest

import cairn
from cairn.errors import ArtifactFinalizedError, NotFoundError
from cairn.protocol import Backend


def _shard(tmp_path: Path, i: int) -> Path:
    path = tmp_path / f"shard{i}.txt"
    path.write_text(f"shard {i}\n")
    return path


def test_two_writers_and_a_finisher_make_one_version(backend: Backend, tmp_path: Path) -> None:
    for i in range(2):
        with cairn.init(project="p", job_type="shard") as writer:
            part = cairn.Artifact("dist", "dataset")
            part.add_file(str(_shard(tmp_path, i)))
            returned = writer.upsert_artifact(part, distributed_id="d1")
            assert returned is part and part.id is None  # a part is not a version
            with pytest.raises(ArtifactFinalizedError):
                part.add_file(str(_shard(tmp_path, 9)))  # nor a draft any more
    api = cairn.Api()
    with pytest.raises(cairn.errors.CommError):
        api.artifact("p/dist:latest")  # nothing committed yet
    with cairn.init(project="p", job_type="finish") as closer:
        index = tmp_path / "index.txt"
        index.write_text("both shards\n")
        final = cairn.Artifact("dist", "dataset", metadata={"shards": 2})
        final.add_file(str(index))
        closer.finish_artifact(final, distributed_id="d1", aliases=["complete"])
    assert final.version == "v0"
    got = api.artifact("p/dist:complete")
    assert got.metadata == {"shards": 2}
    assert sorted(got.manifest.entries) == ["index.txt", "shard0.txt", "shard1.txt"]
    where = Path(got.download(root=str(tmp_path / "down")))
    assert (where / "shard1.txt").read_text() == "shard 1\n"
    assert [a.version for a in api.artifacts("dataset", "p/dist")] == ["v0"]


def test_the_run_group_is_the_default_id(backend: Backend, tmp_path: Path) -> None:
    with cairn.init(project="p", group="g1") as writer:
        part = cairn.Artifact("grouped", "dataset")
        part.add_file(str(_shard(tmp_path, 0)))
        writer.upsert_artifact(part)
    with cairn.init(project="p", group="g1") as closer:
        closer.finish_artifact(cairn.Artifact("grouped", "dataset"))
    got = cairn.Api().artifact("p/grouped:latest")
    assert sorted(got.manifest.entries) == ["shard0.txt"]


def test_refusals(backend: Backend, tmp_path: Path) -> None:
    with cairn.init(project="p") as run:
        with pytest.raises(TypeError, match="group or distributed_id"):
            run.upsert_artifact(cairn.Artifact("x", "dataset"))
        with pytest.raises(NotFoundError, match="no parts"):
            run.finish_artifact(cairn.Artifact("x", "dataset"), distributed_id="never-used")
    with pytest.raises(cairn.errors.CommError):
        cairn.Api().artifact("p/x:latest")
