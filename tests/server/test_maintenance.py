"""``cairn server sweep|gc|fsck`` on both deployments: SQLite + a directory store, and
PostgreSQL + S3 (moto's server). The commands run as users run them (the ``cairn`` entry
point in a subprocess) against the database and store a running server uses; the
collector's race with a commit is driven in-process, between its plan and its execution."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from sqlalchemy import select

from cairn.db.models import StoredBlob
from cairn.server.state import ServerState
from cairn.service import server_gc
from cairn.service.server_gc import plan_server_gc
from cairn.storage.blobstores.s3_client import parse_s3_url
from clirun import cairn

from .conftest import Server
from .gate_world import log, ok

P = "/api/v1/entities/root/projects/p"
SHARED = b"shared by both versions " * 10
ONLY_SHORT = b"only in the expiring version " * 10
ONLY_KEPT = b"only in the kept version " * 10


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def _store_arg(server: Server) -> str:
    return server.config.store_url or str(server.config.store_dir)


def _env(server: Server) -> dict[str, str]:
    env = {"CAIRN_SILENT": "true"}
    if server.config.s3_endpoint_url:
        env["AWS_ENDPOINT_URL_S3"] = server.config.s3_endpoint_url
    return env


def server_cli(server: Server, *args: str) -> Any:
    """``cairn server ARGS --db .. --store ..`` in a subprocess; its completed process."""
    command, *rest = args
    where = ["--db", server.config.db_url, "--store", _store_arg(server)]
    return cairn("server", command, *where, *rest, env=_env(server))


def server_json(server: Server, *args: str, status: int = 0) -> Any:
    import json

    result = server_cli(server, *args, "--json")
    assert result.returncode == status, result.stdout + result.stderr
    return json.loads(result.stdout)


class Objects:
    """The blobs of ``root`` under their final keys, as the store holds them."""

    def __init__(self, server: Server) -> None:
        self.server = server
        url = server.config.store_url
        if url is not None:
            self.bucket, prefix = parse_s3_url(url)
            self.prefix = f"{prefix}/entities/root/"
            self.s3 = boto3.client("s3", endpoint_url=server.config.s3_endpoint_url)
        else:
            self.root = Path(server.config.store_dir) / "entities" / "root"

    def stored(self) -> set[str]:
        """``md5/<hex>`` of each stored blob."""
        if self.server.config.store_url is None:
            return {
                f"md5/{p.parent.name}{p.name}"
                for p in (self.root / "md5").glob("*/*")
                if p.is_file()
            }
        pages = self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix
        )
        found = set()
        for page in pages:
            for item in page.get("Contents", []):
                algorithm, head, rest = item["Key"][len(self.prefix) :].split("/")
                found.add(f"{algorithm}/{head}{rest}")
        return found

    def _where(self, data: bytes) -> str:
        hexd = md5_hex(data)
        if self.server.config.store_url is None:
            return str(self.root / "md5" / hexd[:2] / hexd[2:])
        return f"{self.prefix}md5/{hexd[:2]}/{hexd[2:]}"

    def remove(self, data: bytes) -> str:
        where = self._where(data)
        if self.server.config.store_url is None:
            os.unlink(where)
        else:
            self.s3.delete_object(Bucket=self.bucket, Key=where)
        return where

    def overwrite(self, data: bytes, wrong: bytes) -> str:
        where = self._where(data)
        if self.server.config.store_url is None:
            os.chmod(where, 0o644)
            Path(where).write_bytes(wrong)
        else:
            self.s3.put_object(Bucket=self.bucket, Key=where, Body=wrong)
        return where


@pytest.fixture
def state(gate_server: Server) -> Iterator[ServerState]:
    """A second handle on the running server's database and store (as the CLI opens)."""
    state = ServerState(gate_server.config)
    try:
        yield state
    finally:
        state.close()


def _log_two(server: Server) -> tuple[dict[str, Any], dict[str, Any]]:
    with server.client(server.admin_key) as admin:
        short = log(
            admin,
            "root",
            "p",
            "short",
            {"s.txt": SHARED, "o.txt": ONLY_SHORT},
            ttl_duration_seconds=1,
        )
        kept = log(admin, "root", "p", "kept", {"s.txt": SHARED, "k.txt": ONLY_KEPT})
    return short, kept


def test_sweep_then_gc_frees_the_expired_versions_blobs(gate_server: Server) -> None:
    _log_two(gate_server)
    objects = Objects(gate_server)
    before = objects.stored()
    assert {f"md5/{md5_hex(d)}" for d in (SHARED, ONLY_SHORT, ONLY_KEPT)} <= before
    time.sleep(1.1)  # the TTL of 1 s passes

    swept = server_json(gate_server, "sweep")
    assert swept == {"deleted": ["root/p/short:v0"]}
    with gate_server.client(gate_server.admin_key) as admin:
        assert admin.get(P + "/collections/short/versions/v0").status_code == 404
        assert ok(admin.get(P + "/collections/kept/versions/v0"))["state"] == "COMMITTED"
    assert server_json(gate_server, "sweep") == {"deleted": []}

    # Everything was written moments ago: the default grace period of an hour keeps it.
    assert server_json(gate_server, "gc")["freed_files"] == 0

    plan = server_json(gate_server, "gc", "--grace-seconds", "0", "--dry-run")
    planned = {f"{b['algorithm']}/{b['digest']}" for b in plan["blobs"]}
    assert f"md5/{md5_hex(ONLY_SHORT)}" in planned
    assert len(planned) == 2  # and the expired version's manifest
    assert plan["planned_files"] == 2 and "freed_files" not in plan
    human = server_cli(gate_server, "gc", "--grace-seconds", "0", "--dry-run").stdout
    assert f"root md5/{md5_hex(ONLY_SHORT)}  {len(ONLY_SHORT)} bytes\n" in human
    last = human.splitlines()[-1]
    assert re.fullmatch(r"dry run: would free .+ in 2 blobs and remove 0 abandoned uploads", last)
    assert objects.stored() == before  # a dry run deletes nothing

    done = server_json(gate_server, "gc", "--grace-seconds", "0")
    assert done["freed_files"] == 2 and done["kept_files"] == 0
    assert objects.stored() == before - planned
    assert f"md5/{md5_hex(SHARED)}" in objects.stored()  # the kept version still needs it

    report = server_json(gate_server, "fsck", "--read-data")
    assert report["ok"] and report["versions_checked"] == 1 and report["entries_checked"] == 2
    assert report["blobs_verified"] == len(before) - 2


def test_gc_drops_the_registry_rows_of_what_it_deletes(
    gate_server: Server, state: ServerState
) -> None:
    _log_two(gate_server)
    time.sleep(1.1)
    swept = server_cli(gate_server, "sweep")
    assert swept.returncode == 0, swept.stderr
    assert swept.stdout == "expired root/p/short:v0\n1 expired version deleted\n"
    server_json(gate_server, "gc", "--grace-seconds", "0")
    with state.db.read() as session:
        rows = {(r.entity, r.digest) for r in session.scalars(select(StoredBlob))}
    gone = base64.b64encode(hashlib.md5(ONLY_SHORT).digest()).decode()
    assert ("root", gone) not in rows
    if gate_server.config.store_url is not None:  # only an S3 store records its blobs
        kept = base64.b64encode(hashlib.md5(ONLY_KEPT).digest()).decode()
        assert ("root", kept) in rows


def test_a_version_logged_during_the_run_keeps_its_blobs(
    gate_server: Server, state: ServerState
) -> None:
    short, _kept = _log_two(gate_server)
    with gate_server.client(gate_server.admin_key) as admin:
        ok(admin.delete(f"/api/v1/versions/{short['id']}?delete_aliases=true"))
    plan = plan_server_gc(state.store, grace_seconds=0)
    try:
        assert f"{md5_hex(ONLY_SHORT)}" in {b.hex_digest for b in plan.blobs()}
        # Between the plan and its execution, a version needs the blob again.
        with gate_server.client(gate_server.admin_key) as admin:
            log(admin, "root", "p", "again", {"o.txt": ONLY_SHORT})
        result = plan.execute()
    finally:
        plan.close()
    assert result.kept == 1 and result.files == 1  # the old manifest goes, the blob stays
    assert f"md5/{md5_hex(ONLY_SHORT)}" in Objects(gate_server).stored()
    with gate_server.client(gate_server.admin_key) as admin:
        assert ok(admin.get(P + "/collections/again/versions/v0"))["state"] == "COMMITTED"
    assert server_json(gate_server, "fsck")["ok"]


def test_gc_removes_abandoned_uploads(
    gate_server: Server, state: ServerState, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = b"never finished" * 1000
    digest = base64.b64encode(hashlib.md5(data).digest()).decode()
    part = 6 * 1024 * 1024
    upload = state.blob_store.start_multipart("root", digest, "md5", 2 * part, part)
    if gate_server.config.store_url is not None:  # a part received, and a staged object
        signed = state.blob_store.part_url("root", digest, "md5", upload.upload_id, 1, 60)
        assert signed is not None
        assert httpx.put(signed.url, content=b"p" * part).status_code == 200
        signed = state.blob_store.upload_url("root", digest, "md5", len(data), 60)
        assert signed is not None
        assert httpx.put(signed.url, content=data, headers=signed.headers).status_code == 200
    # A fresh abandoned upload is kept for a day; these are made to look that old.
    fresh = plan_server_gc(state.store, grace_seconds=0)
    assert fresh.staging == []
    fresh.close()
    monkeypatch.setattr(server_gc, "STAGING_AGE_SECONDS", 0.0)
    plan = plan_server_gc(state.store, grace_seconds=0)
    try:
        expected = 1 if gate_server.config.store_url is None else 2
        assert len(plan.staging) == expected
        assert plan.execute().staging == expected
    finally:
        plan.close()
    again = plan_server_gc(state.store, grace_seconds=0)
    assert again.staging == []
    again.close()


def test_fsck_names_a_deleted_and_a_corrupted_blob(gate_server: Server) -> None:
    _log_two(gate_server)
    objects = Objects(gate_server)
    objects.remove(ONLY_KEPT)
    corrupted = objects.overwrite(SHARED, b"X" * len(SHARED))  # same size: only bytes differ

    quick = server_cli(gate_server, "fsck")
    assert quick.returncode == 1, quick.stdout + quick.stderr
    missing = base64.b64encode(hashlib.md5(ONLY_KEPT).digest()).decode()
    assert f"problem: root/p/kept:v0: blob md5 {missing} of 'k.txt' is missing" in quick.stdout
    assert "corrupt" not in quick.stdout
    # On S3 the record of stored blobs still vouches for the deleted one: named too.
    recorded = gate_server.config.store_url is not None
    record_line = (
        f"problem: the record of stored blobs lists root md5 {missing}, which the store lacks"
    )
    assert (record_line in quick.stdout) == recorded
    assert quick.stdout.strip().endswith(f"{1 + recorded} problem(s)")

    report = server_json(gate_server, "fsck", "--read-data", status=1)
    assert not report["ok"]
    assert any(f"blob md5 {missing} of 'k.txt' is missing" in p for p in report["problems"])
    assert f"blob {corrupted} is corrupt: its content does not match its name" in report["problems"]
    assert len(report["problems"]) == 2 + recorded


def test_a_resized_blob_is_found_without_reading_data(gate_server: Server) -> None:
    _log_two(gate_server)
    where = Objects(gate_server).overwrite(ONLY_KEPT, b"short")
    report = server_json(gate_server, "fsck", status=1)
    size = len(ONLY_KEPT)
    assert report["problems"] == [
        f"root/p/kept:v0: blob {where} of 'k.txt' has 5 bytes, its manifest says {size}"
    ]


def test_maintenance_commands_fail_in_one_line(tmp_path: Path) -> None:
    missing_db = f"sqlite+pysqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'server.db'}"
    for command in ("sweep", "gc", "fsck"):
        result = cairn("server", command, "--db", missing_db, "--store", str(tmp_path / "s"))
        assert result.returncode == 1, result.stdout + result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
        assert "Traceback" not in result.stderr


def test_on_postgresql_a_commit_waits_for_a_collection_batch_then_checks_again(
    postgres_admin_url: str, s3_store_url: str, moto_endpoint: str, tmp_path: Path
) -> None:
    from sqlalchemy import text

    from cairn.service import facts

    from .conftest import pg_database, run_server, server_config

    with pg_database(postgres_admin_url) as url:
        config = server_config(url, tmp_path, store_url=s3_store_url, s3_endpoint_url=moto_endpoint)
        with run_server(config) as server, server.client(server.admin_key) as admin:
            log(admin, "root", "p", "c", {"a.txt": SHARED})  # the gc_epoch row exists after
            state = ServerState(config)
            try:
                plan_server_gc(state.store, grace_seconds=0).close()
                results: list[Any] = []
                with state.db.write() as session:  # a collection's batch, under way
                    epoch = facts.bump_gc_epoch(session)
                    worker = threading.Thread(
                        target=lambda: results.append(
                            log(admin, "root", "p", "c", {"b.txt": ONLY_KEPT})
                        )
                    )
                    worker.start()
                    waiting = text(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE wait_event_type = 'Lock' AND query LIKE '%store_state%'"
                    )
                    with state.db.read() as probe:
                        while not probe.execute(waiting).scalar():
                            assert worker.is_alive() and not results
                            probe.rollback()
                            time.sleep(0.05)
                    assert not results  # the commit waits for the batch
                worker.join(30)
                assert results and results[0]["version_index"] == 1
                with state.db.read() as session:
                    assert facts.gc_epoch(session) == epoch
            finally:
                state.close()
