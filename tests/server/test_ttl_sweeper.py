"""A server deletes expired versions by itself (``cairn.server.ttl_sweeper``): a background
sweep every ``ttl_sweep_interval_seconds``, on SQLite and PostgreSQL, started and stopped
with the app; a failing sweep is logged and tried again."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from pathlib import Path
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient

from cairn.server import ttl_sweeper
from cairn.server.app import create_app
from cairn.server.metrics import Metrics
from cairn.server.state import ServerState
from cairn.server.ttl_sweeper import TtlSweeper
from cairn.service import facts, ttl
from cairn.service.resources import Store
from cairn.service.ttl import SweepResult

from .conftest import pg_database, run_server, server_config
from .gate_world import log, ok

P = "/api/v1/entities/root/projects/p"


def test_the_server_deletes_expired_versions_in_the_background(db_url: str, tmp_path: Path) -> None:
    config = server_config(db_url, tmp_path, ttl_sweep_interval_seconds=0.2)
    with run_server(config) as server, server.client(server.admin_key) as admin:
        expiring = log(admin, "root", "p", "short", {"a.txt": b"a"}, ttl_duration_seconds=1)
        kept = log(admin, "root", "p", "kept", {"b.txt": b"b"})
        deadline = time.monotonic() + 30
        while admin.get(P + "/collections/short/versions/v0").status_code != 404:
            assert time.monotonic() < deadline, "the expired version was never swept"
            time.sleep(0.1)
        assert ok(admin.get(f"/api/v1/versions/{expiring['id']}"))["state"] == "DELETED"
        assert ok(admin.get(P + "/collections/kept/versions/v0"))["id"] == kept["id"]


def test_the_sweeper_runs_while_the_app_does(tmp_path: Path) -> None:
    config = server_config(f"sqlite+pysqlite:///{tmp_path / 'server.db'}", tmp_path)
    app = create_app(dataclasses.replace(config, ttl_sweep_interval_seconds=60))
    sweeper = app.state.ttl_sweeper
    assert not sweeper.running
    with TestClient(app) as client:
        assert client.get("/health").status_code == 200
        assert sweeper.running
    assert not sweeper.running  # stopped by the app's shutdown (not left sleeping)

    off = create_app(dataclasses.replace(config, ttl_sweep_interval_seconds=0))
    with TestClient(off):
        assert not off.state.ttl_sweeper.running


def test_a_failing_sweep_is_logged_and_tried_again(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[float] = []
    twice = threading.Event()

    def sweep_if_due(_store: Any, interval: float) -> SweepResult:
        calls.append(interval)
        if len(calls) == 1:
            raise OSError("database unreachable")
        twice.set()
        return SweepResult(deleted=["e/p/c:v0"])

    monkeypatch.setattr(ttl_sweeper.ttl, "sweep_if_due", sweep_if_due)
    metrics = Metrics()
    sweeper = TtlSweeper(cast(Store, None), interval=0.05, metrics=metrics)  # sweep replaced
    with caplog.at_level(logging.INFO, logger="cairn.server.ttl_sweeper"):
        sweeper.start()
        assert twice.wait(10)
        sweeper.stop()
    assert not sweeper.running
    assert calls[:2] == [0.05, 0.05]
    assert "TTL sweep failed; trying again in 0.05 s" in caplog.text
    assert "database unreachable" in caplog.text  # the traceback
    assert "TTL sweep deleted 1 expired versions: e/p/c:v0" in caplog.text
    sample = metrics.registry.get_sample_value
    assert sample("cairn_ttl_sweeps_total", {"outcome": "failed"}) == 1
    assert (sample("cairn_ttl_sweeps_total", {"outcome": "ok"}) or 0) >= 1
    assert (sample("cairn_ttl_expired_versions_total") or 0) >= 1


def test_on_postgresql_a_process_due_while_another_sweeps_skips_its_turn(
    postgres_admin_url: str, tmp_path: Path
) -> None:
    with pg_database(postgres_admin_url) as url:
        config = server_config(url, tmp_path)
        sweeping, due = ServerState(config), ServerState(config)
        try:
            with sweeping.db.write() as session:
                assert facts.advisory_lock(session, ttl.SWEEP_LOCK, wait=False)
                assert ttl.sweep_if_due(due.store, interval=0) is None
            assert ttl.sweep_if_due(due.store, interval=0) == SweepResult(deleted=[])
        finally:
            sweeping.close()
            due.close()
