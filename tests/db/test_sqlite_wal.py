"""WAL mode is entered even while another connection holds the write lock of a fresh store."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from cairn.sqlite_wal import enter_wal_mode


def _writer_holding_lock(path: Path) -> sqlite3.Connection:
    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    writer.execute("CREATE TABLE t (x INTEGER)")
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO t VALUES (1)")
    return writer


def test_plain_pragma_fails_at_once_while_a_writer_holds_the_lock(tmp_path: Path) -> None:
    # The case the retry exists for: SQLite does not wait, whatever the busy timeout.
    path = tmp_path / "db.sqlite"
    writer = _writer_holding_lock(path)
    reader = sqlite3.connect(path, timeout=30, isolation_level=None)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        reader.execute("PRAGMA journal_mode = WAL")
    writer.execute("ROLLBACK")


def test_enter_wal_mode_waits_for_the_writer(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    writer = _writer_holding_lock(path)
    threading.Timer(0.3, lambda: writer.execute("COMMIT")).start()
    other = sqlite3.connect(path, timeout=30, isolation_level=None)
    enter_wal_mode(other, timeout=30)
    assert other.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert other.execute("SELECT x FROM t").fetchall() == [(1,)]


def test_enter_wal_mode_gives_up_after_its_timeout(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    writer = _writer_holding_lock(path)
    other = sqlite3.connect(path, timeout=0.05, isolation_level=None)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        enter_wal_mode(other, timeout=0.3)
    writer.execute("ROLLBACK")
