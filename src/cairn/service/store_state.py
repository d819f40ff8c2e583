"""Small named facts about a store, kept in the ``store_state`` table.

``ttl_last_sweep`` (epoch seconds) lets the embedded store sweep expired versions at most
once an hour; ``gc_epoch`` grows each time the garbage collector deletes blobs, so a commit
that checked its blobs before a collection ran knows to check them again under its lock.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from cairn.db.models import StoreState

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


def gc_epoch(session: Session) -> int:
    """How many times the garbage collector has deleted blobs in this store."""
    return int(read(session, GC_EPOCH) or 0)
