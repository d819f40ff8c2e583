"""Migrations: the packaged revisions build exactly the models' schema, idempotently."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from cairn.db.engine import create_db_engine, sqlite_url
from cairn.db.migrate import current_revision, head_revision, upgrade_to_head
from cairn.db.models import Base


def test_upgrade_builds_the_model_schema(tmp_path: Path) -> None:
    engine = create_db_engine(sqlite_url(tmp_path / "m.db"))
    try:
        assert current_revision(engine) is None
        upgrade_to_head(engine)
        upgrade_to_head(engine)  # a current database is left alone
        assert current_revision(engine) == head_revision() == "0003"
        tables = set(inspect(engine).get_table_names())
        assert tables == set(Base.metadata.tables) | {"alembic_version"}
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert differences == []
    finally:
        engine.dispose()
