"""The flow of issue 2, end to end, written exactly as a W&B user writes it, on every backend
(embedded, and a real ``cairn server`` on SQLite and on PostgreSQL + S3)."""

from __future__ import annotations

import filecmp
from pathlib import Path

import pytest

import cairn as wandb
from cairn.protocol import Backend
from cairn.service.fsck import check_store
from cairn.settings import Settings


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_issue_flow(backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CAIRN_ARTIFACT_DIR")  # the default download root: ./artifacts
    data = tmp_path / "data"
    (data / "train").mkdir(parents=True)
    (data / "train" / "images.bin").write_bytes(bytes(range(256)) * 400)
    (data / "test.bin").write_bytes(b"\x00" * 1000)
    (tmp_path / "labels.csv").write_text("id,label\n1,cat\n")
    shared = tmp_path / "mnt" / "shared"
    shared.mkdir(parents=True)
    (shared / "extra.bin").write_bytes(b"extra bytes")

    with wandb.init(project="mnist", job_type="prepare") as run:
        assert wandb.run is run
        art = wandb.Artifact("mnist", type="dataset", description="raw", metadata={"rows": 70000})
        art.add_dir("data/")
        art.add_file("labels.csv", name="meta/labels.csv")
        with art.new_file("notes.txt") as f:
            f.write("v0")
        art.add_reference(f"file://{shared / 'extra.bin'}")
        logged = run.log_artifact(art, aliases=["best"])
        assert logged.name == "mnist:v0"
        assert set(logged.aliases) == {"latest", "best"}
        producer_id = run.id
    assert wandb.run is None

    with wandb.init(project="mnist", job_type="train") as run:
        art = run.use_artifact("mnist:latest")
        path = art.download()
        art.verify(path)
        consumer_id = run.id

    assert Path(path) == tmp_path / "artifacts" / "mnist:v0"
    expected = {
        "train/images.bin": (data / "train" / "images.bin").read_bytes(),
        "test.bin": (data / "test.bin").read_bytes(),
        "meta/labels.csv": (tmp_path / "labels.csv").read_bytes(),
        "notes.txt": b"v0",
        "extra.bin": b"extra bytes",
    }
    assert _tree(Path(path)) == expected
    assert filecmp.cmp(Path(path) / "extra.bin", shared / "extra.bin", shallow=False)

    api = wandb.Api()
    best = api.artifact("mnist/mnist:best")
    assert (best.name, best.type, best.description) == ("mnist:v0", "dataset", "raw")
    assert best.metadata == {"rows": 70000}
    assert sorted(f.name for f in best.files()) == sorted(expected)
    assert api.run(f"mnist/{producer_id}").job_type == "prepare"
    assert api.run(f"mnist/{consumer_id}").state == "finished"
    assert [a.name for a in api.artifacts("dataset", "mnist/mnist")] == ["mnist:v0"]

    # A fresh download root still works (on a server: the bytes come from it or its cache).
    fresh = Path(best.download(tmp_path / "again"))
    assert _tree(fresh) == expected
    if backend.settings.mode == "embedded":
        report = check_store(Settings.load(), read_data=True)
        assert report.ok, report.problems
