"""Migrations: the packaged revisions build exactly the models' schema, idempotently."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from cairn.db.engine import Database, create_db_engine, sqlite_url
from cairn.db.migrate import alembic_config, current_revision, head_revision, upgrade_to_head
from cairn.db.models import Base
from cairn.service.blob_registry import BlobRegistry


def test_upgrade_builds_the_model_schema(tmp_path: Path) -> None:
    engine = create_db_engine(sqlite_url(tmp_path / "m.db"))
    try:
        assert current_revision(engine) is None
        upgrade_to_head(engine)
        upgrade_to_head(engine)  # a current database is left alone
        assert current_revision(engine) == head_revision() == "0006"
        tables = set(inspect(engine).get_table_names())
        assert tables == set(Base.metadata.tables) | {"alembic_version"}
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert differences == []
    finally:
        engine.dispose()


def _registry_round_trip(db: Database) -> None:
    registry = BlobRegistry(db)
    registry.record("team", [("ZDE=", "md5", 3), ("ZDE=", "md5", 3)])
    registry.record("team", [("ZDE=", "md5", 3), ("ZDI=", "xxh128", 4)])  # again: kept once
    asked = [("ZDE=", "md5"), ("ZDI=", "md5"), ("ZDI=", "xxh128")]
    assert registry.recorded("team", asked) == {("ZDE=", "md5"), ("ZDI=", "xxh128")}
    assert registry.recorded("other", asked) == set()


def test_upgrade_from_0003_keeps_data_and_adds_the_blob_record(tmp_path: Path) -> None:
    engine = create_db_engine(sqlite_url(tmp_path / "old.db"))
    try:
        with Database(engine).write_connection() as connection:
            command.upgrade(alembic_config(connection), "0003")
            connection.exec_driver_sql("INSERT INTO store_state (key, value) VALUES ('k', 'v')")
        assert "stored_blob" not in inspect(engine).get_table_names()
        upgrade_to_head(engine)
        assert current_revision(engine) == head_revision()
        with engine.connect() as connection:
            kept = connection.exec_driver_sql("SELECT value FROM store_state WHERE key = 'k'")
            assert kept.scalar() == "v"
        _registry_round_trip(Database(engine))
    finally:
        engine.dispose()


def test_upgrade_from_0004_adds_server_side_ui_sessions(tmp_path: Path) -> None:
    engine = create_db_engine(sqlite_url(tmp_path / "old.db"))
    try:
        with Database(engine).write_connection() as connection:
            command.upgrade(alembic_config(connection), "0004")
            connection.exec_driver_sql("INSERT INTO store_state (key, value) VALUES ('k', 'v')")
        assert "ui_session" not in inspect(engine).get_table_names()
        upgrade_to_head(engine)
        assert "ui_session" in inspect(engine).get_table_names()
        with engine.connect() as connection:
            kept = connection.exec_driver_sql("SELECT value FROM store_state WHERE key = 'k'")
            assert kept.scalar() == "v"
    finally:
        engine.dispose()
