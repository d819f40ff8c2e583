"""Batch ingest through the embedded backend: packing, the stat cache, local paths."""

from __future__ import annotations

import time
from pathlib import Path

from cairn.core.digest import digest_bytes
from cairn.protocol import BlobRef
from cairn.sdk.artifact import Artifact
from cairn.sdk.run import init
from cairn.service.backend import EmbeddedBackend
from cairn.service.fsck import check_store
from cairn.settings import Settings
from cairn.storage.local.statcache import RACY_SECONDS


def tree(root: Path, count: int) -> list[Path]:
    root.mkdir()
    paths = []
    for index in range(count):
        path = root / f"{index}.txt"
        path.write_bytes(f"content {index}".encode())
        paths.append(path)
    time.sleep(RACY_SECONDS + 0.1)  # older than the racy window: the cache may trust them
    return paths


def test_unchanged_files_come_from_the_stat_cache(cairn_dir: Path, tmp_path: Path) -> None:
    paths = tree(tmp_path / "src", 5)
    backend = EmbeddedBackend(Settings.load())
    try:
        events: list[tuple[int, int, int, int]] = []
        first = backend.ingest_files(paths, "md5", lambda *e: events.append(e))
        assert [b.digest for b in first] == [digest_bytes(p.read_bytes()) for p in paths]
        assert events[-1][:2] == (5, 5)
        assert (cairn_dir / "statcache.db").is_file()

        paths[0].write_bytes(b"changed!!")  # new mtime: re-read
        second = backend.ingest_files(paths, "md5")
        assert second[0].digest == digest_bytes(b"changed!!")
        assert [b.digest for b in second[1:]] == [b.digest for b in first[1:]]
        assert all(b.local_path == p for b, p in zip(second[1:], paths[1:], strict=True))
        refs = [BlobRef(b.digest, "md5", b.size) for b in second]
        assert backend.missing_blobs("tester", refs) == []
        for blob in second:
            dest = tmp_path / f"out-{blob.digest.replace('/', '_')}"
            backend.fetch_blob("tester", BlobRef(blob.digest, "md5", blob.size), dest)
            assert digest_bytes(dest.read_bytes()) == blob.digest
    finally:
        backend.close()


def test_fsck_checks_packed_blobs(cairn_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "data"
    source.mkdir()
    for index in range(20):
        (source / f"{index}.txt").write_text(f"row {index}\n" * 10)
    with init(project="p") as run:
        artifact = Artifact("packed", "dataset")
        artifact.add_dir(str(source))
        run.log_artifact(artifact)
    report = check_store(Settings.load(), read_data=True)
    assert report.ok, report.problems
    assert report.blobs_verified >= 20
    (pack,) = (cairn_dir / "blobs" / "packs").glob("*.pack")
    pack.chmod(0o644)
    with open(pack, "r+b") as handle:
        handle.write(b"X")
    report = check_store(Settings.load(), read_data=True)
    assert len(report.problems) == 1
    assert "corrupt" in report.problems[0]
