"""``cairn sync`` from an offline embedded store to a server (SQLite + directory store, and
PostgreSQL + S3 on moto), and ``cairn mirror`` back into a fresh embedded store: everything
a version carries arrives, a repeat sends no request that writes (docs/sync.md)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

import cairn.connect  # noqa: F401  (registers the backends)
from cairn.remote.backend import RemoteBackend
from cairn.service.backend import EmbeddedBackend
from cairn.settings import Settings
from clirun import ok, ok_json
from replication_seed import PROJECT, seed

if TYPE_CHECKING:
    from cairn.protocol import Backend
    from serverproc import ServerProcess

SERVERS = ["cairn_server_sqlite", "cairn_server_pg"]


@pytest.fixture(params=SERVERS)
def server(request: pytest.FixtureRequest) -> ServerProcess:
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


def writes(server: ServerProcess) -> int:
    """The server's answered requests other than GET (its ``/metrics``)."""
    text = httpx.get(f"{server.url}/metrics", timeout=30).text
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "cairn_http_requests_total" and sample.labels["method"] != "GET":
                total += sample.value
    return int(total)


def remote(server: ServerProcess, team: str) -> RemoteBackend:
    settings = Settings.load({"base_url": server.url, "api_key": server.admin_key, "entity": team})
    return RemoteBackend(settings)


def local(path: Path) -> EmbeddedBackend:
    return EmbeddedBackend(Settings.load({"cairn_dir": path, "base_url": None}))


def sync(server: ServerProcess, *args: str) -> dict[str, object]:
    env = {"CAIRN_BASE_URL": server.url, "CAIRN_API_KEY": server.admin_key}
    result: dict[str, object] = ok_json("sync", *args, env=env)
    return result


def same_versions(here: Backend, there: Backend, entity: str, project: str, name: str) -> None:
    """Every version of ``name`` alike in both stores (numbers, content, values, times)."""
    mine, theirs = (
        here.get_collection("tester", PROJECT, name),
        there.get_collection(entity, project, name),
    )
    assert (theirs.description, theirs.tags) == (mine.description, mine.tags)
    count = mine.version_count
    assert theirs.version_count == count
    for index in range(count):
        a = here.resolve_version("tester", PROJECT, name, f"v{index}")
        b = there.resolve_version(entity, project, name, f"v{index}")
        assert (b.digest, b.created_at, b.type, b.description) == (
            a.digest, a.created_at, a.type, a.description,
        )  # fmt: skip
        assert (sorted(b.aliases), sorted(b.tags), b.metadata) == (
            sorted(a.aliases), sorted(a.tags), a.metadata,
        )  # fmt: skip
        assert (b.ttl_duration_seconds, b.ttl_is_inherited) == (
            a.ttl_duration_seconds, a.ttl_is_inherited,
        )  # fmt: skip
        assert there.read_manifest(b.id) == here.read_manifest(a.id)
        assert (b.size, b.file_count) == (a.size, a.file_count)


def read_with_the_sdk(
    server: ServerProcess, team: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the seed logged offline, read from the server with Cairn's SDK (``Api``)."""
    import cairn
    from cairn.sdk import backend_cache

    with monkeypatch.context() as env:
        backend_cache.close_all()
        env.setenv("CAIRN_BASE_URL", server.url)
        env.setenv("CAIRN_API_KEY", server.admin_key)
        env.setenv("CAIRN_ENTITY", team)
        api = cairn.Api()
        best = api.artifact(f"{team}/{PROJECT}/data:best")
        assert (best.version, best.tags, best.metadata) == ("v1", ["golden"], {"n": "b"})
        assert best.logged_by().id == "r1"  # type: ignore[union-attr]
        assert [run.id for run in best.used_by()] == ["r2"]
        folder = Path(best.download(root=str(tmp_path / "sdk-best")))
        assert (folder / "data.txt").read_text() == "b" * 100
        third = api.artifact(f"{team}/{PROJECT}/data:v2")
        assert third.ttl is not None and third.ttl.days == 30
        prod = api.artifact("wandb-registry-model/champions:prod")
        assert prod.is_link and prod.source_name == "model:v0"
        assert prod.digest == api.artifact(f"{team}/{PROJECT}/model:v0").digest
        backend_cache.close_all()


def test_sync_then_mirror_keep_everything(
    cairn_dir: Path, tmp_path: Path, server: ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(tmp_path)
    team = server.new_team("sync")
    summary = sync(server, PROJECT, "--entity-map", f"tester={team}")
    assert (summary["versions"], summary["collections"], summary["runs"]) == (4, 2, 2)
    assert summary["conflicts"] == [] and summary["renumbered"] == []
    assert summary["bytes_sent"] > 0
    here, there = local(cairn_dir), remote(server, team)
    for name in ("data", "model"):
        same_versions(here, there, team, PROJECT, name)
    model = there.resolve_version(team, PROJECT, "model", "v0")
    lineage = there.lineage(model.id)
    assert lineage.logged_by is not None and lineage.logged_by.id == "r2"
    best = there.resolve_version(team, PROJECT, "data", "best")
    assert [run.id for run in there.lineage(best.id).used_by] == ["r2"]
    assert [v.collection for v in there.run_versions(team, PROJECT, "r1", used=False)] == [
        "data", "data", "data",
    ]  # fmt: skip
    links = there.list_links(model.id, 10)
    assert [(v.project, v.collection, sorted(v.aliases)) for v in links] == [
        ("wandb-registry-model", "champions", ["latest", "prod"])
    ]
    r1 = there.get_run(team, PROJECT, "r1")
    assert (r1.config, r1.state, r1.job_type, r1.last_step) == ({"lr": 0.1}, "finished", "prep", 2)
    assert r1.summary == here.get_run("tester", PROJECT, "r1").summary
    assert [row["loss"] for row in there.read_history(team, PROJECT, "r1")] == [1.0, 0.5, 1 / 3]

    read_with_the_sdk(server, team, tmp_path, monkeypatch)

    before = writes(server)
    again = sync(server, PROJECT, "--entity-map", f"tester={team}")
    assert (again["versions"], again["updated"], again["unchanged"], again["runs"]) == (0, 0, 4, 0)
    assert again["bytes_sent"] == 0
    assert writes(server) == before  # a repeated sync writes nothing

    # mirror the server's project into a fresh embedded store
    fresh = tmp_path / "fresh"
    env = {"CAIRN_BASE_URL": server.url, "CAIRN_API_KEY": server.admin_key, "CAIRN_DIR": str(fresh)}
    mirrored = ok_json("mirror", f"{team}/{PROJECT}", "--entity-map", f"{team}=tester", env=env)
    assert (mirrored["versions"], mirrored["collections"]) == (4, 2)
    copy = local(fresh)
    for name in ("data", "model"):
        same_versions(here, copy, "tester", PROJECT, name)
    model_copy = copy.resolve_version("tester", PROJECT, "model", "v0")
    assert copy.lineage(model_copy.id).logged_by.id == "r2"  # type: ignore[union-attr]
    assert [(v.collection, sorted(v.aliases)) for v in copy.list_links(model_copy.id, 10)] == [
        ("champions", ["latest", "prod"])
    ]
    assert (
        ok_json("mirror", f"{team}/{PROJECT}", "--entity-map", f"{team}=tester", env=env)[
            "unchanged"
        ]
        == 4
    )


MANY = 40


def _log_many(tmp_path: Path) -> None:
    """``MANY`` versions of ``many``, 1 MB of fresh bytes each."""
    import os

    import cairn

    with cairn.init(project=PROJECT, id="bulk") as run:
        for index in range(MANY):
            path = tmp_path / f"blob-{index}.bin"
            path.write_bytes(os.urandom(1 << 20))
            art = cairn.Artifact("many", "dataset", metadata={"index": index})
            art.add_file(str(path))
            run.log_artifact(art)


def test_a_killed_sync_resumes_without_duplicates(
    cairn_dir: Path, tmp_path: Path, cairn_server_sqlite: ServerProcess
) -> None:
    import os
    import signal
    import subprocess
    import time

    from clirun import entry_point

    server = cairn_server_sqlite
    _log_many(tmp_path)
    team = server.new_team("kill")
    here, there = local(cairn_dir), remote(server, team)
    origin = here.store_id()
    env = {**os.environ, "CAIRN_BASE_URL": server.url, "CAIRN_API_KEY": server.admin_key}
    args = [entry_point(), "sync", PROJECT, "--entity-map", f"tester={team}", "--json"]
    process = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    copied = 0
    deadline = time.monotonic() + 120
    while copied < 3 and process.poll() is None and time.monotonic() < deadline:
        try:
            copied = len(there.replicas(origin, team, PROJECT))
        except Exception:
            copied = 0
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL  # killed midway, not finished
    at_kill = len(there.replicas(origin, team, PROJECT))
    assert 0 < at_kill < MANY

    summary = sync(server, PROJECT, "--entity-map", f"tester={team}")
    assert summary["versions"] + summary["updated"] + summary["unchanged"] == MANY
    assert summary["versions"] >= MANY - at_kill - 1
    assert there.get_collection(team, PROJECT, "many").version_count == MANY
    records = there.replicas(origin, team, PROJECT)
    assert len(records) == MANY == len({r.version.id for r in records})
    for index in range(MANY):
        a = here.resolve_version("tester", PROJECT, "many", f"v{index}")
        b = there.resolve_version(team, PROJECT, "many", f"v{index}")
        assert (b.digest, b.metadata, b.created_at) == (a.digest, a.metadata, a.created_at)
    again = sync(server, PROJECT, "--entity-map", f"tester={team}")
    assert (again["versions"], again["unchanged"]) == (0, MANY)
    env = {"CAIRN_BASE_URL": server.url, "CAIRN_API_KEY": server.admin_key}
    line = ok("sync", PROJECT, "--entity-map", f"tester={team}", env=env).strip()
    assert line == "synced 0 versions of 0 collections, 0 B sent, 0 aliases moved, 0 conflicts"


def test_a_missing_registry_is_one_line_and_nothing_is_written(
    cairn_dir: Path, tmp_path: Path, cairn_server_sqlite: ServerProcess
) -> None:
    import cairn
    from clirun import cairn as run_cairn
    from clirun import one_line_error

    cairn.Api().create_registry("nowhere", visibility="organization")
    seed(tmp_path, registry="nowhere")
    server = cairn_server_sqlite
    team = server.new_team("noreg")
    before = writes(server)
    env = {"CAIRN_BASE_URL": server.url, "CAIRN_API_KEY": server.admin_key}
    result = run_cairn("sync", PROJECT, "--entity-map", f"tester={team}", env=env)
    one_line_error(result, "Registry 'nowhere' does not exist at the destination")
    assert writes(server) == before


def test_a_viewer_cannot_sync_into_a_team(
    cairn_dir: Path, tmp_path: Path, cairn_server_sqlite: ServerProcess
) -> None:
    from clirun import cairn as run_cairn
    from clirun import one_line_error

    seed(tmp_path)
    server = cairn_server_sqlite
    team = server.new_team("view")
    key = server.new_user_key(f"viewer-{team}", team, role="viewer")
    before = writes(server)
    env = {"CAIRN_BASE_URL": server.url, "CAIRN_API_KEY": key}
    result = run_cairn("sync", PROJECT, "--entity-map", f"tester={team}", env=env)
    one_line_error(result, "may not")
    assert writes(server) - before == 1  # the refused write itself
    assert remote(server, team).list_projects(team, 10) == []
