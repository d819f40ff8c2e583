"""A download into a new folder from a server: small blobs in batches (``batch-read``),
large ones alone, every file checked, nothing left in place when a blob is wrong."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import pytest

import cairn
from cairn.errors import CorruptionError
from cairn.protocol import BlobRef
from cairn.remote import batch_download
from cairn.remote.http import ApiClient
from cairn.remote.transfer import Transfers
from serverproc import ServerProcess


def _tree(root: Path, count: int) -> dict[str, bytes]:
    files = {f"d{i % 7}/f{i}.bin": os.urandom(50 + i) for i in range(count)}
    files["big.bin"] = os.urandom(batch_download.READ_BLOB_MAX + 10)  # too large for a batch
    files["copy.bin"] = files["d0/f0.bin"]
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return files


def test_a_download_into_a_new_folder_reads_small_blobs_in_batches(
    any_server: ServerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "data"
    files = _tree(source, 60)
    with cairn.init(project="p") as run:
        artifact = cairn.Artifact("d", "dataset")
        artifact.add_dir(str(source))
        run.log_artifact(artifact)
    monkeypatch.setattr(batch_download, "READ_COUNT", 25)  # several batches
    batches: list[int] = []
    alone: list[str] = []
    real_read, real_fetch = batch_download.read_batch, Transfers.fetch

    def counting_read(client: Any, cache: Any, entity: str, batch: Any) -> int:
        batches.append(len(batch))
        return real_read(client, cache, entity, batch)

    def counting_fetch(self: Transfers, entity: str, blob: BlobRef, dest: Path) -> None:
        alone.append(dest.name)
        real_fetch(self, entity, blob, dest)

    monkeypatch.setattr(batch_download, "read_batch", counting_read)
    monkeypatch.setattr(Transfers, "fetch", counting_fetch)
    out = Path(cairn.Api().artifact("p/d:latest").download(str(tmp_path / "out")))
    assert {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()} == (
        files
    )
    assert sorted(batches) == [11, 25, 25] and alone == ["big.bin"]  # 61 small files


def test_bytes_that_do_not_match_are_refused_and_nothing_appears(
    any_server: ServerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "data"
    (source / "sub").mkdir(parents=True)
    for name in ("a.txt", "sub/b.txt"):
        (source / name).write_text(f"content of {name}")
    with cairn.init(project="p") as run:
        artifact = cairn.Artifact("d", "dataset")
        artifact.add_dir(str(source))
        run.log_artifact(artifact)
    real_call = ApiClient.call

    def tampering(self: Any, method: str, path: str, **kwargs: Any) -> httpx.Response:
        answer = real_call(self, method, path, **kwargs)
        if path.endswith("/batch-read"):
            return httpx.Response(200, content=answer.content[::-1], request=answer.request)
        return answer

    monkeypatch.setattr(ApiClient, "call", tampering)
    target = tmp_path / "out"
    with pytest.raises(CorruptionError):
        cairn.Api().artifact("p/d:latest").download(str(target))
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.")] == []
