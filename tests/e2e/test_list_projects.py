"""``Backend.list_projects`` on every backend: the projects a caller may read, each with its
committed versions and links counted, in entity then name order; on a server, a user sees
only what their roles let them read (``GET /api/v1/projects``)."""

from __future__ import annotations

import httpx
import pytest

import cairn
from cairn.protocol import Backend
from serverproc import ServerProcess


def _log(project: str, name: str, text: str) -> cairn.Artifact:
    with cairn.init(project=project, job_type="test") as run:
        art = cairn.Artifact(name, type="dataset")
        with art.new_file("f.txt") as f:
            f.write(text)
        run.log_artifact(art)
    return art


def test_projects_with_their_version_counts(backend: Backend) -> None:
    entity = backend.settings.entity
    _log("alpha", "one", "1")
    _log("alpha", "one", "2")
    _log("alpha", "two", "1")
    beta = _log("beta", "one", "1")
    cairn.Api().artifact(f"{entity}/alpha/one:v0").delete()  # deleted: no longer counted
    beta.link(f"{entity}/beta/linked-here")  # a link counts in the collection it is in

    mine = [(p.name, p.version_count) for p in backend.list_projects(entity, 500)]
    assert mine == [("alpha", 2), ("beta", 2)]
    everyone = backend.list_projects(None, 500)
    assert [(p.entity, p.name) for p in everyone] == sorted((p.entity, p.name) for p in everyone)
    assert {(entity, "alpha"), (entity, "beta")} <= {(p.entity, p.name) for p in everyone}
    assert len(backend.list_projects(entity, 1)) == 1
    with pytest.raises(ValueError, match="limit"):
        backend.list_projects(None, 0)


def test_a_user_lists_only_the_projects_they_may_read(
    cairn_server_sqlite: ServerProcess, cairn_dir: object
) -> None:
    server = cairn_server_sqlite
    headers = {"Authorization": f"Bearer {server.admin_key}"}
    mine, theirs = server.new_team("mine"), server.new_team("theirs")
    for team in (mine, theirs):
        project = httpx.post(
            f"{server.url}/api/v1/entities/{team}/projects/p/runs",
            json={"run_id": "r1", "name": "r1", "job_type": None, "config": {}},
            headers=headers,
            timeout=60,
        )
        assert project.status_code == 200, project.text
    key = server.new_user_key(f"user-{mine}", mine, "viewer")
    listed = httpx.get(
        f"{server.url}/api/v1/projects",
        params={"limit": 500},
        headers={"Authorization": f"Bearer {key}"},
        timeout=60,
    )
    assert listed.status_code == 200, listed.text
    names = {(p["entity"], p["name"], p["version_count"]) for p in listed.json()}
    assert (mine, "p", 0) in names
    assert all(entity != theirs for entity, _, _ in names)
