"""The stat cache: hits only for unchanged, not racily-clean files; persisted across opens."""

from __future__ import annotations

import os
import time
from array import array
from pathlib import Path

import pytest

from cairn.errors import StoreError
from cairn.storage.local.folder_snapshots import FolderSnapshot, snapshot_folder
from cairn.storage.local.statcache import RACY_SECONDS, StatCache, stat_key

RACY = 0.05  # a short racy window, so the tests wait little for files to become trustworthy


def old_file(path: Path, data: bytes) -> Path:
    """A file last changed (mtime and ctime) more than the racy window ago."""
    path.write_bytes(data)
    time.sleep(2 * RACY)
    return path


def test_hit_after_reopen_and_miss_after_change(tmp_path: Path) -> None:
    source = old_file(tmp_path / "a.bin", b"hello")
    cache = StatCache(tmp_path / "stat.db", racy_seconds=RACY)
    key = stat_key(os.stat(source))
    cache.record([(str(source), key, "DIGEST")], "md5")
    cache.close()

    reopened = StatCache(tmp_path / "stat.db", racy_seconds=RACY)
    assert reopened.lookup([str(source)], "md5") == {str(source): (key, "DIGEST")}
    assert reopened.lookup([str(source)], "xxh128") == {}
    assert reopened.lookup([str(tmp_path / "other")], "md5") == {}

    source.write_bytes(b"hellO")  # same size, new mtime and ctime
    assert stat_key(os.stat(source)) != key


def test_racily_clean_entries_are_not_trusted(tmp_path: Path) -> None:
    source = tmp_path / "fresh.bin"
    source.write_bytes(b"just written")
    cache = StatCache(tmp_path / "stat.db")
    cache.record([(str(source), stat_key(os.stat(source)), "DIGEST")], "md5")
    assert cache.lookup([str(source)], "md5") == {}


def test_unusable_cache_file_is_a_store_error(tmp_path: Path) -> None:
    bad = tmp_path / "stat.db"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="stat cache"):
        StatCache(bad)


def test_default_racy_window_covers_coarse_clocks() -> None:
    assert RACY_SECONDS >= 2


def test_lookup_reads_only_the_folder_of_its_paths(tmp_path: Path) -> None:
    # Every folder ever added stays in the cache; a lookup serves one folder's files only,
    # and siblings sharing a name prefix (``data`` and ``data2``) are told apart.
    files = {}
    for folder in ("data", "data2", "other"):
        (tmp_path / folder).mkdir()
        for name in ("a.bin", "b.bin"):
            files[f"{folder}/{name}"] = str(tmp_path / folder / name)
            Path(files[f"{folder}/{name}"]).write_bytes(folder.encode() + name.encode())
    time.sleep(2 * RACY)
    cache = StatCache(tmp_path / "stat.db", racy_seconds=RACY)
    cache.record(
        [(path, stat_key(os.stat(path)), f"D-{key}") for key, path in files.items()], "md5"
    )

    wanted = [files["data/a.bin"], files["data/b.bin"]]
    found = cache.lookup(wanted, "md5")
    assert {path: digest for path, (_key, digest) in found.items()} == {
        files["data/a.bin"]: "D-data/a.bin",
        files["data/b.bin"]: "D-data/b.bin",
    }
    mixed = cache.lookup([files["data2/a.bin"], files["other/b.bin"]], "md5")
    assert sorted(digest for _key, digest in mixed.values()) == ["D-data2/a.bin", "D-other/b.bin"]
    assert cache.lookup([files["data/a.bin"]], "md5")[files["data/a.bin"]][1] == "D-data/a.bin"
    assert cache.lookup([], "md5") == {}


def test_a_folder_snapshot_round_trips_and_is_kept_per_folder(tmp_path: Path) -> None:
    fields, inodes = array("q", [4096, -5, 7, 0, 1, 2]), array("Q", [2**64 - 1, 12])
    snapshot = FolderSnapshot("/d/a\0/d/b\nc", fields, inodes, ["X==", "Y=="], 99, "7:3")
    cache = StatCache(tmp_path / "stat.db")
    cache.record_snapshot("/d/", "md5", snapshot)
    cache.close()

    reopened = StatCache(tmp_path / "stat.db")
    assert reopened.snapshot("/d/", "md5") == snapshot
    assert reopened.snapshot("/d/", "xxh128") is None
    assert reopened.snapshot("/e/", "md5") is None
    newer = FolderSnapshot("/d/a", array("q", [1, 2, 3]), array("Q", [4]), ["Z=="], 100, "7:4")
    reopened.record_snapshot("/d/", "md5", newer)
    assert reopened.snapshot("/d/", "md5") == newer


def test_a_torn_or_foreign_snapshot_file_is_absent(tmp_path: Path) -> None:
    snapshot = FolderSnapshot(
        "/d/a\0/d/b", array("q", range(6)), array("Q", [1, 2]), ["X", "Y"], 5, ""
    )
    cache = StatCache(tmp_path / "stat.db")
    cache.record_snapshot("/d/", "md5", snapshot)
    (written,) = (tmp_path / "stat.snapshots").iterdir()
    data = written.read_bytes()
    for torn in (b"", data[:-1], data[:40], data[:-5] + bytes([data[-5] ^ 1]) + data[-4:]):
        written.write_bytes(torn)
        assert cache.snapshot("/d/", "md5") is None
    written.write_bytes(data)
    assert cache.snapshot("/d/", "md5") == snapshot
    # /d/'s snapshot found under /e/'s file name (a hash collision) is not taken for /e/'s.
    cache.record_snapshot("/e/", "md5", snapshot)
    (other,) = set((tmp_path / "stat.snapshots").iterdir()) - {written}
    other.write_bytes(data)
    assert cache.snapshot("/e/", "md5") is None
    assert cache.snapshot("/d/", "md5") == snapshot


def test_a_snapshot_that_cannot_be_written_is_a_store_error(tmp_path: Path) -> None:
    cache = StatCache(tmp_path / "stat.db")
    (tmp_path / "stat.snapshots").write_text("a file where the folder goes")
    snapshot = FolderSnapshot("/d/a", array("q", [1, 2, 3]), array("Q", [4]), ["Z"], 1, "")
    with pytest.raises(StoreError, match="Cannot write a folder snapshot"):
        cache.record_snapshot("/d/", "md5", snapshot)
    assert cache.snapshot("/d/", "md5") is None


def test_a_batch_is_filed_under_the_directory_its_paths_share() -> None:
    assert snapshot_folder("/data/d0/a\0/data/d1/b\0/data/d0/c") == "/data/"
    assert snapshot_folder("/data/x.bin") == "/data/"
    assert snapshot_folder("/data/ab\0/data/ac") == "/data/"  # not the string "/data/a"
    assert snapshot_folder("/data/d0/a\0/data/d0/b") == "/data/d0/"
    assert snapshot_folder("/a\0/data/d0/b") == "/"
    assert snapshot_folder("/data/d0/x/a\0/data/d0y/b") == "/data/"  # "/data/d0" is no folder
