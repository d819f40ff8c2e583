"""Garbage collection (issue 3 §4): plan, execute, and never lose a live or pending blob."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import cairn
from cairn.core.digest import blob_key
from cairn.service.fsck import check_store
from cairn.service.gc import plan_gc
from cairn.settings import Settings

WORKER = Path(__file__).with_name("gc_worker.py")


def _log(tmp_path: Path, name: str, files: dict[str, str], project: str = "proj") -> cairn.Artifact:
    root = tmp_path / f"src-{name}-{len(list(tmp_path.iterdir()))}"
    root.mkdir()
    for path, content in files.items():
        (root / path).write_text(content)
    art = cairn.Artifact(name, "dataset")
    for path in files:
        art.add_file(str(root / path))  # one loose blob each (add_dir packs small files)
    with cairn.init(project=project) as run:
        run.log_artifact(art)
    return art


def _blob_path(cairn_dir: Path, art: cairn.Artifact, path: str) -> Path:
    entry = art.manifest.entries[path]
    return cairn_dir / "blobs" / blob_key(entry.digest, entry.algorithm())


def _survivors(api: cairn.Api) -> list[cairn.Artifact]:
    found = []
    for project in ("proj", "wandb-registry-model"):
        for collection in api.artifact_collections(project, "dataset"):
            found.extend(collection.artifacts())
    return found


def test_gc_frees_only_what_nothing_live_needs(cairn_dir: Path, tmp_path: Path) -> None:
    a0 = _log(tmp_path, "a", {"only-a0.txt": "a0", "shared.txt": "shared"})
    a1 = _log(tmp_path, "a", {"only-a1.txt": "a1", "shared.txt": "shared"})
    b0 = _log(tmp_path, "b", {"only-b0.txt": "b0", "shared.txt": "shared"})
    c0 = _log(tmp_path, "c", {"only-c0.txt": "c0"})
    a1.link("wandb-registry-model/prod")
    b0.link("proj/best")
    c0.link("wandb-registry-model/prod")
    doomed = [_blob_path(cairn_dir, a0, "only-a0.txt"), _blob_path(cairn_dir, c0, "only-c0.txt")]
    kept = [_blob_path(cairn_dir, a1, p) for p in ("only-a1.txt", "shared.txt")]
    kept.append(_blob_path(cairn_dir, b0, "only-b0.txt"))
    a0.delete(delete_aliases=True)
    c0.delete(delete_aliases=True)  # its registry link goes with it
    settings = Settings.load()

    assert plan_gc(settings).files == 0  # everything is younger than the default grace
    plan = plan_gc(settings, grace_seconds=0)
    planned = {blob.path for blob in plan.blobs}
    assert set(doomed) <= planned
    assert not planned & set(kept)
    assert plan.files == len(plan.blobs) == 4  # two contents and two manifests
    assert plan.bytes == sum(blob.size for blob in plan.blobs) > 0
    assert plan.describe()[-1].startswith("4 unreferenced blob(s)")
    assert all(path.exists() for path in doomed)  # planning deletes nothing

    result = plan.execute()
    assert (result.files, result.bytes, result.kept) == (4, plan.bytes, 0)
    assert not any(path.exists() for path in doomed)
    assert all(path.exists() for path in kept)
    assert plan_gc(settings, grace_seconds=0).files == 0

    survivors = _survivors(cairn.Api())
    assert sorted(a.name for a in survivors) == ["a:v1", "b:v0", "best:v0", "prod:v0"]
    for number, art in enumerate(survivors):
        root = Path(art.download(root=str(tmp_path / f"check-{number}")))
        art.verify(str(root))
    assert check_store(settings, read_data=True).problems == []


def test_gc_keeps_a_blob_a_pending_draft_ingested(cairn_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "pending.txt"
    source.write_text("pending")
    draft = cairn.Artifact("late", "dataset")
    draft.add_file(str(source))
    settings = Settings.load()
    planned = plan_gc(settings, grace_seconds=0)
    assert planned.files == 1  # the draft's blob is unreferenced...
    assert plan_gc(settings).files == 0  # ...but young: the default grace keeps it
    assert plan_gc(settings).execute().files == 0
    with cairn.init(project="proj") as run:
        run.log_artifact(draft)
    assert planned.execute().files == 0  # committed meanwhile: the stale plan frees nothing
    draft.verify(draft.download(root=str(tmp_path / "out")))


def test_gc_while_another_process_logs(cairn_dir: Path, tmp_path: Path) -> None:
    # A deleted version whose content the worker will log again, with an old blob.
    old = _log(tmp_path, "old", {"f0.txt": "content 0"}, project="gc")
    old_blob = _blob_path(cairn_dir, old, "f0.txt")
    old.delete(delete_aliases=True)
    past = time.time() - 7200
    os.utime(old_blob, (past, past))
    source = tmp_path / "busy-src"
    source.mkdir()
    for number in range(150):
        (source / f"f{number}.txt").write_text(f"content {number}")
    settings = Settings.load()
    worker = subprocess.Popen(
        [sys.executable, str(WORKER), str(source), "3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    collections = 0
    while worker.poll() is None:
        plan_gc(settings).execute()
        collections += 1
    out, err = worker.communicate()
    assert worker.returncode == 0, err
    assert out.count("logged ") == 3
    assert collections >= 1
    plan_gc(settings).execute()
    api = cairn.Api()
    versions = list(api.artifacts("dataset", "gc/busy"))
    assert len(versions) == 3
    for number, art in enumerate(versions):
        root = Path(art.download(root=str(tmp_path / f"busy-{number}")))
        art.verify(str(root))
        assert len(art.manifest.entries) == 151
    assert check_store(settings, read_data=True).problems == []


def test_plan_refuses_a_negative_grace(cairn_dir: Path) -> None:
    with pytest.raises(ValueError, match="grace_seconds"):
        plan_gc(Settings.load(), grace_seconds=-1)
