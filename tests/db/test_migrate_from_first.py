"""Upgrading a database that holds data from the first revision (0001) to head, on SQLite
and PostgreSQL, then reading that data back through the service (and, on SQLite, the
embedded SDK): versions, aliases, tags, metadata, the runs that logged and used them, and
the bytes of their files (issue 20 item 6).

The rows are written as revision 0001's schema has them (its tables, reflected from the
database at that revision), not through today's models.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import Engine, create_engine, make_url

from cairn.core.manifest import Manifest, ManifestEntry
from cairn.db.engine import Database, create_db_engine, sqlite_url
from cairn.db.migrate import alembic_config, current_revision, head_revision, upgrade_to_head
from cairn.service import lineage, versions
from cairn.service.caller import LOCAL
from cairn.service.resources import Store
from cairn.storage.local.blobs import LocalBlobStore

ORG = "cairn"
FILES = {"a.txt": b"first file\n" * 100, "sub/b.bin": bytes(range(256)) * 40}
LATER = {"a.txt": b"second version of a\n"}
CREATED = dt.datetime(2024, 12, 1, 12, 0, tzinfo=dt.UTC)


def _manifest(blobs: LocalBlobStore, files: dict[str, bytes]) -> tuple[Manifest, str]:
    """Store ``files`` and their manifest; the manifest and its blob's digest."""
    manifest = Manifest()
    for path, data in files.items():
        stored = blobs.put_bytes(data)
        manifest.add_entry(ManifestEntry(path=path, digest=stored.digest, size=len(data)))
    return manifest, blobs.put_bytes(manifest.to_json_bytes()).digest


def _version_row(
    number: int, manifest: Manifest, manifest_digest: str, **fields: Any
) -> dict[str, Any]:
    row = {
        "id": number + 1,
        "collection_id": 1,
        "index": number,
        "type_id": 1,
        "digest": manifest.digest(),
        "digest_algorithm": "MD5",
        "manifest_digest": manifest_digest,
        "size": manifest.size,
        "file_count": len(manifest.entries),
        "state": "COMMITTED",
        "description": None,
        "metadata": {},
        "ttl_duration_seconds": None,
        "ttl_is_inherited": False,
        "history_step": None,
        "commit_hash": secrets.token_hex(6),
        "storage_region": None,
        "logged_by_run_id": 1,
        "created_at": CREATED,
        "updated_at": CREATED,
        "committed_at": CREATED,
    }
    return {**row, **fields}


def _seed_first_revision(engine: Engine, blobs: LocalBlobStore) -> None:
    """Build revision 0001 and fill it: ``acme/vision/images`` v0 (``best``, tag ``gold``,
    metadata, logged by run r1, used by run r2) and v1 (``latest``)."""
    first, first_digest = _manifest(blobs, FILES)
    second, second_digest = _manifest(blobs, LATER)
    with Database(engine).write_connection() as connection:
        command.upgrade(alembic_config(connection), "0001")
        tables = sa.MetaData()
        tables.reflect(connection)
        at = {"created_at": CREATED}
        rows: list[tuple[str, list[dict[str, Any]]]] = [
            ("organization", [{"id": 1, "name": ORG, **at}]),
            ("entity", [{"id": 1, "organization_id": 1, "name": "acme", **at}]),
            ("project", [{"id": 1, "entity_id": 1, "name": "vision", **at}]),
            ("artifact_type", [{"id": 1, "project_id": 1, "name": "dataset", **at}]),
            (
                "collection",
                [
                    {
                        "id": 1,
                        "project_id": 1,
                        "type_id": 1,
                        "name": "images",
                        "kind": "sequence",
                        "description": "from the first schema",
                        "next_index": 2,
                        "updated_at": CREATED,
                        **at,
                    }
                ],
            ),
            (
                "run",
                [
                    {
                        "id": number,
                        "project_id": 1,
                        "run_id": f"r{number}",
                        "name": f"run-{number}",
                        "job_type": "train",
                        "config": {"lr": 0.1 * number},
                        "state": "finished",
                        "exit_code": 0,
                        "finished_at": CREATED,
                        **at,
                    }
                    for number in (1, 2)
                ],
            ),
            (
                "version",
                [
                    _version_row(0, first, first_digest, description="v0", metadata={"epochs": 3}),
                    _version_row(1, second, second_digest),
                ],
            ),
            (
                "membership",
                [
                    {"id": 1, "collection_id": 1, "index": 0, "version_id": 1, **at},
                    {"id": 2, "collection_id": 1, "index": 1, "version_id": 2, **at},
                ],
            ),
            (
                "alias",
                [
                    {"id": 1, "collection_id": 1, "alias": "best", "version_id": 1, **at},
                    {"id": 2, "collection_id": 1, "alias": "latest", "version_id": 2, **at},
                ],
            ),
            ("tag", [{"id": 1, "version_id": 1, "name": "gold", **at}]),
            ("run_input", [{"id": 1, "run_id": 2, "version_id": 1, **at}]),
        ]
        for table, values in rows:
            connection.execute(tables.tables[table].insert(), values)
        if connection.dialect.name == "postgresql":  # explicit ids: move the sequences on
            for table, _values in rows:
                connection.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )


def _read_back(store: Store) -> None:
    """The seeded data, as the service answers for it after the upgrade."""
    best = versions.resolve_version(store, LOCAL, "acme", "vision", "images", "best")
    assert (best.version_index, best.aliases, best.tags) == (0, ["best"], ["gold"])
    assert (best.description, best.metadata, best.file_count) == ("v0", {"epochs": 3}, 2)
    latest = versions.resolve_version(store, LOCAL, "acme", "vision", "images", "latest")
    assert latest.version_index == 1
    listed = versions.list_versions(store, LOCAL, "acme", "vision", "images", None, 50)
    assert sorted(v.version_index for v in listed.items) == [0, 1]
    for info, files in ((best, FILES), (latest, LATER)):
        manifest = Manifest.from_json(versions.read_manifest(store, LOCAL, info.id))
        stored = {p: store.blobs.read_bytes(e.digest, "md5") for p, e in manifest.entries.items()}
        assert stored == files
    edges = lineage.lineage(store, LOCAL, best.id)
    assert edges.logged_by is not None and edges.logged_by.id == "r1"
    assert [run.id for run in edges.used_by] == ["r2"]


def _upgrade_and_read(engine: Engine, blobs: LocalBlobStore) -> None:
    _seed_first_revision(engine, blobs)
    assert current_revision(engine) == "0001"
    upgrade_to_head(engine)
    assert current_revision(engine) == head_revision()
    _read_back(Store(db=Database(engine), blobs=blobs, organization=ORG))


def test_sqlite_upgrades_from_the_first_revision_with_data(cairn_dir: Path) -> None:
    cairn_dir.mkdir(parents=True)
    blobs = LocalBlobStore(cairn_dir / "blobs")
    engine = create_db_engine(sqlite_url(cairn_dir / "cairn.db"))
    try:
        _upgrade_and_read(engine, blobs)
    finally:
        engine.dispose()

    import cairn as wandb  # the embedded SDK opens the upgraded store as its own

    artifact = wandb.Api().artifact("acme/vision/images:best")
    root = Path(artifact.download())
    assert {p: (root / p).read_bytes() for p in FILES} == FILES
    assert artifact.logged_by() is not None and artifact.logged_by().id == "r1"
    assert [run.id for run in artifact.used_by()] == ["r2"]


@pytest.fixture
def pg_engine(postgres_admin_url: str) -> Iterator[Engine]:
    name = f"cairn_first_{secrets.token_hex(4)}"
    admin = create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
    engine = create_db_engine(
        make_url(postgres_admin_url).set(database=name).render_as_string(False)
    )
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE {name}")
        admin.dispose()


def test_postgres_upgrades_from_the_first_revision_with_data(
    pg_engine: Engine, tmp_path: Path
) -> None:
    _upgrade_and_read(pg_engine, LocalBlobStore(tmp_path / "blobs"))
