"""The remote backend against a real ``cairn server`` (SQLite): error mapping, signed-URL
transfers, staging clean-up, the client cache, retries and the default entity."""

from __future__ import annotations

import base64
import hashlib
import socket
from pathlib import Path

import pytest

import cairn
from cairn.errors import AuthenticationError, AuthorizationError, CommError, CorruptionError
from cairn.protocol import BlobRef
from cairn.remote.backend import RemoteBackend
from cairn.sdk.backend_cache import backend_for
from cairn.settings import Settings
from serverproc import ServerProcess


def _md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def _log(tmp_path: Path, content: bytes, name: str = "data") -> cairn.Artifact:
    source = tmp_path / f"{name}.bin"
    source.write_bytes(content)
    with cairn.init(project="proj") as run:
        art = cairn.Artifact(name, "dataset")
        art.add_file(str(source), name="f.bin")
        return run.log_artifact(art)


def test_latest_digest_asks_the_server(server: ServerProcess, tmp_path: Path) -> None:
    backend = backend_for()
    entity = backend.settings.entity
    assert backend.latest_digest(entity, "proj", "data") is None
    logged = _log(tmp_path, b"one")
    assert backend.latest_digest(entity, "proj", "data") == (logged.digest, "MD5")
    newer = _log(tmp_path, b"two")
    assert backend.latest_digest(entity, "proj", "data") == (newer.digest, "MD5")
    assert newer.digest != logged.digest


def test_server_errors_become_embedded_exceptions(
    server: ServerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = backend_for()
    entity = backend.settings.entity
    assert isinstance(backend, RemoteBackend)
    with pytest.raises(CommError, match="not found"):
        backend.resolve_version(entity, "proj", "nothing", "latest")
    with pytest.raises(ValueError):
        backend.list_versions(entity, "proj", "nothing", None, per_page=0)
    wrong = tmp_path / "wrong.bin"
    wrong.write_bytes(b"not the promised bytes")
    blob = BlobRef(_md5(b"promised"), "md5", wrong.stat().st_size)
    assert backend.missing_blobs(entity, [blob]) == [blob]
    with pytest.raises(CorruptionError):
        backend.put_blob(entity, blob, wrong)
    assert backend.missing_blobs(entity, [blob]) == [blob]  # nothing stored

    bad = RemoteBackend(backend.settings.replace(api_key="cairn_not-a-key"))
    with pytest.raises(AuthenticationError):
        bad.get_default_ttl(entity, None)
    bad.close()
    viewer_key = server.new_user_key(f"viewer-{entity}", entity, role="viewer")
    viewer = RemoteBackend(backend.settings.replace(api_key=viewer_key))
    assert viewer.get_default_ttl(entity, None) is None  # viewers read
    with pytest.raises(AuthorizationError):
        viewer.set_default_ttl(entity, None, 60)
    viewer.close()


def test_upload_only_missing_then_drop_staging(server: ServerProcess, tmp_path: Path) -> None:
    content = b"payload " * 5000
    first = _log(tmp_path, content)
    backend = backend_for()
    staging = backend.settings.cache_dir / "staging"
    assert not [p for p in (staging / "md5").rglob("*") if p.is_file()]  # dropped once committed
    blob = BlobRef(_md5(content), "md5", len(content))
    assert backend.missing_blobs(backend.settings.entity, [blob]) == []
    second = _log(tmp_path, content, name="copy")  # same bytes: nothing to upload
    assert (second.digest, second.version) == (first.digest, "v0")
    root = Path(second.download(tmp_path / "out"))
    assert (root / "f.bin").read_bytes() == content


def test_repeated_downloads_come_from_the_client_cache(
    server: ServerProcess, tmp_path: Path
) -> None:
    content = b"cached bytes\n" * 1000
    logged = _log(tmp_path, content)
    backend = backend_for()
    entity = backend.settings.entity
    blob = BlobRef(_md5(content), "md5", len(content))
    backend.fetch_blob(entity, blob, tmp_path / "one")
    cached = backend.settings.cache_dir / "obj" / "md5" / base64.b64decode(blob.digest).hex()[:2]
    assert [p.read_bytes() for p in cached.iterdir()] == [content]
    # A client whose server is gone still gets the blob: the cache answers.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead_port = sock.getsockname()[1]
    offline = RemoteBackend(backend.settings.replace(base_url=f"http://127.0.0.1:{dead_port}"))
    offline.fetch_blob(entity, blob, tmp_path / "two")
    assert (tmp_path / "two").read_bytes() == content
    with pytest.raises(CommError, match="failed"):  # retried, then reported
        offline.get_version(logged.id or "")
    offline.close()


def test_default_entity_is_the_keys_user(
    server: ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    team = backend_for().settings.entity
    key = server.new_user_key(f"user-{team}", team)
    monkeypatch.delenv("CAIRN_ENTITY")
    monkeypatch.setenv("CAIRN_API_KEY", key)
    assert Settings.load().entity == f"user-{team}"
    monkeypatch.delenv("CAIRN_BASE_URL")
    assert Settings.load().entity != f"user-{team}"  # embedded: the OS user
