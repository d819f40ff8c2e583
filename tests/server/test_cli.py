"""``cairn server migrate`` and ``create-admin`` through the entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from cairn.db.engine import create_db_engine, sqlite_url
from cairn.db.migrate import current_revision, head_revision


def _cairn(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cairn.cli", *args], capture_output=True, text=True, timeout=120
    )


def test_migrate_and_create_admin(cairn_dir: Path, tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "srv.db")
    migrated = _cairn("server", "migrate", "--db", url)
    assert migrated.returncode == 0, migrated.stderr
    assert json.loads(migrated.stdout) == {"revision": head_revision()}
    created = _cairn("server", "create-admin", "--db", url, "--name", "boss")
    assert created.returncode == 0, created.stderr
    key = json.loads(created.stdout)["api_key"]
    assert key.startswith("cairn_")
    again = _cairn("server", "create-admin", "--db", url, "--name", "boss")
    assert again.returncode == 1
    assert "already exists" in again.stderr
    engine = create_db_engine(url)
    try:
        assert current_revision(engine) == head_revision()
        with engine.connect() as connection:
            stored = connection.exec_driver_sql("SELECT secret_hash FROM api_key").scalar_one()
        assert stored not in key
    finally:
        engine.dispose()
