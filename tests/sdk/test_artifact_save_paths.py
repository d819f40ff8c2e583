"""``Artifact.save()`` on a draft logs it the way ``Run.log_artifact`` does (one
``Artifact._log``): by the active run when there is one, by nothing but ``finalize`` in a
disabled run, and what an artifact hands out from the layers above it (its collection, the
run that logged it) is there however ``Artifact`` was imported."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import cairn
from cairn.errors import ArtifactFinalizedError
from cairn.protocol import Backend


def _draft(tmp_path: Path, name: str) -> cairn.Artifact:
    source = tmp_path / f"{name}.txt"
    source.write_text(name)
    art = cairn.Artifact(name, "dataset")
    art.add_file(str(source))
    return art


def test_save_in_a_run_logs_by_that_run(backend: Backend, tmp_path: Path) -> None:
    with cairn.init(project="proj", job_type="train") as run:
        art = _draft(tmp_path, "inside")
        art.save()
        assert art.state == "COMMITTED"
        assert art.aliases == ["latest"]
        logged_by = art.logged_by()
        assert logged_by is not None and (logged_by.id, logged_by.job_type) == (run.id, "train")
        assert [a.name for a in run.logged_artifacts()] == ["inside:v0"]
        assert cairn.run is run


def test_save_in_a_disabled_run_only_finalizes(cairn_dir: Path, tmp_path: Path) -> None:
    with cairn.init(project="proj", mode="disabled"):
        art = _draft(tmp_path, "off")
        art.save()
    assert art.is_draft()
    with pytest.raises(ArtifactFinalizedError, match=r"Artifact\.add_file"):
        art.add_file(str(tmp_path / "off.txt"))


def test_a_bare_import_of_artifact_finds_its_collection_and_runs(cairn_dir: Path) -> None:
    code = (
        "import sys, pathlib\n"
        "from cairn.sdk.artifact import Artifact\n"
        "pathlib.Path('f.txt').write_text('x')\n"
        "art = Artifact('bare', 'dataset')\n"
        "art.add_file('f.txt')\n"
        "art.save(project='proj')\n"
        "run = art.logged_by()\n"
        "collection = art.collection\n"
        "print(type(collection).__name__, collection.name, type(run).__name__, run.job_type)\n"
        "print([a.version for a in collection.artifacts()])\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.splitlines() == ["ArtifactCollection bare PublicRun auto", "['v0']"]
