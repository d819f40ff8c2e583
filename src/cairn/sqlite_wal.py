"""Switching a SQLite database to WAL mode when several processes open it at once.

WAL mode is persistent, so once any process has switched a database the pragma is a no-op
read. The switch itself needs an exclusive lock, and SQLite answers "database is locked"
at once, without calling its busy handler, while another connection holds one (several
processes opening a fresh store together). Both SQLite files Cairn keeps (the store's
database and the stat cache) are opened through here.
"""

from __future__ import annotations

import sqlite3
import time


def enter_wal_mode(target: sqlite3.Connection | sqlite3.Cursor, timeout: float) -> None:
    """Put the database behind ``target`` in WAL mode, retrying for up to ``timeout`` seconds.

    Raises:
        sqlite3.OperationalError: the database stayed locked for ``timeout`` seconds, or
            the pragma failed for another reason.
    """
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        try:
            target.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + delay > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.2)
