"""The official wandb client, unmodified, against a live ``cairn server`` (issue 7).

Each pinned release (``wandb-versions.txt``) runs ``scripts/flows.py`` once, as a plain
user (not an admin) who was given the ``member`` role of the ``model`` registry: init, log
a directory / a file / references with aliases, the digest no-op and blob dedup, finish,
``Api().artifact(...).download()`` (references included), ``use_artifact``, a registry
link and an unlink, ``api.artifacts``, edits with ``save()`` and ``delete()``. One store,
two clients: what the client logged is read back with Cairn's SDK, and an artifact Cairn's
SDK logged is read with the client. The newest release also runs the flows against a
server on PostgreSQL and S3 (moto), and uploads a file of more than 2 GiB in parts.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from compat.wandb_tools import NEWEST, VERSIONS, wandb_env
from refservers import HttpObject, HttpServer
from serverproc import ServerProcess

SCRIPTS = Path(__file__).with_name("scripts")
CAIRN_FILES = {"x.txt": b"logged by cairn\n", "deep/y.bin": bytes(range(200)) * 7}


def run_wandb(python: Path, script: str, env: dict[str, str], *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [str(python), str(SCRIPTS / script), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-6000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    result: dict[str, Any] = json.loads(line[len("RESULT ") :])
    return result


def plain_user(server: ServerProcess, name: str) -> str:
    """Create user ``name`` (no admin rights; ``member`` of the ``model`` registry, which
    is created if missing); return a key of theirs."""
    headers = {"Authorization": f"Bearer {server.admin_key}"}
    with httpx.Client(base_url=f"{server.url}/api/v1", headers=headers, timeout=60) as admin:
        made = admin.post("/registries", json={"name": "model"})
        assert made.status_code == 200 or "exists" in made.text, made.text
        for response in (
            admin.post("/admin/users", json={"name": name}),
            admin.put(f"/registries/model/members/{name}", json={"role": "member"}),
        ):
            assert response.status_code == 200, response.text
        response = admin.post(f"/users/{name}/keys", json={"name": "wandb"})
        assert response.status_code == 200, response.text
        return str(response.json()["api_key"])


def use_cairn(server: ServerProcess, monkeypatch: pytest.MonkeyPatch, key: str, entity: str) -> Any:
    """Cairn's SDK in server mode as the holder of ``key``."""
    import cairn

    monkeypatch.setenv("CAIRN_BASE_URL", server.url)
    monkeypatch.setenv("CAIRN_API_KEY", key)
    monkeypatch.setenv("CAIRN_ENTITY", entity)
    return cairn


def cairn_logs(cairn: Any, project: str, name: str, work: Path) -> str:
    """Log ``name`` v0 (alias ``from-cairn``) and v1 with Cairn's SDK; return v0's digest."""
    src = work / "cairn-src"
    for path, data in CAIRN_FILES.items():
        (src / path).parent.mkdir(parents=True, exist_ok=True)
        (src / path).write_bytes(data)
    run = cairn.init(project=project, job_type="cairn-log")
    v0 = cairn.Artifact(name, type="dataset", metadata={"by": "cairn"})
    v0.add_dir(str(src))
    run.log_artifact(v0, aliases=["from-cairn"])
    v0.wait()
    (src / "z.txt").write_text("second version\n")
    v1 = cairn.Artifact(name, type="dataset")
    v1.add_dir(str(src))
    run.log_artifact(v1)
    run.finish()
    return str(v0.digest)


def tree(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.md5(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file()
    }


def check_flows(
    server: ServerProcess,
    python: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    label: str,
) -> None:
    user = f"wb-{label}-{secrets.token_hex(3)}"
    key = plain_user(server, user)
    project = f"flows-{label}"
    cairn = use_cairn(server, monkeypatch, key, user)
    cairn_digest = cairn_logs(cairn, project, "cairnds", tmp_path)
    with HttpServer() as web:
        web.objects["/web.txt"] = HttpObject(b"web content\n", '"etag-1"')
        env = wandb_env(server, tmp_path / "home", key)
        work = str(tmp_path / "work")
        out = run_wandb(python, "flows.py", env, work, web.url + "/web.txt", project, "cairnds")
    assert out["entity"] == user
    assert out["v0"]["version"] == "v0"
    assert out["noop"] == {"version": "v0", "digest": out["v0"]["digest"]}
    assert out["v1"]["version"] == "v1" and out["v1"]["digest"] != out["v0"]["digest"]
    assert out["single"]["version"] == "v0" and out["refs"]["version"] == "v0"
    expected = {
        "a.txt": hashlib.md5(b"alpha\n").hexdigest(),
        "sub/b.bin": hashlib.md5(bytes(range(256)) * 40).hexdigest(),
    }
    assert out["download"]["files"] == expected
    assert out["download"]["aliases"] == ["again", "best"]
    assert out["download"]["metadata"] == {"rows": 3}
    # references come back from where they point: the file:// directory and the web server
    assert out["refs_download"] == {
        "r.txt": hashlib.md5(b"referenced\n").hexdigest(),
        "web.txt": hashlib.md5(b"web content\n").hexdigest(),
    }
    assert out["used"] == {"version": "v0", "files": 2}
    assert out["linked"]["version"] == "v0"
    assert out["unlinked"] is True
    assert out["listing"] == ["v0", "v1"]
    assert out["edited"] == {
        "aliases": ["edited", "latest"],
        "tags": ["t1"],
        "metadata": {"rows": 4},
        "description": "second",
    }
    assert out["deleted"] is True

    # Cairn's SDK logged, the client read: same bytes, digest, versions and aliases.
    cairn_files = {p: hashlib.md5(d).hexdigest() for p, d in CAIRN_FILES.items()}
    assert out["from_cairn"] == {
        "version": "v0",
        "digest": cairn_digest,
        "aliases": ["from-cairn"],
        "metadata": {"by": "cairn"},
        "versions": ["v0", "v1"],
        "files": cairn_files,
    }
    assert out["used_cairn"] == {"version": "v0", "digest": cairn_digest, "files": cairn_files}

    # The client logged, Cairn's SDK reads: the same versions, digests, aliases, bytes.
    api = cairn.Api()
    v0 = api.artifact(f"{user}/{project}/ds:v0")
    assert v0.digest == out["v0"]["digest"]
    assert sorted(v0.aliases) == ["again", "best"]
    v1 = api.artifact(f"{user}/{project}/ds:latest")
    assert (v1.version, v1.digest) == ("v1", out["v1"]["digest"])
    assert tree(Path(v0.download(root=str(tmp_path / "cairn-dl")))) == expected
    linked = api.artifact(f"{registry_entity(server)}/wandb-registry-model/{project}:staging")
    assert linked.digest == out["v0"]["digest"]
    assert [a.version for a in api.run(f"{user}/{project}/{out['run2_id']}").used_artifacts()] == [
        "v0",
        "v0",
    ]


def registry_entity(server: ServerProcess) -> str:
    """The organization's entity, which holds the registries."""
    response = httpx.get(
        f"{server.url}/api/v1/registries",
        headers={"Authorization": f"Bearer {server.admin_key}"},
        timeout=60,
    )
    return str(next(r["entity"] for r in response.json() if r["name"] == "model"))


@pytest.mark.slow
@pytest.mark.parametrize("version", VERSIONS, ids=[f"wandb-{v}" for v in VERSIONS])
def test_wandb_flows(
    version: str,
    wandb_pythons: dict[str, Path],
    wandb_server: ServerProcess,
    tmp_path: Path,
    cairn_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    label = version.replace(".", "-")
    check_flows(wandb_server, wandb_pythons[version], tmp_path, monkeypatch, label)


@pytest.mark.slow
def test_wandb_flows_postgres_s3(
    wandb_pythons: dict[str, Path],
    cairn_server_pg: ServerProcess,
    tmp_path: Path,
    cairn_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The same flows on PostgreSQL and S3: files go straight to presigned URLs of the bucket.
    check_flows(cairn_server_pg, wandb_pythons[NEWEST], tmp_path, monkeypatch, "pg-s3")


@pytest.mark.slow
def test_wandb_multipart_upload(
    wandb_pythons: dict[str, Path], wandb_server: ServerProcess, tmp_path: Path
) -> None:
    # A file of 2 GiB or more goes up in parts (part URLs, ETags, completeMultipartUpload-
    # Artifact joins them and checks the MD5), once, on the newest client; then comes back
    # down (ranged GETs) with the same MD5. Every copy is deleted afterwards: the script's
    # file and download, the client's cache and the server's blob.
    size = 2 * 1024**3 + 12345
    key = plain_user(wandb_server, f"wb-big-{secrets.token_hex(3)}")
    env = wandb_env(wandb_server, tmp_path / "home", key)
    try:
        out = run_wandb(
            wandb_pythons[NEWEST], "bigfile.py", env, str(tmp_path / "w"), "big", str(size)
        )
    finally:
        for area in (tmp_path, wandb_server.log.parent / "store"):
            for path in area.rglob("*"):
                if path.is_file() and path.stat().st_size >= 2 * 1024**3:
                    path.unlink()
    assert out["version"] == "v0"
    assert out["download"] == {"md5": out["md5"], "size": size}
