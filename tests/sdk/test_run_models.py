"""``log_model``, ``use_model`` and ``link_model`` on every backend, with wandb's names,
types, registry path and errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import cairn
from cairn.protocol import Backend
from cairn.sdk.run import current_run


@pytest.fixture(autouse=True)
def _no_leftover_run(cairn_dir: Path) -> Iterator[None]:
    assert current_run() is None
    yield
    cairn.finish()


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    root = tmp_path / "model"
    root.mkdir()
    (root / "weights.bin").write_bytes(b"\x00" * 64)
    (root / "config.json").write_text("{}")
    return root


def test_log_and_use_a_model(backend: Backend, model_dir: Path, tmp_path: Path) -> None:
    with cairn.init(project="p") as producer:
        producer.log_model(model_dir, name="net", aliases=["best"])
        cairn.log_model(model_dir / "weights.bin")  # default name: run-<id>-<basename>
    api = cairn.Api()
    net = api.artifact("p/net:best")
    assert (net.type, sorted(net.aliases)) == ("model", ["best", "latest"])
    assert api.artifact(f"p/run-{producer.id}-weights.bin:v0").type == "model"
    with cairn.init(project="p") as consumer:
        folder = consumer.use_model("net:latest")
        single = cairn.use_model(f"run-{producer.id}-weights.bin:v0")
        data = tmp_path / "data.txt"
        data.write_text("rows")
        consumer.log_artifact(str(data), name="data", type="dataset")
        with pytest.raises(AssertionError, match="only use this method for 'model' artifacts"):
            consumer.use_model("data:latest")
    assert sorted(p.name for p in Path(folder).iterdir()) == ["config.json", "weights.bin"]
    assert Path(single).name == "weights.bin" and Path(single).read_bytes() == b"\x00" * 64
    assert [a.name for a in consumer.used_artifacts()][:2] == [
        "net:v0",
        f"run-{producer.id}-weights.bin:v0",
    ]


def test_link_model_links_into_the_entity_s_model_registry(
    backend: Backend, model_dir: Path
) -> None:
    entity = backend.settings.entity
    with cairn.init(project="p") as run:
        first = run.link_model(model_dir, "classifier", name="net", aliases=["staging"])
        assert first is not None
        assert (first.entity, first.project, first.name) == (
            entity,
            "model-registry",
            "classifier:v0",
        )
        assert "staging" in first.aliases
        (model_dir / "weights.bin").write_bytes(b"\x01" * 64)
        second = cairn.link_model(model_dir, "classifier", name="net")
        assert second is not None and second.name == "classifier:v1"
        with pytest.raises(AssertionError, match="only the name of the registered model"):
            run.link_model(model_dir, "team/classifier")
        data = model_dir.parent / "d.txt"
        data.write_text("x")
        run.log_artifact(str(data), name="table", type="dataset")
        with pytest.raises(AssertionError, match="'model' artifacts"):
            run.link_model(model_dir, "classifier", name="table")
    linked = cairn.Api().artifact(f"{entity}/model-registry/classifier:latest")
    assert (linked.type, linked.source_name) == ("model", "net:v1")
