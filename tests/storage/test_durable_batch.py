"""Batches of loose blobs made durable by a few file-system syncs: published only after a
sync, nothing half-published on an error, a write error reported."""

from __future__ import annotations

import ctypes
import errno
import os
import stat
import sys
import time
from pathlib import Path

import pytest

from cairn.core.digest import digest_bytes, hex_to_b64
from cairn.storage.local import durable_batch
from cairn.storage.local.blobs import PACK_MAX_BLOB, LocalBlobStore
from cairn.storage.local.durable_batch import DurableBatch


def publish(tmp: Path, final: Path) -> None:
    os.replace(tmp, final)


def written(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def test_syncfs_is_found_on_linux() -> None:
    assert durable_batch.available() == sys.platform.startswith("linux")


def test_a_loose_batch_is_stored_and_synced_together(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    syncs: list[int] = []
    real = DurableBatch._sync_and_publish

    def counting(self: DurableBatch, batch: list[tuple[Path, Path]]) -> None:
        syncs.append(len(batch))
        real(self, batch)

    monkeypatch.setattr(DurableBatch, "_sync_and_publish", counting)
    monkeypatch.setattr(durable_batch, "STEP_BYTES", 3 * PACK_MAX_BLOB)  # a sync per 3 files
    store = LocalBlobStore(tmp_path / "blobs")
    datas = [os.urandom(PACK_MAX_BLOB + 1 + i) for i in range(6)]
    datas.append(datas[2])  # the same content twice: one blob
    sources = [written(tmp_path, f"f{i}", data) for i, data in enumerate(datas)]
    blobs = store.ingest_many(sources, "md5", workers=3)
    assert [blob.digest for blob in blobs] == [digest_bytes(data) for data in datas]
    assert [Path(blob.path).read_bytes() for blob in blobs] == datas
    assert all(stat.S_IMODE(os.stat(blob.path).st_mode) == 0o444 for blob in blobs)
    assert list(store.tmp_dir.iterdir()) == []
    assert sum(syncs) == len(datas) and 1 <= len(syncs) <= 3


def test_files_are_published_only_after_a_sync(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    with DurableBatch(tmp_path, publish, step_bytes=10) as batch:
        batch.add(written(tmp_path, "a.tmp", b"12345"), out / "a", 5)
        assert not (out / "a").exists()  # below the step: not synced yet
        batch.add(written(tmp_path, "b.tmp", b"67890"), out / "b", 5)  # the step: a sync
        deadline = time.monotonic() + 10
        while not (out / "b").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert (out / "a").read_bytes() == b"12345"  # published by the background sync
        batch.add(written(tmp_path, "c.tmp", b"c"), out / "c", 1)
        assert not (out / "c").exists()
    assert (out / "c").read_bytes() == b"c"  # the block's end synced and published it
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out"]


def test_an_error_removes_what_was_not_published(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(RuntimeError), DurableBatch(tmp_path, publish) as batch:
        batch.add(written(tmp_path, "a.tmp", b"a"), out / "a", 1)
        raise RuntimeError("a copy failed")
    assert list(out.iterdir()) == []
    assert not (tmp_path / "a.tmp").exists()


def test_a_write_error_reported_by_the_sync_is_raised(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()

    def failing(_fd: int) -> int:
        ctypes.set_errno(errno.EIO)
        return -1

    with pytest.raises(OSError) as info, DurableBatch(tmp_path, publish) as batch:
        batch._syncfs = failing
        batch.add(written(tmp_path, "a.tmp", b"a"), out / "a", 1)
    assert info.value.errno == errno.EIO
    assert list(out.iterdir()) == []  # never published
    assert not (tmp_path / "a.tmp").exists()


def test_a_failed_loose_batch_leaves_no_temporary_file(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    sources = [written(tmp_path, f"f{i}", os.urandom(PACK_MAX_BLOB + 1)) for i in range(6)]
    sources.insert(3, tmp_path / "missing")
    with pytest.raises(FileNotFoundError):
        store.ingest_many(sources, "md5", workers=2)
    assert list(store.tmp_dir.iterdir()) == []
    for algorithm, hex_digest, path in store.iter_blobs():  # what was published is whole
        assert stat.S_IMODE(path.stat().st_mode) == 0o444
        assert digest_bytes(path.read_bytes(), algorithm) == hex_to_b64(hex_digest)


def test_a_refused_syncfs_falls_back_to_one_fsync_per_file(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()

    def filtered(_fd: int) -> int:  # a sandbox's system-call filter
        ctypes.set_errno(errno.EPERM)
        return -1

    with DurableBatch(tmp_path, publish) as batch:
        batch._syncfs = filtered
        batch.add(written(tmp_path, "a.tmp", b"a"), out / "a", 1)
    assert (out / "a").read_bytes() == b"a"
