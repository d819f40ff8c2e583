"""The SDK pointed at a running ``cairn server``: one on SQLite and a directory store, one
on PostgreSQL and S3 (both shared by the session, each test in a fresh team)."""

from __future__ import annotations

from pathlib import Path

import pytest

from serverproc import ServerProcess, use_server


@pytest.fixture
def server(
    cairn_dir: Path, cairn_server_sqlite: ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> ServerProcess:
    use_server(cairn_server_sqlite, monkeypatch)
    return cairn_server_sqlite


@pytest.fixture
def s3_server(
    cairn_dir: Path, cairn_server_pg: ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> ServerProcess:
    use_server(cairn_server_pg, monkeypatch)
    return cairn_server_pg


@pytest.fixture(params=["dir-sqlite", "s3-pg"])
def any_server(
    request: pytest.FixtureRequest, cairn_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> ServerProcess:
    """Each of the two servers in turn."""
    name = "cairn_server_sqlite" if request.param == "dir-sqlite" else "cairn_server_pg"
    running: ServerProcess = request.getfixturevalue(name)
    use_server(running, monkeypatch)
    return running
