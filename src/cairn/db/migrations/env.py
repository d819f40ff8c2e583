"""Alembic environment for Cairn's schema: always run in-process by ``cairn.db.migrate``.

There is no ``alembic.ini``: ``cairn.db.migrate`` builds the Alembic config in code and
passes the open connection (already inside the write transaction that serialises
concurrent upgrades) as ``config.attributes["connection"]``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from cairn.db.models import Base

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("Cairn migrations run only through cairn.db.migrate.upgrade_to_head")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
