"""Migrations: the packaged revisions build exactly the models' schema, idempotently."""

from __future__ import annotations

import json
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
        assert current_revision(engine) == head_revision() == "0011"
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


def test_upgrade_from_0005_gives_runs_the_summary_and_last_step_of_their_history(
    tmp_path: Path,
) -> None:
    engine = create_db_engine(sqlite_url(tmp_path / "old.db"))
    now = "2026-01-01 00:00:00"
    try:
        with Database(engine).write_connection() as connection:
            command.upgrade(alembic_config(connection), "0005")
            run = connection.exec_driver_sql
            run(f"INSERT INTO organization (id, name, created_at) VALUES (1, 'o', '{now}')")
            run(
                "INSERT INTO entity (id, organization_id, name, created_at) "
                f"VALUES (1, 1, 'e', '{now}')"
            )
            run(
                f"INSERT INTO project (id, entity_id, name, created_at) VALUES (1, 1, 'p', '{now}')"
            )
            for pk in (1, 2):
                run(
                    "INSERT INTO run (id, project_id, run_id, name, config, state, created_at) "
                    f"VALUES ({pk}, 1, 'r{pk}', 'r{pk}', '{{}}', 'finished', '{now}')"
                )
            for step, data in ((0, '{"loss": 2, "acc": 0.1}'), (3, '{"loss": 1}')):
                run(
                    "INSERT INTO run_history (run_id, step, data, created_at) "
                    f"VALUES (1, {step}, '{data}', '{now}')"
                )
        upgrade_to_head(engine)
        with engine.connect() as connection:
            rows = connection.exec_driver_sql(
                "SELECT run_id, summary, last_step FROM run ORDER BY id"
            ).all()
        assert [(r, json.loads(summary), last) for r, summary, last in rows] == [
            ("r1", {"loss": 1, "acc": 0.1, "_step": 3}, 3),
            ("r2", {}, None),
        ]
    finally:
        engine.dispose()
