"""The flow of issue 2 against a real ``cairn server`` (SQLite and PostgreSQL), unchanged
user code; and 16 client processes logging to one collection of a server on PostgreSQL."""

from __future__ import annotations

import filecmp
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import cairn as wandb
from serverproc import ServerProcess, use_server


@pytest.fixture(params=["server-sqlite", "server-pg"])
def server(
    request: pytest.FixtureRequest, cairn_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> ServerProcess:
    fixture = {"server-sqlite": "cairn_server_sqlite", "server-pg": "cairn_server_pg"}
    found: ServerProcess = request.getfixturevalue(fixture[request.param])
    use_server(found, monkeypatch)
    return found


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_issue_flow_against_a_server(
    server: ServerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
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
    # The bytes live on the server: a fresh download root and an empty cache still work.
    fresh = Path(best.download(tmp_path / "again"))
    assert _tree(fresh) == expected


WRITER = """
import pathlib, sys, time
import cairn
work, index = pathlib.Path(sys.argv[1]), int(sys.argv[2])
source = work / f"src-{index}.txt"
source.write_text(f"content of writer {index}\\n" * 1000)
while not (work / "go").exists():
    time.sleep(0.005)
with cairn.init(project="p", job_type="writer") as run:
    artifact = cairn.Artifact("shared", "dataset")
    artifact.add_file(str(source), name="data.txt")
    logged = run.log_artifact(artifact, aliases=["best", f"w{index}"])
print(logged.version, logged.digest)
"""

WRITERS = 16


@pytest.mark.slow
def test_sixteen_processes_log_to_one_collection_on_postgres(
    cairn_dir: Path,
    cairn_server_pg: ServerProcess,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_server(cairn_server_pg, monkeypatch)
    work = tmp_path / "work"
    work.mkdir()
    children = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(work), str(i)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(os.environ),
        )
        for i in range(WRITERS)
    ]
    deadline = time.monotonic() + 120
    while len(list(work.glob("src-*.txt"))) < WRITERS and time.monotonic() < deadline:
        time.sleep(0.01)
    (work / "go").touch()
    results = [child.communicate(timeout=300) for child in children]
    for child, (_, err) in zip(children, results, strict=True):
        assert child.returncode == 0, err
    reported = [out.split() for out, _ in results]
    assert sorted(version for version, _ in reported) == sorted(f"v{i}" for i in range(WRITERS))
    assert len({digest for _, digest in reported}) == WRITERS

    api = wandb.Api()
    versions = list(api.artifacts("dataset", "p/shared"))
    assert sorted(a.version for a in versions) == sorted(f"v{i}" for i in range(WRITERS))
    holders = {alias: [a.version for a in versions if alias in a.aliases] for alias in ("best",)}
    assert len(holders["best"]) == 1  # a user alias names exactly one version
    assert api.artifact("p/shared:latest").version == f"v{WRITERS - 1}"
    for index in range(WRITERS):  # every writer's own alias, on its own version
        mine = api.artifact(f"p/shared:w{index}")
        text = (Path(mine.download()) / "data.txt").read_text()
        assert text.startswith(f"content of writer {index}\n")
