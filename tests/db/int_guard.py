"""The engine's integer guard, checked alike on SQLite (``test_engine``) and PostgreSQL
(``test_postgres``)."""

from __future__ import annotations

import pytest
from sqlalchemy import JSON, Column, MetaData, Table, select, text

from cairn.db.engine import Database


def refuses_out_of_range_integers(db: Database) -> None:
    """Shared by the SQLite and PostgreSQL tests: table ``t (x BIGINT-or-INTEGER)`` exists."""
    for value in (2**63, -(2**63) - 1, 10**5000):
        for statement in ("INSERT INTO t VALUES (:x)", "SELECT * FROM t WHERE x = :x"):
            with pytest.raises(ValueError, match="Integer out of range"), db.write() as session:
                session.execute(text(statement), {"x": value})
    with pytest.raises(ValueError, match="Integer out of range"), db.write() as session:
        session.execute(text("INSERT INTO t VALUES (:x)"), [{"x": 1}, {"x": 2**64}])
    with db.read() as session:
        assert session.execute(text("SELECT count(*) FROM t")).scalar() == 0
    with db.write() as session:
        session.execute(text("INSERT INTO t VALUES (:x)"), [{"x": 2**63 - 1}, {"x": -(2**63)}])
    with db.read() as session:
        found = session.execute(text("SELECT x FROM t ORDER BY x")).scalars().all()
        assert found == [-(2**63), 2**63 - 1]
    # A JSON value is serialised, not bound as an integer: it may hold any number.
    table = Table("j", MetaData(), Column("data", JSON))
    table.create(db.engine)
    with db.write() as session:
        session.execute(table.insert(), {"data": {"n": 2**70}})
    with db.read() as session:
        assert session.execute(select(table.c.data)).scalar() == {"n": 2**70}
