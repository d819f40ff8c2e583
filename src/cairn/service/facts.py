"""Small named facts about a store, kept in the ``store_state`` table.

``ttl_last_sweep`` (epoch seconds) lets the embedded store sweep expired versions at most
once an hour; ``gc_epoch`` grows each time the garbage collector deletes blobs, so a commit
that checked its blobs before a collection ran knows to check them again under its lock.

On PostgreSQL the ``gc_epoch`` row is also the lock that keeps commits and deletions of
blobs apart (SQLite's single writer does it there): a commit reads it ``FOR SHARE``
(``gc_epoch(session, lock=True)``), so commits run side by side, and the garbage collector
takes it ``FOR UPDATE`` while it deletes (``bump_gc_epoch``), so no commit lands between
its last look at what is live and its deletions. ``advisory_lock`` lets one of several
processes do a job (the TTL sweep) while the others skip it or wait.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

from sqlalchemy import text

from cairn.db.models import StoreState

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

TTL_LAST_SWEEP = "ttl_last_sweep"
GC_EPOCH = "gc_epoch"


def read(session: Session, key: str, for_update: bool = False) -> str | None:
    """The value stored under ``key``, or None; ``for_update`` locks its row until the
    write transaction of ``session`` ends (PostgreSQL; SQLite's writer holds the database)."""
    row = session.get(StoreState, key, with_for_update=True if for_update else None)
    return None if row is None else row.value


def write(session: Session, key: str, value: str) -> None:
    """Store ``value`` under ``key`` (inside the caller's write transaction)."""
    row = session.get(StoreState, key)
    if row is None:
        session.add(StoreState(key=key, value=value))
    else:
        row.value = value


def gc_epoch(session: Session, lock: bool = False) -> int:
    """How many times the garbage collector has deleted blobs in this store; ``lock``
    holds its row ``FOR SHARE`` until the transaction ends (PostgreSQL), so no collection
    deletes blobs meanwhile."""
    row = session.get(StoreState, GC_EPOCH, with_for_update={"read": True} if lock else None)
    return int(row.value) if row is not None else 0


def ensure_gc_epoch(session: Session) -> None:
    """Create the ``gc_epoch`` row if it is missing (in its own transaction, before a
    collection: a commit can only hold a row that exists)."""
    if session.get(StoreState, GC_EPOCH) is None:
        session.add(StoreState(key=GC_EPOCH, value="0"))


def bump_gc_epoch(session: Session) -> int:
    """Lock the ``gc_epoch`` row ``FOR UPDATE`` (waiting for the commits that hold it),
    add one to it and return the new epoch; the lock lasts until the transaction ends."""
    row = session.get(StoreState, GC_EPOCH, with_for_update=True)
    epoch = (int(row.value) if row is not None else 0) + 1
    write(session, GC_EPOCH, str(epoch))
    session.flush()
    return epoch


def advisory_lock(session: Session, name: str, wait: bool) -> bool:
    """Take the transaction-scoped advisory lock ``name`` (PostgreSQL
    ``pg_advisory_xact_lock``): with ``wait``, once the session holding it lets it go;
    without, only if no other session holds it (False then). True on SQLite, whose write
    transaction already excludes every other writer."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    key = zlib.crc32(f"cairn:{name}".encode())
    if wait:
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
        return True
    taken = session.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": key})
    return bool(taken.scalar())
