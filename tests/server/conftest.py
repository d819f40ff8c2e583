"""A real Cairn server on 127.0.0.1 (uvicorn in a thread) over SQLite or PostgreSQL."""

from __future__ import annotations

import contextlib
import dataclasses
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

import refservers
from cairn.server.app import create_app
from cairn.server.state import ServerConfig
from cairn.service.accounts import create_key, create_user
from cairn.service.caller import LOCAL
from cairn.service.limits import Limits


@dataclasses.dataclass
class Server:
    url: str
    config: ServerConfig
    admin_key: str
    state: Any = None  # the app's ``ServerState`` (its database and blob store)

    def client(self, key: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def pg_database(admin_url: str) -> Iterator[str]:
    """A fresh database on the throwaway PostgreSQL, dropped afterwards; its URL."""
    name = f"cairn_srv_{secrets.token_hex(4)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        yield make_url(admin_url).set(database=name).render_as_string(False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE {name} WITH (FORCE)")
        admin.dispose()


@pytest.fixture(params=["sqlite", "pg"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+pysqlite:///{tmp_path / 'server.db'}"
        return
    with pg_database(request.getfixturevalue("postgres_admin_url")) as url:
        yield url


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A moto S3 server for the whole session."""
    with refservers.moto_s3() as url:
        yield url


@pytest.fixture
def s3_store_url(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh bucket on the moto server, as ``s3://<bucket>/srv``."""
    import boto3

    for name, value in (("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test")):
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    bucket = f"cairn-{secrets.token_hex(6)}"
    boto3.client("s3", endpoint_url=moto_endpoint).create_bucket(Bucket=bucket)
    return f"s3://{bucket}/srv"


def server_config(db_url: str, tmp_path: Path, **changes: Any) -> ServerConfig:
    config = ServerConfig(
        db_url=db_url,
        store_dir=tmp_path / "store",
        secret=secrets.token_bytes(32),
        organization="acme",
        url_ttl_seconds=60,
        limits=Limits(max_body_bytes=1024 * 1024),
    )
    return dataclasses.replace(config, **changes)


@pytest.fixture(params=["dir", "s3"])
def server(request: pytest.FixtureRequest, db_url: str, tmp_path: Path) -> Iterator[Server]:
    changes: dict[str, Any] = {}
    if request.param == "s3":
        changes = {
            "store_url": request.getfixturevalue("s3_store_url"),
            "s3_endpoint_url": request.getfixturevalue("moto_endpoint"),
        }
    with run_server(server_config(db_url, tmp_path, **changes)) as running:
        yield running


@contextlib.contextmanager
def run_server(config: ServerConfig) -> Iterator[Server]:
    """Serve ``config`` on a free port with an admin ``root``, until the block ends."""
    app = create_app(config)
    state = app.state.cairn
    create_user(state.store, LOCAL, "root", admin=True)
    admin_key = create_key(state.store, LOCAL, "root").api_key
    port = _free_port()
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("server did not start")
        time.sleep(0.05)
    try:
        yield Server(f"http://127.0.0.1:{port}", config, admin_key, state)
    finally:
        uv.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(params=["dir", "s3"])
def store_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    """A SQLite server (1 MiB body limit) on either store."""
    db = f"sqlite+pysqlite:///{tmp_path / 'server.db'}"
    changes: dict[str, Any] = {}
    if request.param == "s3":
        changes["store_url"] = request.getfixturevalue("s3_store_url")
        changes["s3_endpoint_url"] = request.getfixturevalue("moto_endpoint")
    with run_server(server_config(db, tmp_path, **changes)) as running:
        yield running


@pytest.fixture(params=["sqlite-dir", "pg-s3"])
def gate_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    """A server on each of the two deployments: SQLite + a directory store, and
    PostgreSQL + S3 (moto's server)."""
    if request.param == "sqlite-dir":
        with run_server(
            server_config(f"sqlite+pysqlite:///{tmp_path / 'server.db'}", tmp_path)
        ) as s:
            yield s
        return
    store = {
        "store_url": request.getfixturevalue("s3_store_url"),
        "s3_endpoint_url": request.getfixturevalue("moto_endpoint"),
    }
    admin_url = request.getfixturevalue("postgres_admin_url")
    with pg_database(admin_url) as url, run_server(server_config(url, tmp_path, **store)) as s:
        yield s


@pytest.fixture
def world(gate_server: Server) -> Any:
    """``gate_world.build`` on ``gate_server``: several teams, registries and attackers."""
    from .gate_world import build

    return build(gate_server)


@pytest.fixture
def dir_world(tmp_path: Path) -> Iterator[Any]:
    """``gate_world.build`` on SQLite + a directory store only: for the routes that exist
    only there (the server's own signed upload routes)."""
    from .gate_world import build

    config = server_config(f"sqlite+pysqlite:///{tmp_path / 'server.db'}", tmp_path)
    with run_server(config) as running:
        yield build(running)
