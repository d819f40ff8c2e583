"""Server mode re-versioning: files the stat cache knows unchanged are not staged again,
and a blob the server lacks is still uploaded, from the file itself, checked."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

import cairn
from cairn.errors import CorruptionError
from cairn.storage.local.blobs import LocalBlobStore, StoredBlob
from cairn.storage.local.statcache import RACY_SECONDS
from serverproc import ServerProcess


def staged_names(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The file names each ``ingest_many`` call of the staging store reads."""
    calls: list[list[str]] = []
    real = LocalBlobStore.ingest_many

    def recording(
        self: LocalBlobStore, srcs: Sequence[str | Path], *args: Any, **kw: Any
    ) -> list[StoredBlob]:
        calls.append(sorted(Path(src).name for src in srcs))
        return real(self, srcs, *args, **kw)

    monkeypatch.setattr(LocalBlobStore, "ingest_many", recording)
    return calls


def log(source: Path) -> cairn.Artifact:
    with cairn.init(project="p") as run:
        artifact = cairn.Artifact("d", "dataset")
        artifact.add_dir(str(source))
        run.log_artifact(artifact)
    return artifact


def downloaded(artifact: str, target: Path) -> dict[str, bytes]:
    out = Path(cairn.Api().artifact(artifact).download(str(target)))
    return {p.name: p.read_bytes() for p in out.iterdir()}


def test_unchanged_files_are_not_staged_again(
    any_server: ServerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "data"
    source.mkdir()
    files = {f"f{i}.txt": f"row {i}\n".encode() * (i + 1) for i in range(6)}
    files["big.bin"] = b"b" * (2 * 1024 * 1024)  # a loose blob
    for name, data in files.items():
        (source / name).write_bytes(data)
    time.sleep(RACY_SECONDS + 0.1)  # old enough for the stat cache to trust
    staged = staged_names(monkeypatch)
    log(source)
    assert staged == [sorted(files)]
    with pytest.warns(UserWarning, match="already exists with the same content"):
        log(source)
    assert staged[1:] == [[]]  # nothing read, nothing staged

    (source / "f2.txt").write_bytes(b"changed")
    files["f2.txt"] = b"changed"
    assert log(source).version == "v1"
    assert staged[2:] == [["f2.txt"]]
    assert downloaded("p/d:v1", tmp_path / "out") == files


def test_a_blob_the_server_lacks_is_uploaded_from_the_file_checked(
    any_server: ServerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "data"
    source.mkdir()
    files = {"a.txt": b"alpha", "b.bin": b"x" * (2 * 1024 * 1024)}
    for name, data in files.items():
        (source / name).write_bytes(data)
    time.sleep(RACY_SECONDS + 0.1)
    log(source)  # staged, uploaded, staged copies released
    monkeypatch.setenv("CAIRN_ENTITY", any_server.new_team("other"))  # a team without them
    staged = staged_names(monkeypatch)
    log(source)
    assert staged == [[]]  # known unchanged: read again only to upload
    assert downloaded("p/d:v0", tmp_path / "out") == files

    monkeypatch.setenv("CAIRN_ENTITY", any_server.new_team("third"))
    with cairn.init(project="p") as run:
        artifact = cairn.Artifact("d", "dataset")
        artifact.add_dir(str(source))
        (source / "a.txt").write_bytes(b"ALPHA")  # edited between add and log
        with pytest.raises(CorruptionError, match="changed since it was added"):
            run.log_artifact(artifact)
