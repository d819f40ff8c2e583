"""A real ``cairn server`` process for the behaviour suite (the ``backend`` fixture's
``server-sqlite`` and ``server-pg`` parameters) and the e2e server tests.

The server runs as users run it: ``python -m cairn.cli server --db ... --store DIR --port P``
in its own ``CAIRN_DIR``, with its first admin made by ``cairn server create-admin``. Tests
share one server per session and isolate themselves with a team of their own (``new_team``).
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest


@dataclasses.dataclass(frozen=True)
class ServerProcess:
    url: str
    admin_key: str
    log: Path
    s3_endpoint: str | None = None  # the S3 endpoint of a server on an S3 store

    def new_team(self, prefix: str = "t") -> str:
        """A fresh team (an entity of its own) the admin may write to; returns its name."""
        name = f"{prefix}-{secrets.token_hex(5)}"
        headers = {"Authorization": f"Bearer {self.admin_key}"}
        response = httpx.post(
            f"{self.url}/api/v1/admin/teams", json={"name": name}, headers=headers, timeout=60
        )
        assert response.status_code == 200, response.text
        return name

    def new_user_key(self, user: str, team: str, role: str = "member") -> str:
        """Create ``user`` with ``role`` in ``team``; return a key of theirs."""
        headers = {"Authorization": f"Bearer {self.admin_key}"}
        with httpx.Client(base_url=f"{self.url}/api/v1", headers=headers, timeout=60) as admin:
            for response in (
                admin.post("/admin/users", json={"name": user}),
                admin.put(f"/entities/{team}/members/{user}", json={"role": role}),
            ):
                assert response.status_code == 200, response.text
            response = admin.post(f"/users/{user}/keys", json={"name": "test"})
            assert response.status_code == 200, response.text
            return str(response.json()["api_key"])


def use_server(server: ServerProcess, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point the SDK at ``server`` (admin key) in a fresh team of its own; return the team."""
    team = server.new_team("tester")
    monkeypatch.setenv("CAIRN_BASE_URL", server.url)
    monkeypatch.setenv("CAIRN_API_KEY", server.admin_key)
    monkeypatch.setenv("CAIRN_ENTITY", team)
    return team


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _server_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CAIRN_", "WANDB_"))}
    env["CAIRN_DIR"] = str(home)
    env["XDG_CONFIG_HOME"] = str(home / "config")
    return env


@contextmanager
def running_server(
    root: Path,
    db_url: str,
    store: str | None = None,
    extra_env: dict[str, str] | None = None,
    admin_key: str | None = None,
    args: Sequence[str] = (),
) -> Iterator[ServerProcess]:
    """Start ``cairn server`` on a free port (SQLite or PostgreSQL at ``db_url``, blobs in
    ``store``: ``root/store`` unless an ``s3://`` URL is given, with its endpoint and
    credentials in ``extra_env``; more options in ``args``); yield it once ``/health``
    answers; stop it afterwards. Its first admin is made by ``create-admin``, unless the
    database already has one whose ``admin_key`` is given (another app process of the same
    server)."""
    home = root / "home"
    home.mkdir(parents=True, exist_ok=True)
    env = {**_server_env(home), **(extra_env or {})}
    cli = [sys.executable, "-m", "cairn.cli", "server"]
    if admin_key is None:
        made = subprocess.run(
            [*cli, "create-admin", "--db", db_url, "--name", "root"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert made.returncode == 0, made.stderr
        admin_key = json.loads(made.stdout)["api_key"]
    port = _free_port()
    log = root / "server.log"
    serve = [*cli, "--db", db_url, "--store", store or str(root / "store"), "--port", str(port)]
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [*serve, *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"cairn server did not start:\n{log.read_text()}")
            time.sleep(0.1)
        endpoint = (extra_env or {}).get("AWS_ENDPOINT_URL")
        yield ServerProcess(url=url, admin_key=admin_key, log=log, s3_endpoint=endpoint)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """A fresh database on the PostgreSQL at ``admin_url``; yields its URL, drops it after."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    name = f"cairn_it_{secrets.token_hex(4)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        yield make_url(admin_url).set(database=name).render_as_string(False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE {name} WITH (FORCE)")
        admin.dispose()
