"""Repeated downloads come from the client cache, small files included: a download's small
blobs, read from the server in batches, are kept in the cache as one pack per batch, and a
second download (into a new folder, or one with files) asks the server for no blob. Every
request the client sends is counted (a wrapper around httpx's ``Client.send``); blob
requests are those naming ``/blobs`` (batch reads, signed URLs and the requests for them).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import pytest

import cairn
from cairn.remote import batch_download
from cairn.settings import Settings
from cairn.storage.cache.client_cache import ClientCache
from serverproc import ServerProcess


@pytest.fixture
def requests(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The path of every HTTP request the client sends from now on."""
    sent: list[str] = []
    real = httpx.Client.send

    def send(self: httpx.Client, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        sent.append(request.url.path)
        return real(self, request, **kwargs)

    monkeypatch.setattr(httpx.Client, "send", send)
    return sent


def _blob_requests(sent: list[str]) -> list[str]:
    return [path for path in sent if "/blobs" in path]


def _logged(root: Path, files: dict[str, bytes]) -> cairn.Artifact:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    with cairn.init(project="p") as run:
        artifact = cairn.Artifact("d", "dataset")
        artifact.add_dir(str(root))
        run.log_artifact(artifact)
    return cairn.Api().artifact("p/d:latest")


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_a_repeated_download_asks_the_server_for_no_blob(
    any_server: ServerProcess, tmp_path: Path, requests: list[str]
) -> None:
    files = {f"f{i}.txt": os.urandom(100 + i) for i in range(5)}
    art = _logged(tmp_path / "data", files)
    requests.clear()
    assert _tree(Path(art.download(str(tmp_path / "one")))) == files
    assert _blob_requests(requests) == [f"/api/v1/entities/{art.entity}/blobs/batch-read"]
    cache = ClientCache.for_settings(Settings.load())
    assert len(cache.files()) == 1  # one pack (not 0: the old cache kept no small file)
    assert cache.usage() >= sum(map(len, files.values()))
    requests.clear()
    assert _tree(Path(art.download(str(tmp_path / "two")))) == files  # a new folder
    busy = tmp_path / "busy"  # a folder with files: one file at a time, still no request
    busy.mkdir()
    (busy / "notes.txt").write_bytes(b"mine")
    assert _tree(Path(art.download(str(busy)))) == {**files, "notes.txt": b"mine"}
    assert _blob_requests(requests) == []


def test_small_and_large_blobs_each_come_from_where_they_are_cached(
    server: ServerProcess, tmp_path: Path, requests: list[str]
) -> None:
    files = {"small.txt": b"small", "large.bin": os.urandom(batch_download.READ_BLOB_MAX + 1)}
    art = _logged(tmp_path / "data", files)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_bytes(b"mine")
    art.download(str(busy))  # one at a time: each blob cached loose
    requests.clear()
    fresh = Path(art.download(str(tmp_path / "fresh")))
    assert _tree(fresh) == files
    assert _blob_requests(requests) == []  # the small one too, though not packed
    # Copied from the cache as every download writes its files (they were 0o600).
    assert {os.stat(fresh / name).st_mode & 0o777 for name in files} == {0o644}


def test_cached_bytes_that_are_wrong_are_dropped_and_asked_for_again(
    server: ServerProcess, tmp_path: Path, requests: list[str]
) -> None:
    files = {f"f{i}.txt": f"content {i}".encode() for i in range(3)}
    art = _logged(tmp_path / "data", files)
    art.download(str(tmp_path / "one"))
    cache = ClientCache.for_settings(Settings.load())
    (pack,) = [f.path for f in cache.files()]
    os.chmod(pack, 0o644)
    data = bytearray(pack.read_bytes())
    data[0] ^= 0xFF  # the first blob's first byte
    pack.write_bytes(bytes(data))
    requests.clear()
    assert _tree(Path(art.download(str(tmp_path / "two")))) == files
    assert _blob_requests(requests) == [f"/api/v1/entities/{art.entity}/blobs/batch-read"]
    assert not pack.exists()  # dropped; the answer is cached again, in a new pack
    assert len(cache.files()) == 1
