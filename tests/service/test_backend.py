"""EmbeddedBackend as a whole: the protocol, the store directory, and bytes in and out."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from cairn.core.digest import digest_bytes
from cairn.errors import CommError, CorruptionError, StoreError
from cairn.protocol import Backend, BlobRef, CommitRequest
from cairn.service.backend import EmbeddedBackend
from cairn.settings import Settings

MakeRequest = Callable[..., CommitRequest]


def test_implements_the_protocol(backend: EmbeddedBackend) -> None:
    assert isinstance(backend, Backend)


def test_store_layout_and_sqlite_settings(backend: EmbeddedBackend, cairn_dir: Path) -> None:
    assert (cairn_dir / "cairn.db").is_file()
    assert (cairn_dir / "blobs").is_dir()
    with sqlite3.connect(cairn_dir / "cairn.db") as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_cairn_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "store"
    blocker.write_text("not a directory")
    settings = Settings.load({"cairn_dir": blocker}, environ={})
    with pytest.raises(StoreError, match=str(blocker)):
        EmbeddedBackend(settings)


def test_cairn_dir_under_a_file_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    settings = Settings.load({"cairn_dir": blocker / "inner"}, environ={})
    with pytest.raises(StoreError, match=str(blocker / "inner")):
        EmbeddedBackend(settings)


def test_data_survives_reopening(
    backend: EmbeddedBackend, make_request: MakeRequest, settings: Settings
) -> None:
    committed = backend.commit_version(make_request({"f": b"x"})).version
    backend.close()
    reopened = EmbeddedBackend(settings)
    try:
        assert reopened.resolve_version("tester", "proj", "data", "latest") == committed
    finally:
        reopened.close()


def test_ingest_missing_put_fetch(backend: EmbeddedBackend, tmp_path: Path) -> None:
    source = tmp_path / "payload"
    source.write_bytes(b"payload bytes")
    ingested = backend.ingest_file(source, "md5")
    assert ingested.digest == digest_bytes(b"payload bytes")
    assert ingested.local_path.read_bytes() == b"payload bytes"

    other = tmp_path / "other"
    other.write_bytes(b"other bytes")
    stored = BlobRef(ingested.digest, "md5", ingested.size)
    absent = BlobRef(digest_bytes(b"other bytes"), "md5", 11)
    assert backend.missing_blobs("tester", [stored, absent]) == [absent]
    backend.put_blob("tester", absent, other)
    assert backend.missing_blobs("tester", [stored, absent]) == []

    dest = tmp_path / "out" / "fetched"
    dest.parent.mkdir()
    backend.fetch_blob("tester", absent, dest)
    assert dest.read_bytes() == b"other bytes"


def test_put_blob_with_wrong_digest(backend: EmbeddedBackend, tmp_path: Path) -> None:
    source = tmp_path / "payload"
    source.write_bytes(b"actual")
    with pytest.raises(CorruptionError):
        backend.put_blob("tester", BlobRef(digest_bytes(b"claimed"), "md5", 6), source)
    assert backend.missing_blobs("tester", [BlobRef(digest_bytes(b"claimed"), "md5", 6)])


def test_fetch_unknown_blob(backend: EmbeddedBackend, tmp_path: Path) -> None:
    with pytest.raises(CommError, match="not found"):
        backend.fetch_blob("tester", BlobRef(digest_bytes(b"nope"), "md5", 4), tmp_path / "d")
    assert not (tmp_path / "d").exists()
