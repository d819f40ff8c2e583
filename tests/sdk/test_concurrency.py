"""Several processes logging at once, and a process killed while logging.

Children are real interpreters started with ``subprocess`` and talk to the store only
through the public API, as users' scripts do.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import cairn.connect  # noqa: F401  (registers the backends, as ``import cairn`` does)
from cairn.errors import CommError
from cairn.sdk.api import Api
from cairn.sdk.artifact import Artifact
from cairn.sdk.run import init
from cairn.service.fsck import check_store
from cairn.settings import Settings

pytestmark = pytest.mark.slow

WRITER = """
import pathlib, sys, time
import cairn.connect
from cairn.sdk.artifact import Artifact
from cairn.sdk.run import init

work, index = pathlib.Path(sys.argv[1]), int(sys.argv[2])
source = work / f"src-{index}.txt"
source.write_text(f"content of writer {index}\\n" * 1000)
while not (work / "go").exists():
    time.sleep(0.005)
with init(project="p", job_type="writer") as run:
    artifact = Artifact("shared", "dataset")
    artifact.add_file(str(source), name="data.txt")
    logged = run.log_artifact(artifact)
print(logged.version, logged.digest)
"""

BIG_LOGGER = """
import os, signal, sys
import cairn.connect
from cairn.sdk.artifact import Artifact
from cairn.sdk.run import init
from cairn.sdk.backend_cache import backend_for

source, when = sys.argv[1], sys.argv[2]
if when == "before-commit":
    backend = backend_for()
    def die(self, request):
        os.kill(os.getpid(), signal.SIGKILL)
    type(backend).commit_version = die
with init(project="p", job_type="big") as run:
    artifact = Artifact("big", "dataset")
    artifact.add_dir(source)
    run.log_artifact(artifact)
"""


def _child(script: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_eight_processes_log_to_one_collection(cairn_dir: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    children = [_child(WRITER, str(work), str(i)) for i in range(8)]
    deadline = time.monotonic() + 60
    while len(list(work.glob("src-*.txt"))) < 8 and time.monotonic() < deadline:
        time.sleep(0.01)
    (work / "go").touch()
    results = [child.communicate(timeout=120) for child in children]
    for child, (_, err) in zip(children, results, strict=True):
        assert child.returncode == 0, err
    reported = [out.split() for out, _ in results]
    assert sorted(version for version, _ in reported) == [f"v{i}" for i in range(8)]
    assert len({digest for _, digest in reported}) == 8

    versions = list(Api().artifacts("dataset", "p/shared"))
    assert [a.version for a in versions] == [f"v{i}" for i in range(7, -1, -1)]
    contents = {a.version: (Path(a.download()) / "data.txt").read_text() for a in versions}
    assert len(set(contents.values())) == 8
    assert Api().artifact("p/shared:latest").version == "v7"
    assert check_store(Settings.load(), read_data=True).ok


def _big_tree(root: Path, files: int = 160, size: int = 512 * 1024) -> Path:
    root.mkdir()
    for i in range(files):
        (root / f"part-{i:04d}.bin").write_bytes(os.urandom(64) * (size // 64))
    return root


def _stored_blobs(cairn_dir: Path) -> int:
    """How many blobs have reached their final name (temporary files not counted)."""
    blobs = cairn_dir / "blobs"
    return sum(len(files) for root, _, files in os.walk(blobs) if Path(root) != blobs / "tmp")


def _assert_recovered(source: Path) -> None:
    """fsck is clean, no half-made version is visible, and logging works again."""
    report = check_store(Settings.load(), read_data=True)
    assert report.ok, report.problems
    api = Api()
    assert not api.artifact_exists("p/big:latest")
    with pytest.raises(CommError):
        api.artifact("p/big:v0")
    with init(project="p") as run:
        artifact = Artifact("big", "dataset")
        artifact.add_dir(str(source))
        logged = run.log_artifact(artifact)
    assert logged.version == "v0"
    fetched = Api().artifact("p/big:v0")
    fetched.verify(fetched.download())
    assert check_store(Settings.load(), read_data=True).ok


def test_process_killed_while_adding_files(cairn_dir: Path, tmp_path: Path) -> None:
    source = _big_tree(tmp_path / "big")
    child = _child(BIG_LOGGER, str(source), "during-add")
    deadline = time.monotonic() + 60
    # Kill once some blobs are stored and others are still being written.
    while _stored_blobs(cairn_dir) < 10 and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.001)
    child.send_signal(signal.SIGKILL)
    _, err = child.communicate(timeout=60)
    assert child.returncode == -signal.SIGKILL, f"child was not killed mid-logging: {err}"
    _assert_recovered(source)


def test_process_killed_right_before_commit(cairn_dir: Path, tmp_path: Path) -> None:
    source = _big_tree(tmp_path / "big", files=20, size=64 * 1024)
    child = _child(BIG_LOGGER, str(source), "before-commit")
    _, err = child.communicate(timeout=120)
    assert child.returncode == -signal.SIGKILL, err
    _assert_recovered(source)
