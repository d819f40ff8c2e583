"""16 client processes logging to one collection of a ``cairn server`` on PostgreSQL + S3."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import cairn as wandb
from serverproc import ServerProcess, use_server

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
