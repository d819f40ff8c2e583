"""The stat cache: hits only for unchanged, not racily-clean files; persisted across opens."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from cairn.errors import StoreError
from cairn.storage.statcache import RACY_SECONDS, StatCache, stat_key

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
