"""Shared fixtures: every test runs against its own throwaway Cairn directories."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from cairn.protocol import Backend
from serverproc import ServerProcess, postgres_database, running_server, use_server


def pytest_configure(config: pytest.Config) -> None:
    """No test touches the user's own Cairn directories, even one that forgets the
    ``cairn_dir`` fixture: the defaults point into a directory of this backend_cache."""
    session = Path(tempfile.mkdtemp(prefix="cairn-tests-"))
    config.add_cleanup(lambda: shutil.rmtree(session, ignore_errors=True))
    for name, place in (
        ("CAIRN_DIR", "cairn-home"),
        ("CAIRN_CACHE_DIR", "cache"),
        ("CAIRN_ARTIFACT_DIR", "artifacts"),
    ):
        os.environ[name] = str(session / place)


@pytest.fixture
def cairn_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh ``CAIRN_DIR`` (plus cache and download roots) for one test."""
    root = tmp_path / "cairn-home"
    monkeypatch.setenv("CAIRN_DIR", str(root))
    monkeypatch.setenv("CAIRN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("CAIRN_ARTIFACT_DIR", str(tmp_path / "artifacts"))
    monkeypatch.setenv("CAIRN_ENTITY", "tester")
    monkeypatch.setenv("CAIRN_SILENT", "true")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # no `cairn login` file
    for name in (
        "CAIRN_PROJECT",
        "CAIRN_BASE_URL",
        "CAIRN_API_KEY",
        "WANDB_PROJECT",
        "WANDB_ENTITY",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    yield root
    from cairn.sdk import backend_cache

    backend_cache.close_all()


# The backends the behaviour suite runs against (DESIGN §7).
KNOWN_BACKENDS = ("embedded", "server-sqlite", "server-pg")


def _requested_backends() -> list[str]:
    wanted = os.environ.get("CAIRN_TEST_BACKENDS", ",".join(KNOWN_BACKENDS))
    return [name for name in (w.strip() for w in wanted.split(",")) if name in KNOWN_BACKENDS]


@pytest.fixture(scope="session")
def cairn_server_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One ``cairn server`` on SQLite and a directory store, shared by the backend_cache."""
    root = tmp_path_factory.mktemp("server-sqlite")
    with running_server(root, f"sqlite+pysqlite:///{root / 'server.db'}") as server:
        yield server


@pytest.fixture(scope="session")
def cairn_server_pg(
    tmp_path_factory: pytest.TempPathFactory, postgres_admin_url: str
) -> Iterator[ServerProcess]:
    """One ``cairn server`` on the throwaway PostgreSQL and S3 (moto's server mode, a bucket of
    its own), shared by the session (DESIGN §7)."""
    import boto3

    from refservers import moto_s3

    root = tmp_path_factory.mktemp("server-pg")
    with moto_s3() as endpoint, postgres_database(postgres_admin_url) as db_url:
        s3_env = {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id="test",
            aws_secret_access_key="test",
            region_name="us-east-1",
        ).create_bucket(Bucket="cairn-server-pg")
        with running_server(root, db_url, "s3://cairn-server-pg/blobs", s3_env) as server:
            yield server


@pytest.fixture(params=_requested_backends())
def backend(
    request: pytest.FixtureRequest, cairn_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Backend:
    """The backend a behaviour test runs against; the SDK (drafts, runs, ``Api``) opens the
    same one from the environment this fixture prepares. Server parameters share one server
    per session; each test gets a team of its own as ``CAIRN_ENTITY`` (``backend.settings.
    entity``; ``tester`` in embedded mode).

    ``CAIRN_TEST_BACKENDS`` (comma-separated) narrows the parameters.
    """
    import cairn.connect  # noqa: F401  (registers the backends, as ``import cairn`` does)
    from cairn.sdk.backend_cache import backend_for

    if request.param != "embedded":
        fixture = {"server-sqlite": "cairn_server_sqlite", "server-pg": "cairn_server_pg"}
        use_server(request.getfixturevalue(fixture[request.param]), monkeypatch)
    return backend_for()


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """An admin URL of a PostgreSQL server: ``CAIRN_TEST_POSTGRES_URL``, or a throwaway cluster."""
    given = os.environ.get("CAIRN_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    from pgcluster import postgres_cluster

    with postgres_cluster() as url:
        yield url
