"""Large blobs: uploads in parts (resumed after an interruption) and downloads in parallel
ranges (hashed as they arrive: corrupt bytes refused, a damaged cache file replaced),
against a real server (uvicorn on 127.0.0.1) whose thresholds are made small."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from cairn.errors import CorruptionError
from cairn.protocol import BlobRef
from cairn.remote import fetching, transfer
from cairn.remote.backend import RemoteBackend
from cairn.server.app import create_app
from cairn.server.state import ServerConfig
from cairn.service.accounts import create_key, create_team, create_user
from cairn.service.caller import LOCAL
from cairn.settings import Settings

PART = 64 * 1024


@pytest.fixture
def small_parts_server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A server on SQLite that wants parts of 64 KiB for blobs of 100 KiB or more;
    yields its URL and an admin key."""
    config = ServerConfig(
        db_url=f"sqlite+pysqlite:///{tmp_path / 'server.db'}",
        store_dir=tmp_path / "store",
        secret=secrets.token_bytes(32),
        organization="local",
        multipart_threshold=100 * 1024,
        part_size=PART,
    )
    app = create_app(config)
    state = app.state.cairn
    create_user(state.store, LOCAL, "root", admin=True)
    create_team(state.store, LOCAL, "team", None)
    key = create_key(state.store, LOCAL, "root").api_key
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", key
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def _backend(url: str, key: str, tmp_path: Path) -> RemoteBackend:
    settings = Settings.load(
        {"base_url": url, "api_key": key, "entity": "team", "cache_dir": tmp_path / "cache"},
        environ={},
    )
    return RemoteBackend(settings)


def _md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def test_parts_resume_and_ranges(
    small_parts_server: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, key = small_parts_server
    data = os.urandom(PART * 3 + 1234)
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    blob = BlobRef(_md5(data), "md5", len(data))
    backend = _backend(url, key, tmp_path)
    # An interrupted upload: the first part arrived, then the client went away.
    headers = {"Authorization": f"Bearer {key}"}
    body = {"digest": blob.digest, "algorithm": "md5", "size": blob.size}
    start = httpx.post(
        f"{url}/api/v1/entities/team/blobs/multipart", json=body, headers=headers
    ).json()
    first = start["parts"][0]
    assert httpx.put(first["url"], content=data[:PART]).status_code == 204

    assert backend.missing_blobs("team", [blob]) == [blob]
    backend.put_blob("team", blob, source)  # resumes: sends the other parts, then completes
    assert backend.missing_blobs("team", [blob]) == []

    monkeypatch.setattr(transfer, "RANGE_MIN_BYTES", PART)
    monkeypatch.setattr(transfer, "RANGE_BYTES", 50_000)
    backend.fetch_blob("team", blob, tmp_path / "down.bin")
    assert (tmp_path / "down.bin").read_bytes() == data
    backend.close()


def _stored_file(tmp_path: Path, size: int) -> Path:
    """The server's stored file of the (only) blob of ``size`` bytes."""
    found = [p for p in (tmp_path / "store").rglob("*") if p.is_file() and p.stat().st_size == size]
    assert len(found) == 1, found
    return found[0]


def _flip(path: Path, offset: int) -> None:
    path.chmod(0o644)
    with open(path, "r+b") as handle:
        handle.seek(offset)
        byte = handle.read(1)
        handle.seek(offset)
        handle.write(bytes([byte[0] ^ 0xFF]))


def _ranged_upload(
    url: str, key: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[RemoteBackend, BlobRef, bytes]:
    data = os.urandom(PART * 5 + 321)
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    blob = BlobRef(_md5(data), "md5", len(data))
    backend = _backend(url, key, tmp_path)
    backend.put_blob("team", blob, source)
    monkeypatch.setattr(transfer, "RANGE_MIN_BYTES", PART)
    monkeypatch.setattr(transfer, "RANGE_BYTES", 50_000)  # 7 ranges, 4 at a time

    def not_whole(*args: object) -> None:
        raise AssertionError("the server answers ranges: no whole download")

    monkeypatch.setattr(fetching, "download_whole", not_whole)
    return backend, blob, data


def test_a_corrupt_ranged_download_leaves_nothing(
    small_parts_server: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, key = small_parts_server
    backend, blob, _data = _ranged_upload(url, key, tmp_path, monkeypatch)
    _flip(_stored_file(tmp_path, blob.size), blob.size - 10)  # in the last range
    dest = tmp_path / "down.bin"
    with pytest.raises(CorruptionError, match="do not match their digest"):
        backend.fetch_blob("team", blob, dest)
    assert not dest.exists()
    cache = tmp_path / "cache"
    assert [p for p in (cache / "obj").rglob("*") if p.is_file()] == []
    assert list((cache / "tmp").iterdir()) == []
    backend.close()


def test_a_ranged_download_is_cached_and_a_damaged_cache_file_replaced(
    small_parts_server: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, key = small_parts_server
    backend, blob, data = _ranged_upload(url, key, tmp_path, monkeypatch)
    first = tmp_path / "first.bin"
    backend.fetch_blob("team", blob, first)
    assert first.read_bytes() == data
    assert os.stat(first).st_mode & 0o777 == 0o644
    with pytest.raises(FileExistsError):  # refused before anything is downloaded
        backend.fetch_blob("team", blob, first)
    backend.close()
    (cached,) = [p for p in (tmp_path / "cache" / "obj").rglob("*") if p.is_file()]
    assert cached.read_bytes() == data
    _flip(cached, 12345)  # damaged between runs: the next run checks it again
    later = _backend(url, key, tmp_path)
    second = tmp_path / "second.bin"
    later.fetch_blob("team", blob, second)
    assert second.read_bytes() == data
    assert cached.read_bytes() == data  # downloaded again and replaced
    assert list((tmp_path / "cache" / "tmp").iterdir()) == []
    later.close()
