"""``cairn import wandb`` against a live ``cairn server`` as the W&B source (issue 22).

The project is logged by the official client (``scripts/import_seed.py``, the newest
pinned release): two collections, five versions, aliases, tags, metadata, a description,
a TTL, a reference entry, lineage across two runs and a registry link. The import runs as
users run it (``python -m cairn.cli import wandb``, the exporter with that release's
python) into a fresh embedded store, which is then read with Cairn's SDK and compared with
what the client logged. Also: a second import writes nothing, an import killed midway
resumes, a dry run writes nothing, and nothing of the parent's W&B settings (its
``WANDB_*``, ``~/.netrc``) reaches the exporter.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from cairn.errors import CommError
from compat.test_flows import plain_user, run_wandb
from compat.wandb_tools import NEWEST, VERSIONS, wandb_env
from serverproc import ServerProcess

PROJECT = "imported"
REGISTRY = "wandb-registry-model"


@pytest.fixture(scope="module")
def seeded(
    wandb_pythons: dict[str, Path],
    wandb_server: ServerProcess,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Any]:
    """The project the official client logged, with the user's key and what it logged."""
    work = tmp_path_factory.mktemp("import-seed")
    key = plain_user(wandb_server, "importer")
    env = wandb_env(wandb_server, work / "home", key)
    out = run_wandb(
        wandb_pythons[NEWEST], "import_seed.py", env, str(work / "w"), PROJECT, REGISTRY
    )
    return {**out, "key": key, "python": str(wandb_pythons[NEWEST])}


def _wrapper(tmp: Path, python: str, **hooks: Any) -> str:
    """An executable that runs the exporter with ``python`` after installing ``hooks``:
    ``dump_env`` (a file: the exporter's environment is written there) and
    ``kill_parent_at`` (at that fetch request, the import is killed with SIGKILL)."""
    script = tmp / "exporter_wrapper.py"
    script.write_text(
        f"""
import json, os, runpy, signal, sys
hooks = {hooks!r}
path = sys.argv[1]
sys.argv = sys.argv[1:]
if hooks.get("dump_env"):
    with open(hooks["dump_env"], "a") as out:
        out.write(json.dumps(dict(os.environ)) + "\\n")
module = runpy.run_path(path, run_name="exporter")
space = module["main"].__globals__
fetch_one, calls = space["fetch_one"], [0]
def counting(api, request):
    calls[0] += 1
    if calls[0] == hooks.get("kill_parent_at"):
        os.kill(os.getppid(), signal.SIGKILL)
        os._exit(1)
    fetch_one(api, request)
space["fetch_one"] = counting
sys.exit(space["main"](sys.argv[1:]))
"""
    )
    wrapper = tmp / "exporter-python"
    wrapper.write_text(f'#!/bin/sh\nexec "{python}" "{script}" "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


def _env(dest: Path, key: str | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CAIRN_", "WANDB_"))}
    env.update(CAIRN_DIR=str(dest), CAIRN_SILENT="true", XDG_CONFIG_HOME=str(dest / "xdg"))
    if key is not None:
        env["CAIRN_IMPORT_WANDB_API_KEY"] = key
    env.update(extra)
    return env


def _import(
    server: ServerProcess,
    python: str,
    env: dict[str, str],
    *args: str,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "cairn.cli", "import", "wandb", "--base-url", server.url]
    command += ["--entity", "importer", "--project", PROJECT, "--wandb-python", python, *args]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    if check:
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def _summary(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _api(dest: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    import cairn

    monkeypatch.setenv("CAIRN_DIR", str(dest))
    monkeypatch.setenv("CAIRN_ENTITY", "importer")
    for name in ("CAIRN_BASE_URL", "CAIRN_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    return cairn.Api()


def _dest_with_registry(dest: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    api = _api(dest, monkeypatch)
    api.create_registry("model", "organization")
    return api


def _check_copy(api: Any, seeded: dict[str, Any], work: Path) -> None:
    """Every version as the client logged it: digest, manifest entries (the reference
    entry a reference), aliases, tags, metadata, description, created_at, TTL; lineage
    and the registry link."""
    for ref, want in seeded["versions"].items():
        version = ref.split(":")[1]
        got = api.artifact(f"importer/{PROJECT}/{ref}")
        assert got.version == version
        assert got.digest == want["digest"]
        assert sorted(got.aliases) == want["aliases"], ref
        assert sorted(got.tags) == want["tags"], ref
        assert got.metadata == want["metadata"], ref
        assert got.description == want["description"], ref
        assert got.created_at == want["created_at"], ref
        ttl = (got._state.ttl_is_inherited, got._state.ttl_duration_seconds)
        assert ttl == (want["ttl_inherited"], want["ttl_seconds"]), ref
        entries = {
            e.path: {"digest": e.digest, "ref": e.ref} for e in got.manifest.entries.values()
        }
        assert entries == want["files"], ref
    assert api.artifact(f"importer/{PROJECT}/raw:v1").ttl == timedelta(days=30)
    assert api.artifact(f"importer/{PROJECT}/raw:v0").ttl is None
    tree = api.artifact(f"importer/{PROJECT}/raw:v2").download(root=str(work / "dl"))
    assert (Path(tree) / "sub" / "b.bin").read_bytes() == bytes(range(256)) * 40
    for ref, run in (
        ("raw:v0", "run1"),
        ("raw:v2", "run1"),
        ("net:v0", "run1"),
        ("net:v1", "run2"),
    ):
        logged_by = api.artifact(f"importer/{PROJECT}/{ref}").logged_by()
        assert logged_by is not None and logged_by.id == seeded[run], ref
    used = api.artifact(f"importer/{PROJECT}/raw:v1").used_by()
    assert [run.id for run in used] == [seeded["run2"]]
    run1 = api.run(f"importer/{PROJECT}/{seeded['run1']}")
    assert (run1.config["lr"], run1.summary["loss"]) == (0.1, 0.25)
    assert [row["loss"] for row in run1.scan_history()] == [0.5, 0.25]
    linked = api.artifact(f"{api_org(api)}/{REGISTRY}/{PROJECT}-net:staging")
    assert linked.digest == seeded["versions"]["net:v1"]["digest"]


def api_org(api: Any) -> str:
    """The destination's organization entity (the source's may have another name)."""
    return str(api.registry("model").entity)


@pytest.mark.slow
def test_import_copies_everything_once(
    seeded: dict[str, Any],
    wandb_server: ServerProcess,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dest = tmp_path / "dest"
    api = _dest_with_registry(dest, monkeypatch)
    env = _env(dest, seeded["key"])
    first = _summary(_import(wandb_server, seeded["python"], env, "--json"))
    assert (first["versions"], first["collections"], first["runs"]) == (5, 2, 2)
    assert first["wandb"] == NEWEST and not first["conflicts"] and not first["renumbered"]
    _check_copy(api, seeded, tmp_path)

    again = _summary(_import(wandb_server, seeded["python"], env, "--json"))
    assert (again["versions"], again["updated"], again["runs"]) == (0, 0, 0)
    assert (again["unchanged"], again["blobs_sent"], again["aliases_moved"]) == (5, 0, 0)

    human = _import(wandb_server, seeded["python"], env)
    assert human.stdout.splitlines()[-1] == (
        "imported 0 versions of 0 collections, 0 B sent, 0 aliases moved, 0 conflicts"
    )


@pytest.mark.slow
def test_dry_run_writes_nothing(
    seeded: dict[str, Any],
    wandb_server: ServerProcess,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dest = tmp_path / "dest"
    api = _dest_with_registry(dest, monkeypatch)
    planned = _summary(
        _import(
            wandb_server, seeded["python"], _env(dest, seeded["key"]), "--dry-run", "--json", "raw"
        )
    )
    assert (planned["dry_run"], planned["versions"], planned["collections"]) == (True, 3, 1)
    by_type = _summary(
        _import(wandb_server, seeded["python"], _env(dest, seeded["key"]), "--dry-run", "--json",
                "--type", "model")
    )  # fmt: skip
    assert (by_type["versions"], by_type["collections"]) == (2, 1)
    with pytest.raises(CommError):
        api.artifact(f"importer/{PROJECT}/raw:v0")


@pytest.mark.slow
def test_a_killed_import_resumes(
    seeded: dict[str, Any],
    wandb_server: ServerProcess,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SIGKILL of the import while it fetches its third version's files: the two before
    are kept whole, the third is not half there; the next import copies the other three,
    and everything is as the client logged it."""
    dest = tmp_path / "dest"
    api = _dest_with_registry(dest, monkeypatch)
    env = _env(dest, seeded["key"])
    killer = _wrapper(tmp_path, seeded["python"], kill_parent_at=3)
    killed = _import(wandb_server, killer, env, "--json", check=False)
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert sorted(a.version for a in api.artifacts("dataset", f"importer/{PROJECT}/raw")) == [
        "v0",
        "v1",
    ]
    resumed = _summary(_import(wandb_server, seeded["python"], env, "--json"))
    assert (resumed["versions"], resumed["unchanged"]) == (3, 2)
    _check_copy(api, seeded, tmp_path)


class _Listener:
    """A TCP listener that counts the connections it accepts (it must get none)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.fixture
def decoy() -> Iterator[_Listener]:
    listener = _Listener()
    yield listener
    listener.close()


@pytest.mark.slow
def test_the_parents_wandb_settings_never_reach_the_exporter(
    seeded: dict[str, Any],
    wandb_server: ServerProcess,
    decoy: _Listener,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The parent has a WANDB_BASE_URL (a listener that must get no connection), a
    WANDB_API_KEY, a ~/.netrc and NETRC with another key, WANDB_ENTITY and a Cairn key:
    the exporter sees only the URL and key of the command line, in a home of its own."""
    home = tmp_path / "home"
    home.mkdir()
    netrc = f"machine 127.0.0.1\n  login user\n  password {'n' * 40}\n"
    (home / ".netrc").write_text(netrc)
    dest = tmp_path / "dest"
    _dest_with_registry(dest, monkeypatch)
    env = _env(
        dest,
        None,
        HOME=str(home),
        NETRC=str(home / ".netrc"),
        WANDB_BASE_URL=f"http://127.0.0.1:{decoy.port}",
        WANDB_API_KEY="p" * 40,
        WANDB_ENTITY="somebody-else",
        WANDB_CONFIG_DIR=str(home / "wandb-config"),
        CAIRN_API_KEY="cairn-key-not-for-wandb",
    )
    dump = tmp_path / "env.jsonl"
    wrapper = _wrapper(tmp_path, seeded["python"], dump_env=str(dump))
    done = _import(wandb_server, wrapper, env, "--json", "--api-key", seeded["key"], "net")
    assert _summary(done)["versions"] == 2
    assert decoy.connections == 0
    seen = [json.loads(line) for line in dump.read_text().splitlines()]
    assert len(seen) == 2  # the list run and the fetch run
    for exporter_env in seen:
        wandb_vars = {k: v for k, v in exporter_env.items() if k.startswith("WANDB_")}
        assert wandb_vars["WANDB_BASE_URL"] == wandb_server.url
        assert wandb_vars["WANDB_API_KEY"] == seeded["key"]
        assert "WANDB_ENTITY" not in wandb_vars
        assert not any(k.startswith("CAIRN_") for k in exporter_env)
        assert wandb_vars["WANDB_ERROR_REPORTING"] == "false"
        assert wandb_vars["WANDB_X_DISABLE_STATS"] == "true"
        assert exporter_env["HOME"] != str(home)
        assert not Path(exporter_env["NETRC"]).exists()
        assert not wandb_vars["WANDB_CONFIG_DIR"].startswith(str(home))


@pytest.mark.slow
def test_a_missing_wandb_is_one_line(
    seeded: dict[str, Any], wandb_server: ServerProcess, tmp_path: Path
) -> None:
    """This python has no wandb: the import says which extra to install, in one line."""
    env = _env(tmp_path / "dest", seeded["key"])
    for extra in ((), ("--wandb-python", sys.executable)):
        command = [sys.executable, "-m", "cairn.cli", "import", "wandb", "--base-url"]
        command += [wandb_server.url, "--entity", "importer", "--project", PROJECT, *extra]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode != 0
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "pip install 'cairn[import-wandb]'" in lines[0], done.stderr


@pytest.mark.slow
def test_a_refused_key_is_one_line(
    seeded: dict[str, Any], wandb_server: ServerProcess, tmp_path: Path
) -> None:
    env = _env(tmp_path / "dest", "k" * 40)
    done = _import(wandb_server, seeded["python"], env, check=False)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr


@pytest.mark.slow
def test_import_into_a_cairn_server(
    seeded: dict[str, Any],
    wandb_server: ServerProcess,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``--to URL --to-api-key KEY --to-entity TEAM``: the same copy, into another server
    (its registry ``model``); a second import writes nothing."""
    import httpx

    from serverproc import running_server

    with running_server(tmp_path / "dest-server", f"sqlite:///{tmp_path}/dest.db") as dest:
        response = httpx.post(
            f"{dest.url}/api/v1/registries",
            json={"name": "model"},
            headers={"Authorization": f"Bearer {dest.admin_key}"},
            timeout=60,
        )
        assert response.status_code == 200, response.text
        team = dest.new_team("imported")
        env = _env(tmp_path / "unused", seeded["key"])
        to = ["--to", dest.url, "--to-api-key", dest.admin_key, "--to-entity", team, "--json"]
        first = _summary(_import(wandb_server, seeded["python"], env, *to))
        assert (first["versions"], first["collections"], first["runs"]) == (5, 2, 2)
        again = _summary(_import(wandb_server, seeded["python"], env, *to))
        assert (again["versions"], again["updated"], again["unchanged"]) == (0, 0, 5)

        import cairn

        monkeypatch.setenv("CAIRN_BASE_URL", dest.url)
        monkeypatch.setenv("CAIRN_API_KEY", dest.admin_key)
        monkeypatch.setenv("CAIRN_ENTITY", team)
        api = cairn.Api()
        for ref, want in seeded["versions"].items():
            got = api.artifact(f"{team}/{PROJECT}/{ref}")
            assert (got.digest, sorted(got.aliases)) == (want["digest"], want["aliases"]), ref
            assert got.created_at == want["created_at"], ref
        logged_by = api.artifact(f"{team}/{PROJECT}/net:v1").logged_by()
        assert logged_by is not None and logged_by.id == seeded["run2"]
        linked = api.artifact(f"{api_org(api)}/{REGISTRY}/{PROJECT}-net:staging")
        assert linked.digest == seeded["versions"]["net:v1"]["digest"]


@pytest.mark.slow
def test_a_missing_project_is_one_line(
    seeded: dict[str, Any], wandb_server: ServerProcess, tmp_path: Path
) -> None:
    env = _env(tmp_path / "dest", seeded["key"])
    command = [sys.executable, "-m", "cairn.cli", "import", "wandb", "--base-url", wandb_server.url]
    command += ["--entity", "importer", "--project", "no-such-project"]
    command += ["--wandb-python", seeded["python"], "--json"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    assert json.loads(done.stdout)["error"]["type"] == "NotFoundError", done.stdout
    assert done.stderr.strip() == (
        "Error: no project importer/no-such-project on the W&B server (or the key may not see it)"
    )


@pytest.mark.slow
@pytest.mark.parametrize("version", VERSIONS[1:], ids=[f"wandb-{v}" for v in VERSIONS[1:]])
def test_older_wandb_releases_export_the_same(
    version: str,
    seeded: dict[str, Any],
    wandb_pythons: dict[str, Path],
    wandb_server: ServerProcess,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The exporter run by each older pinned release (the extra's range) copies the same."""
    dest = tmp_path / "dest"
    api = _dest_with_registry(dest, monkeypatch)
    done = _import(wandb_server, str(wandb_pythons[version]), _env(dest, seeded["key"]), "--json")
    assert (_summary(done)["versions"], _summary(done)["wandb"]) == (5, version)
    _check_copy(api, seeded, tmp_path)
