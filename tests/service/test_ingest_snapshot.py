"""Folder snapshots and known blobs: re-versioning an unchanged folder reads nothing, yet a
changed file, a racily clean one or a garbage collection is never missed."""

from __future__ import annotations

import time
from array import array
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

import cairn
from cairn.core.digest import digest_bytes
from cairn.core.manifest import Manifest, ManifestEntry
from cairn.errors import CommError
from cairn.protocol import BlobRef, CommitRequest
from cairn.service import gc, ingest
from cairn.service.backend import EmbeddedBackend
from cairn.service.fsck import check_store
from cairn.service.gc import freshen, plan_gc
from cairn.service.known_blobs import KnownBlobs
from cairn.settings import Settings
from cairn.storage.local import statcache
from cairn.storage.local.blobs import LocalBlobStore, StoredBlob
from cairn.storage.local.statcache import RACY_SECONDS, StatCache

Spy = list[list[str]]


def write_tree(root: Path, count: int) -> list[str]:
    root.mkdir()
    paths = []
    for index in range(count):
        path = root / f"{index:02d}.txt"
        path.write_bytes(f"content {index}".encode())
        paths.append(str(path))
    return paths


def spy_reads(monkeypatch: pytest.MonkeyPatch) -> Spy:
    """Record the files each ``LocalBlobStore.ingest_many`` call reads (and still read them)."""
    calls: Spy = []
    real = LocalBlobStore.ingest_many

    def recording(
        self: LocalBlobStore, srcs: Sequence[str | Path], *args: Any, **kw: Any
    ) -> list[StoredBlob]:
        calls.append([str(src) for src in srcs])
        return real(self, srcs, *args, **kw)

    monkeypatch.setattr(LocalBlobStore, "ingest_many", recording)
    return calls


def test_only_changed_files_are_read_again(
    cairn_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = write_tree(tmp_path / "src", 12)
    time.sleep(RACY_SECONDS + 0.1)  # older than the racy window: their stat can be trusted
    reads = spy_reads(monkeypatch)
    backend = EmbeddedBackend(Settings.load())
    try:
        first = backend.ingest_files(paths, "md5")
        assert reads == [paths]

        def no_check(*_args: object) -> set[tuple[str, str]]:
            raise AssertionError("a snapshot of this generation vouches for its blobs")

        with monkeypatch.context() as patched:
            patched.setattr(ingest, "freshen", no_check)
            again = backend.ingest_files(paths, "md5")
        assert reads == [paths]  # nothing read, nothing checked
        assert again == [
            blob._replace(local_path=path) for blob, path in zip(first, paths, strict=True)
        ]

        Path(paths[5]).write_bytes(b"changed")
        changed = backend.ingest_files(paths, "md5")
        assert reads[1:] == [[paths[5]]]
        assert changed[5].digest == digest_bytes(b"changed")
        assert [b.digest for i, b in enumerate(changed) if i != 5] == [
            b.digest for i, b in enumerate(first) if i != 5
        ]

        Path(paths[0]).unlink()  # another file list: the snapshot still serves the others
        fewer = backend.ingest_files(paths[1:], "md5")
        # Only the file just written may be read again (if the snapshot was taken within
        # the racy window of its write, which depends on the machine's speed).
        assert reads[2:] in ([], [[paths[5]]])
        assert [b.digest for b in fewer] == [b.digest for b in changed[1:]]
    finally:
        backend.close()


def test_relative_paths_find_the_snapshot_of_their_absolute_spelling(
    cairn_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = write_tree(tmp_path / "src", 5)
    time.sleep(RACY_SECONDS + 0.1)
    reads = spy_reads(monkeypatch)
    backend = EmbeddedBackend(Settings.load())
    try:
        first = backend.ingest_files(paths, "md5")
        monkeypatch.chdir(tmp_path)
        relative = [f"src/{Path(path).name}" for path in paths]
        again = backend.ingest_files([*relative[:2], Path(relative[2]), *paths[3:]], "md5")
        assert reads == [paths]  # the snapshot served them all
        assert [blob.digest for blob in again] == [blob.digest for blob in first]
    finally:
        backend.close()


def test_a_racily_clean_file_is_read_until_a_later_snapshot(
    cairn_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One window for every clock, long enough for the first two calls on a loaded machine.
    monkeypatch.setattr(statcache, "RACY_SECONDS", 4.0)
    monkeypatch.setattr(statcache, "FINE_RACY_SECONDS", 4.0)
    paths = write_tree(tmp_path / "src", 3)  # written just now: the same clock tick as a read
    reads = spy_reads(monkeypatch)
    backend = EmbeddedBackend(Settings.load())
    try:
        backend.ingest_files(paths, "md5")
        backend.ingest_files(paths, "md5")  # the snapshot was taken too soon to trust
        assert reads == [paths, paths]
        time.sleep(4.1)
        backend.ingest_files(paths, "md5")  # still the old snapshot: read, snapshot again
        backend.ingest_files(paths, "md5")
        assert reads == [paths, paths, paths]
    finally:
        backend.close()


def test_whole_second_times_are_trusted_later_than_finer_ones(tmp_path: Path) -> None:
    cache = StatCache(tmp_path / "stat.db", racy_seconds=2.0, fine_racy_seconds=0.1)
    second = 1_000_000_000
    hashed = 100 * second
    # mtime, ctime of: old whole seconds, recent fine, fine past the fine window, recent
    # whole seconds (a coarse clock: the same second may still be running), old fine, and
    # old contents whose inode changed just now (a chmod: only the ctime is recent).
    mtimes = array("q", [90 * second, hashed - 5_000_000, hashed - second // 2, 99 * second, 1, 7])
    ctimes = array(
        "q", [90 * second, hashed - 5_000_000, hashed - second // 2, 99 * second, 3, hashed - 1]
    )
    assert cache.untrusted(hashed, mtimes, ctimes) == [1, 3, 5]
    assert cache.untrusted(hashed + 3 * second, mtimes, ctimes) == []
    cache.close()


def test_a_garbage_collection_voids_the_snapshot(cairn_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "data"
    write_tree(source, 8)
    time.sleep(RACY_SECONDS + 0.1)
    with cairn.init(project="p") as run:
        first = cairn.Artifact("d", "dataset")
        first.add_dir(str(source))
        run.log_artifact(first)
    first.delete(delete_aliases=True)
    assert plan_gc(Settings.load(), grace_seconds=0).execute().files >= 8  # blobs deleted

    with cairn.init(project="p") as run:  # the same, unchanged folder again
        second = cairn.Artifact("d", "dataset")
        second.add_dir(str(source))
        run.log_artifact(second)
    fetched = cairn.Api().artifact("p/d:latest")
    out = Path(fetched.download(str(tmp_path / "out")))
    assert (out / "03.txt").read_bytes() == b"content 3"
    assert check_store(Settings.load(), read_data=True).ok


def test_known_blobs_are_not_looked_for_again_in_their_generation(
    cairn_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = write_tree(tmp_path / "src", 4)
    backend = EmbeddedBackend(Settings.load())
    try:
        ingested = backend.ingest_files(paths, "md5")
        refs = [BlobRef(blob.digest, "md5", blob.size) for blob in ingested]
        absent = BlobRef(digest_bytes(b"never stored"), "md5", 12)
        looked_for: list[list[tuple[str, str]]] = []

        def recording(blobs: LocalBlobStore, wanted: list[tuple[str, str]]) -> set[tuple[str, str]]:
            looked_for.append(list(wanted))
            return freshen(blobs, wanted)

        monkeypatch.setattr(gc, "freshen", recording)
        assert backend.missing_blobs("tester", [*refs, absent]) == [absent]
        assert looked_for == [[(absent.digest, "md5")]]
    finally:
        backend.close()


def test_known_blobs_forget_an_older_generation() -> None:
    known = KnownBlobs()
    known.note("1:0", "md5", ["X==", "Y=="])
    known.note("1:0", "xxh128", ["Z=="])
    assert known.known("1:0") == {"md5": {"X==", "Y=="}, "xxh128": {"Z=="}}
    assert known.known("1:1") == {}
    known.note("1:1", "md5", ["W=="])
    assert known.known("1:0") == {}
    assert known.known("1:1") == {"md5": {"W=="}}


def test_a_commit_still_refuses_a_blob_nobody_stored(cairn_dir: Path, tmp_path: Path) -> None:
    paths = write_tree(tmp_path / "src", 2)
    backend = EmbeddedBackend(Settings.load())
    try:
        stored = backend.ingest_files(paths, "md5")
        manifest = Manifest()
        manifest.entries["a"] = ManifestEntry("a", stored[0].digest, size=stored[0].size)
        manifest.entries["b"] = ManifestEntry("b", digest_bytes(b"not stored"), size=10)
        request = CommitRequest(
            entity="tester",
            project="p",
            collection="d",
            type="dataset",
            digest=manifest.digest("md5"),
            digest_algorithm="MD5",
            manifest_json=manifest.to_json_bytes(),
        )
        with pytest.raises(CommError, match="never uploaded"):
            backend.commit_version(request)
    finally:
        backend.close()


def test_relogging_the_latest_content_uploads_nothing(
    cairn_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "data"
    write_tree(source, 5)
    asked: list[int] = []
    real = EmbeddedBackend.missing_blobs

    def counting(self: EmbeddedBackend, entity: str, blobs: Sequence[BlobRef]) -> list[BlobRef]:
        asked.append(len(blobs))
        return real(self, entity, blobs)

    monkeypatch.setattr(EmbeddedBackend, "missing_blobs", counting)
    with cairn.init(project="p") as run:
        first = cairn.Artifact("d", "dataset")
        first.add_dir(str(source))
        run.log_artifact(first)
        again = cairn.Artifact("d", "dataset")
        again.add_dir(str(source))
        with pytest.warns(UserWarning, match="already exists with the same content"):
            run.log_artifact(again)
    assert asked == [5]  # the second log found its content as the latest version
    assert again.version == "v0"
