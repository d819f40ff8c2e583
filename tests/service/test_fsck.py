"""check_store: a healthy store passes; missing, unreadable and corrupt data is reported."""

from __future__ import annotations

import base64
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from cairn.core.digest import digest_bytes
from cairn.protocol import CommitRequest
from cairn.service.backend import EmbeddedBackend
from cairn.service.fsck import check_store
from cairn.settings import Settings

MakeRequest = Callable[..., CommitRequest]


@pytest.fixture
def logged(backend: EmbeddedBackend, make_request: MakeRequest) -> str:
    """One version with files a.txt and b.txt and a reference; returns its id."""
    request = make_request(
        {"a.txt": b"alpha", "b.txt": b"beta"}, refs={"r": "https://example.com/x"}
    )
    return backend.commit_version(request).version.id


def _blob_path(cairn_dir: Path, digest: str) -> Path:
    hex_digest = base64.b64decode(digest).hex()
    return cairn_dir / "blobs" / "md5" / hex_digest[:2] / hex_digest[2:]


def _overwrite(path: Path, data: bytes) -> None:
    os.chmod(path, 0o644)
    path.write_bytes(data)


def _manifest_digest(backend: EmbeddedBackend, version_id: str) -> str:
    return digest_bytes(backend.read_manifest(version_id))


def test_healthy_store(settings: Settings, logged: str) -> None:
    report = check_store(settings, read_data=True)
    assert report.ok, report.problems
    assert (report.versions_checked, report.entries_checked) == (1, 2)
    assert report.blobs_verified == 3  # two files and the manifest
    assert report.summary() == "checked 1 versions, 2 entries, re-hashed 3 blobs: no problems"


def test_missing_entry_blob(settings: Settings, cairn_dir: Path, logged: str) -> None:
    _blob_path(cairn_dir, digest_bytes(b"beta")).unlink()
    report = check_store(settings, read_data=False)
    assert not report.ok
    assert len(report.problems) == 1
    assert report.summary().endswith(": 1 problem(s)")
    assert "tester/proj/data:v0" in report.problems[0]
    assert "'b.txt'" in report.problems[0]


def test_missing_manifest_blob(
    settings: Settings, cairn_dir: Path, backend: EmbeddedBackend, logged: str
) -> None:
    _blob_path(cairn_dir, _manifest_digest(backend, logged)).unlink()
    report = check_store(settings, read_data=False)
    assert len(report.problems) == 1
    assert "manifest blob" in report.problems[0] and "missing" in report.problems[0]


def test_unparseable_manifest(
    settings: Settings, cairn_dir: Path, backend: EmbeddedBackend, logged: str
) -> None:
    _overwrite(_blob_path(cairn_dir, _manifest_digest(backend, logged)), b"{garbage")
    report = check_store(settings, read_data=False)
    assert len(report.problems) == 1
    assert "cannot be parsed" in report.problems[0]


def test_corrupt_blob_found_only_when_reading_data(
    settings: Settings, cairn_dir: Path, logged: str
) -> None:
    _overwrite(_blob_path(cairn_dir, digest_bytes(b"alpha")), b"ALPHA")
    assert check_store(settings, read_data=False).ok
    report = check_store(settings, read_data=True)
    assert len(report.problems) == 1
    assert "corrupt" in report.problems[0]
