"""The same schema and commit path on PostgreSQL.

The server is the ``postgres_admin_url`` fixture's (a throwaway cluster unless
``CAIRN_TEST_POSTGRES_URL`` names one); each test creates and drops its own scratch database.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, make_url, text

from cairn.core.manifest import Manifest, ManifestEntry
from cairn.db.engine import Database, create_db_engine
from cairn.db.migrate import upgrade_to_head
from cairn.db.models import Base
from cairn.protocol import CommitRequest
from cairn.service.blob_registry import BlobRegistry
from cairn.service.caller import LOCAL
from cairn.service.commit import commit_version
from cairn.service.resources import Store
from cairn.service.versions import list_versions
from cairn.storage.local.blobs import LocalBlobStore
from db.int_guard import refuses_out_of_range_integers


@pytest.fixture
def engine(postgres_admin_url: str) -> Iterator[Engine]:
    admin_url = postgres_admin_url
    name = f"cairn_test_{secrets.token_hex(4)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
    scratch = create_db_engine(make_url(admin_url).set(database=name).render_as_string(False))
    try:
        yield scratch
    finally:
        scratch.dispose()
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE {name}")
        admin.dispose()


def test_concurrent_migrations_build_the_model_schema(engine: Engine) -> None:
    threads = [threading.Thread(target=upgrade_to_head, args=(engine,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_concurrent_commits_get_consecutive_indices(engine: Engine, tmp_path: Path) -> None:
    upgrade_to_head(engine)
    store = Store(Database(engine), LocalBlobStore(tmp_path / "blobs"), "local")
    requests = []
    for n in range(8):
        source = tmp_path / f"file-{n}"
        source.write_bytes(f"content {n}".encode())
        blob = store.blobs.ingest(source, "md5")
        manifest = Manifest()
        manifest.add_entry(ManifestEntry(path="f", digest=blob.digest, size=blob.size))
        requests.append(
            CommitRequest(
                entity="e",
                project="p",
                collection="c",
                type="dataset",
                digest=manifest.digest(),
                digest_algorithm="MD5",
                manifest_json=manifest.to_json_bytes(),
            )
        )
    barrier = threading.Barrier(len(requests))
    indices: list[int] = []
    errors: list[BaseException] = []

    def commit(request: CommitRequest) -> None:
        barrier.wait()
        try:
            indices.append(commit_version(store, LOCAL, request).version.version_index)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=commit, args=(r,)) for r in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(indices) == list(range(8))
    page = list_versions(store, LOCAL, "e", "p", "c", None, 3)
    assert [v.version_index for v in page.items] == [7, 6, 5]
    assert page.items[0].aliases == ["latest"]


def test_the_blob_record_on_postgresql(engine: Engine) -> None:
    upgrade_to_head(engine)
    registry = BlobRegistry(Database(engine))
    blobs = [(f"ZDE{i:03d}==", "md5", i) for i in range(600)]  # more than one chunk
    errors: list[BaseException] = []

    def record() -> None:
        try:
            registry.record("team", blobs)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=record) for _ in range(3)]
    for thread in threads:  # concurrent writers of the same rows: each row once, no error
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    asked = [(digest, algorithm) for digest, algorithm, _size in blobs]
    assert registry.recorded("team", [*asked, ("ZDE==", "md5")]) == set(asked)
    assert registry.recorded("team", [(asked[0][0], "xxh128")]) == set()


def test_a_text_parameter_with_nul_is_bad_input_on_postgresql(engine: Engine) -> None:
    """psycopg cannot send NUL in text: the engine refuses it first, as on SQLite, with a
    ValueError (not a DataError the server would answer with 500)."""
    database = Database(engine)
    with database.write() as session:
        session.execute(text("CREATE TABLE names (name TEXT, data JSON)"))
    for statement in (
        "INSERT INTO names VALUES (:name, NULL)",
        "SELECT 1 FROM names WHERE name = :name",
    ):
        with pytest.raises(ValueError, match="NUL"), database.write() as session:
            session.execute(text(statement), {"name": "a\x00b"})
    with database.read() as session:
        assert session.execute(text("SELECT count(*) FROM names")).scalar() == 0


def test_an_integer_parameter_outside_64_bits_is_bad_input_on_postgresql(engine: Engine) -> None:
    """PostgreSQL answers such a number with a DataError (a server's 500): the engine
    refuses it first, as on SQLite, with a ValueError."""
    database = Database(engine)
    with database.write() as session:
        session.execute(text("CREATE TABLE t (x BIGINT)"))
    refuses_out_of_range_integers(database)
