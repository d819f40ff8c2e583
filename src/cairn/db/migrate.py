"""Bring a database's schema to the newest Alembic revision, in-process and race-free.

The migration scripts ship inside the package (``cairn/db/migrations``); the Alembic
config is built here in code, so no ``alembic.ini`` is needed. Every store open calls
``upgrade_to_head``: it runs inside one write transaction (``BEGIN IMMEDIATE`` on SQLite,
an advisory lock on PostgreSQL), so when several processes open a fresh store at once,
one creates the schema and the others then find it current.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from cairn.db.engine import Database

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# An arbitrary constant naming Cairn's migration lock among PostgreSQL advisory locks.
_PG_MIGRATION_LOCK = 0x636169726E


def alembic_config(connection: Connection | None = None) -> Config:
    """The Alembic config for Cairn's migrations, bound to ``connection`` when given."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision the package ships."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"No migrations found in {MIGRATIONS_DIR}")
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None for an empty database)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade_to_head(engine: Engine) -> None:
    """Apply every migration the database lacks (a no-op when it is current).

    Raises:
        sqlalchemy.exc.OperationalError: the database cannot be opened or written.
    """
    head = head_revision()
    with Database(engine).write_connection() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK}
            )
        if MigrationContext.configure(connection).get_current_revision() == head:
            return
        command.upgrade(alembic_config(connection), "head")
