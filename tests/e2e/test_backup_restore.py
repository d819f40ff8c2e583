"""Back up and restore a ``cairn server`` on PostgreSQL + a directory store, as
docs/server.md ("Backups") says (issue 20 item 6).

Versions are logged; the database is dumped with ``pg_dump -Fc`` (the binaries of the
PostgreSQL the tests run) and the store directory copied; more is logged (a version, an
alias move, a new collection); then the dump is restored with ``pg_restore`` into a fresh
database, the copy becomes the store, and a server runs on them. The versions of the backup
download byte-exact, what was logged after it is gone (its version numbers are given
again), and the API key of the backup still works.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

import cairn as wandb
from cairn.errors import NotFoundError
from cairn.sdk import backend_cache
from pgcluster import pg_bindir
from serverproc import ServerProcess, postgres_database, running_server, use_server


def _files(seed: int) -> dict[str, bytes]:
    rng = random.Random(seed)
    return {
        "small.txt": f"version {seed}\n".encode() * 50,
        "nested/large.bin": rng.randbytes(3 * 1024 * 1024),
    }


def _log(root: Path, name: str, files: dict[str, bytes], aliases: list[str]) -> str:
    """Log ``files`` as a version of ``p/name``; its version (``vN``)."""
    folder = root / f"{name}-{len(list(root.iterdir()))}"
    for path, data in files.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_bytes(data)
    with wandb.init(project="p", job_type="backup-test") as run:
        artifact = wandb.Artifact(name, "dataset")
        artifact.add_dir(str(folder))
        return str(run.log_artifact(artifact, aliases=aliases).wait().version)


def _libpq(url: str) -> str:
    """The database URL as libpq (pg_dump, pg_restore) takes it."""
    return make_url(url).set(drivername="postgresql").render_as_string(False)


def _pg(tool: str, *args: str) -> None:
    done = subprocess.run([str(pg_bindir() / tool), *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def _point_at(server: ServerProcess, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands use ``server`` from now on, with an empty client cache (so every byte comes
    from the server)."""
    backend_cache.close_all()
    monkeypatch.setenv("CAIRN_BASE_URL", server.url)
    monkeypatch.setenv("CAIRN_CACHE_DIR", str(cache))


@pytest.mark.slow
def test_a_restored_backup_serves_what_it_held_and_nothing_after(
    cairn_dir: Path, postgres_admin_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = tmp_path / "sources"
    sources.mkdir()
    store, backup_store, dump = tmp_path / "store", tmp_path / "backup-store", tmp_path / "db.dump"
    with postgres_database(postgres_admin_url) as db_url:
        with running_server(tmp_path / "before", db_url, str(store)) as before:
            use_server(before, monkeypatch)
            assert _log(sources, "data", _files(0), ["first"]) == "v0"
            assert _log(sources, "data", _files(1), ["best"]) == "v1"
            assert _log(sources, "model", _files(2), []) == "v0"

            _pg("pg_dump", "--format=custom", f"--file={dump}", _libpq(db_url))
            shutil.copytree(store, backup_store)

            assert _log(sources, "data", _files(3), ["best"]) == "v2"
            assert _log(sources, "late", _files(4), []) == "v0"
        admin_key = before.admin_key

    with postgres_database(postgres_admin_url) as restored_url:
        _pg("pg_restore", "--no-owner", f"--dbname={_libpq(restored_url)}", str(dump))
        restored_store = tmp_path / "restored-store"
        shutil.copytree(backup_store, restored_store)
        fsck = subprocess.run(  # the procedure's check, before the server serves it
            [
                *(sys.executable, "-m", "cairn.cli", "server", "fsck", "--db", restored_url),
                *("--store", str(restored_store), "--read-data", "--json"),
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert fsck.returncode == 0, fsck.stdout + fsck.stderr
        assert json.loads(fsck.stdout)["ok"]
        with running_server(
            tmp_path / "after", restored_url, str(restored_store), admin_key=admin_key
        ) as after:
            _point_at(after, tmp_path / "cache-after", monkeypatch)
            api = wandb.Api()
            entity = os.environ["CAIRN_ENTITY"]
            held = sorted(a.version for a in api.artifacts("dataset", f"{entity}/p/data"))
            assert held == ["v0", "v1"]
            assert api.artifact("p/data:best").version == "v1"
            assert api.artifact("p/data:latest").version == "v1"
            for name, version, seed in (("data", "v0", 0), ("data", "v1", 1), ("model", "v0", 2)):
                root = Path(api.artifact(f"p/{name}:{version}").download(tmp_path / name / version))
                assert {p: (root / p).read_bytes() for p in _files(seed)} == _files(seed)
            for gone in ("p/data:v2", "p/late:v0"):
                with pytest.raises(NotFoundError):
                    api.artifact(gone)

            assert _log(sources, "data", _files(5), []) == "v2"  # numbering goes on
            again = api.artifact("p/data:v2").download(tmp_path / "again")
            assert (Path(again) / "small.txt").read_bytes() == _files(5)["small.txt"]
