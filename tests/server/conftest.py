"""A real Cairn server on 127.0.0.1 (uvicorn in a thread) over SQLite or PostgreSQL."""

from __future__ import annotations

import dataclasses
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from cairn.server.app import create_app
from cairn.server.state import ServerConfig
from cairn.service.accounts import create_key, create_user


@dataclasses.dataclass
class Server:
    url: str
    config: ServerConfig
    admin_key: str

    def client(self, key: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(params=["sqlite", "pg"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+pysqlite:///{tmp_path / 'server.db'}"
        return
    admin_url = request.getfixturevalue("postgres_admin_url")
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


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Iterator[Server]:
    config = ServerConfig(
        db_url=db_url,
        store_dir=tmp_path / "store",
        secret=secrets.token_bytes(32),
        organization="acme",
        url_ttl_seconds=60,
        max_body_bytes=1024 * 1024,
    )
    app = create_app(config)
    state = app.state.cairn
    create_user(state.store, "root", admin=True)
    admin_key = create_key(state.store, "root").api_key
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
        yield Server(url=f"http://127.0.0.1:{port}", config=config, admin_key=admin_key)
    finally:
        uv.should_exit = True
        thread.join(timeout=30)
