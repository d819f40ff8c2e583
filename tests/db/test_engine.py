"""The SQLite engine: WAL, busy timeout, foreign keys, and BEGIN IMMEDIATE for writers only."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from cairn.db.engine import Database, create_db_engine, sqlite_url
from db.int_guard import refuses_out_of_range_integers


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(create_db_engine(sqlite_url(tmp_path / "test.db")))
    with database.write() as session:
        session.execute(text("CREATE TABLE t (x INTEGER)"))
    yield database
    database.dispose()


def _try_write(path: Path) -> None:
    """Take the write lock from another connection without waiting (raises if held)."""
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO t VALUES (2)")
        other.execute("COMMIT")
    finally:
        other.close()


def test_pragmas(db: Database) -> None:
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        busy_timeout = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
        assert busy_timeout is not None and busy_timeout >= 60_000
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_write_transaction_holds_the_lock_from_its_first_statement(
    db: Database, tmp_path: Path
) -> None:
    with db.write() as session:
        session.execute(text("SELECT count(*) FROM t")).scalar()
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            _try_write(tmp_path / "test.db")
    _try_write(tmp_path / "test.db")


def test_read_transaction_blocks_no_writer(db: Database, tmp_path: Path) -> None:
    with db.read() as session:
        before = session.execute(text("SELECT count(*) FROM t")).scalar()
        _try_write(tmp_path / "test.db")
        # Still the snapshot the read transaction started with.
        assert session.execute(text("SELECT count(*) FROM t")).scalar() == before


def test_write_rolls_back_on_error(db: Database) -> None:
    with pytest.raises(RuntimeError), db.write() as session:
        session.execute(text("INSERT INTO t VALUES (1)"))
        raise RuntimeError("boom")
    with db.read() as session:
        assert session.execute(text("SELECT count(*) FROM t")).scalar() == 0


def test_a_text_parameter_with_nul_is_refused_before_it_is_sent(db: Database) -> None:
    """PostgreSQL text cannot hold NUL: SQLite refuses it too, in writes and lookups alike."""
    with db.write() as session:
        session.execute(text("CREATE TABLE names (name TEXT)"))
    for statement in ("INSERT INTO names VALUES (:name)", "SELECT * FROM names WHERE name = :name"):
        with pytest.raises(ValueError, match="NUL"), db.write() as session:
            session.execute(text(statement), {"name": "a\x00b"})
    with pytest.raises(ValueError, match="NUL"), db.write() as session:
        session.execute(text("INSERT INTO names VALUES (:name)"), [{"name": "a"}, {"name": "\x00"}])
    with db.read() as session:
        assert session.execute(text("SELECT count(*) FROM names")).scalar() == 0
        assert session.execute(text("SELECT :b"), {"b": b"\x00"}).scalar() == b"\x00"


def test_an_integer_parameter_outside_64_bits_is_refused_before_it_is_sent(
    db: Database,
) -> None:
    """SQLite's driver raises OverflowError for such a number (a server's 500): the engine
    refuses it first, in writes and lookups alike, as bad input."""
    refuses_out_of_range_integers(db)
