"""Engines and transactions: the one place that knows how each database must be driven.

SQLite (the embedded store) runs in WAL mode so readers never wait for the writer, with a
60 s busy timeout and foreign keys on. pysqlite's own transaction handling is switched
off (``isolation_level=None``) so that SQLAlchemy's ``begin`` event decides how a
transaction starts: write transactions start with ``BEGIN IMMEDIATE``, taking the write
lock up front, so several processes committing at once queue up instead of failing with
"database is locked" on a lock upgrade. Read transactions start with a plain ``BEGIN``
(a consistent snapshot that blocks nobody).

PostgreSQL needs none of this: its writers lock the rows they change with
``SELECT ... FOR UPDATE`` (which SQLAlchemy omits on SQLite, where the whole database is
already locked). Its read transactions run at ``REPEATABLE READ``, so that they too see
one snapshot: at the default ``READ COMMITTED`` each statement sees the commits made
since the one before, and a listing read in two statements (versions, then their
aliases) could show ``latest`` on no version, or on two, while other processes commit.

PostgreSQL text cannot hold a NUL character (psycopg refuses to send one) where SQLite
stores it, so both engines refuse a text parameter holding NUL, in a lookup as in a
write, with a ``ValueError`` before the statement is sent: the two databases answer
alike, and a name with NUL (from a URL, a body, a GraphQL argument) is bad input (400
over HTTP), never a server error. Likewise an integer parameter outside the signed 64-bit
range both databases hold (``cairn.core.ints``) is refused with a ``ValueError`` before it
is sent, where SQLite's driver would raise ``OverflowError`` and PostgreSQL a
``DataError``: the service checks the numbers it stores against their ranges first, and
this guard keeps any path it missed (a lookup by a huge id, a derived value) from reaching
the driver.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session

from cairn.core.ints import INT64_MAX, INT64_MIN
from cairn.sqlite_wal import enter_wal_mode

if TYPE_CHECKING:
    import sqlite3
    from pathlib import Path

BUSY_TIMEOUT_SECONDS = 60.0
# PostgreSQL connections one engine keeps open, and how many more it opens under load
# (closed again when returned). A server runs its requests in up to 40 threads: with
# SQLAlchemy's default of 5 kept, requests under load waited for a connection or opened
# one of their own, a new PostgreSQL backend each time (bench/README.md, load).
POOL_SIZE = 20
POOL_OVERFLOW = 20
_WRITE_OPTION = "cairn_write"


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of the SQLite database file at ``path``."""
    return f"sqlite+pysqlite:///{path}"


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        # Autocommit at the driver level; transactions are begun explicitly below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
            enter_wal_mode(cursor, BUSY_TIMEOUT_SECONDS)
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if connection.get_execution_options().get(_WRITE_OPTION):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_holds_nul(v) for v in value)
    return False  # numbers, bytes, JSON values the driver serialises with escapes


def _bound_values(parameters: Any, executemany: bool) -> Iterable[Any]:
    """The values bound to a statement's parameters (of each row, for ``executemany``); a
    JSON value is one value, not looked into."""
    rows = parameters if executemany else [parameters]
    for row in rows or ():
        if isinstance(row, Mapping):
            yield from row.values()
        elif isinstance(row, list | tuple):
            yield from row


_OUT_OF_RANGE = f"Integer out of range: the database holds integers from {INT64_MIN} to {INT64_MAX}"


def _out_of_range(value: Any) -> bool:
    return isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX


def _refuse_bad_parameters(engine: Engine) -> None:
    @event.listens_for(engine, "before_cursor_execute")
    def _before_execute(
        _connection: Connection,
        _cursor: Any,
        _statement: str,
        parameters: Any,
        _context: Any,
        executemany: bool,
    ) -> None:
        if _holds_nul(parameters):
            raise ValueError("Text cannot contain a NUL character")
        if any(_out_of_range(value) for value in _bound_values(parameters, executemany)):
            raise ValueError(_OUT_OF_RANGE)


def create_db_engine(url: str) -> Engine:
    """Create the engine for ``url`` with the settings its database needs (see module doc).

    Statements whose text parameters hold a NUL character, or whose integer parameters
    are outside the signed 64-bit range, raise ``ValueError`` on every engine, before they
    are sent.

    Raises:
        sqlalchemy.exc.ArgumentError: ``url`` is not a valid database URL.
        ModuleNotFoundError: the database driver is not installed.
    """
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"timeout": BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
        )
        _configure_sqlite(engine)
    else:
        engine = create_engine(
            url, pool_pre_ping=True, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW
        )
    _refuse_bad_parameters(engine)
    return engine


class Database:
    """An engine plus the two kinds of unit of work the service uses.

    ``read()`` yields a session whose transaction only reads, from one snapshot;
    ``write()`` yields one whose transaction holds the database write lock on SQLite from
    its first statement, and commits when the block ends without error (rolls back
    otherwise).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._read_engine = (
            engine.execution_options(isolation_level="REPEATABLE READ")
            if engine.dialect.name == "postgresql"
            else engine
        )
        self._write_engine = engine.execution_options(**{_WRITE_OPTION: True})

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only unit of work (its changes, if any, are rolled back)."""
        with Session(self._read_engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A unit of work that commits at the end of the block (see class doc)."""
        with Session(self._write_engine, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def write_connection(self) -> Iterator[Connection]:
        """A Core connection inside a write transaction (migrations use it)."""
        with self._write_engine.connect() as connection, connection.begin():
            yield connection

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
