"""Small files through a server on S3 (``cairn server`` on PostgreSQL + moto): staged in
packs, uploaded in batches, downloaded identical by another client; the bytes logged are
those read when the files were added, and a changed source without a staged copy is
refused."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import cairn
from cairn.errors import CorruptionError
from cairn.sdk.backend_cache import backend_for
from serverproc import ServerProcess


def _folder(root: Path, count: int) -> dict[str, bytes]:
    files = {f"d{i % 4}/f{i:04d}.bin": os.urandom(1 + (i * 37) % 6000) for i in range(count)}
    files["large.bin"] = os.urandom(1536 * 1024)  # over the batch limit: uploaded alone
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return files


def _staged_files(staging: Path) -> list[Path]:
    return [p for p in staging.rglob("*") if p.is_file() and p.parts[-2] != "tmp"]


def test_many_small_files_round_trip_through_a_server_on_s3(
    s3_server: ServerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "data"
    files = _folder(source, 320)
    staging = backend_for().settings.cache_dir / "staging"
    with cairn.init(project="proj") as run:
        art = cairn.Artifact("many", "dataset")
        art.add_dir(str(source))
        loose = [p for p in _staged_files(staging) if "packs" not in p.parts]
        assert len(loose) == 1  # the large file; the 320 small ones are in a pack
        assert any(p.suffix == ".pack" for p in _staged_files(staging))
        (source / "d0/f0000.bin").write_bytes(b"changed after add")  # not what gets logged
        logged = run.log_artifact(art)
    assert logged.version == "v0"
    assert _staged_files(staging) == []  # every staged copy dropped once committed

    monkeypatch.setenv("CAIRN_CACHE_DIR", str(tmp_path / "other-cache"))  # another client
    fetched = cairn.Api().artifact(f"{backend_for().settings.entity}/proj/many:v0")
    root = Path(fetched.download(str(tmp_path / "out")))
    got = {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    assert got == files


def test_a_changed_source_without_its_staged_copy_is_refused(
    s3_server: ServerProcess, tmp_path: Path
) -> None:
    source = tmp_path / "data"
    files = _folder(source, 5)
    staging = backend_for().settings.cache_dir / "staging"
    with cairn.init(project="proj") as run:
        art = cairn.Artifact("changed", "dataset")
        art.add_dir(str(source))
        shutil.rmtree(staging / "packs")  # the staged copies are gone (e.g. cache cleaned)
        name = next(iter(files))
        (source / name).write_bytes(b"x" * len(files[name]))
        with pytest.raises(CorruptionError, match="changed since it was added"):
            run.log_artifact(art)
    with pytest.raises(cairn.errors.CommError):
        cairn.Api().artifact(f"{backend_for().settings.entity}/proj/changed:latest")
