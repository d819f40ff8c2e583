"""A server shared by several teams, as an attacker finds it: who is who, what each may
read, and the names each must never see (the security tests of the one gate).

Organization ``acme`` (the server's). Users and roles:

- ``alice``: member of team ``vision`` and of team ``zzhidden``; member of both registries.
- ``bob``: viewer of ``vision``.
- ``carol``: admin of team ``other``.
- ``dave``: no team; member of the restricted registry ``zzlocked`` only.

What is logged:

- ``vision/p/shared:v0`` (V1), logged by alice's run ``vision/p/r1``, linked into the
  organization-visible registry ``open`` (collection ``open-coll``) and into the restricted
  registry ``zzlocked`` (collection ``zzlocked-coll``, alias ``production``).
- ``vision/zzprivate-proj/zzprivate-coll:v0``, logged by run ``zzprivate-run``: never
  linked, readable by vision's members only.
- ``zzhidden/zzhidden-proj/zzhidden-coll:v0``, by run ``zzhidden-run``: alice's other team.
- carol's run ``other/q/zzcarol-run`` used V1 (through ``open``) and logged
  ``other/q/zzcarol-coll:v0``.

Every name a caller must not see carries a marker (``zzprivate``, ``zzhidden``,
``zzcarol``, ``zzlocked``), so a test can search a whole answer for it: ``forbidden(user)``.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
from typing import Any

import httpx

from cairn.core.manifest import Manifest, ManifestEntry

from .conftest import Server

ORG = "acme"
USERS = ("alice", "bob", "carol", "dave")
MARKERS = ("zzprivate", "zzhidden", "zzcarol", "zzlocked")
# The markers each user may meet: what its teams and registries hold.
VISIBLE: dict[str, set[str]] = {
    "alice": {"zzprivate", "zzhidden", "zzlocked"},
    "bob": {"zzprivate"},
    "carol": {"zzcarol"},
    "dave": {"zzlocked"},
}


def ok(response: httpx.Response) -> Any:
    assert response.status_code < 300, (response.status_code, response.text)
    return response.json() if response.content else None


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def forbidden(user: str) -> list[str]:
    """The markers ``user`` must never see in any answer."""
    return [m for m in MARKERS if m not in VISIBLE[user]]


def leaks(user: str, text: str) -> list[str]:
    """The forbidden markers found in ``text``."""
    return [m for m in forbidden(user) if m in text]


def manifest_of(files: dict[str, bytes]) -> Manifest:
    manifest = Manifest()
    for path, data in files.items():
        manifest.add_entry(ManifestEntry(path=path, digest=md5_b64(data), size=len(data)))
    return manifest


def upload(client: httpx.Client, entity: str, files: dict[str, bytes]) -> None:
    """Upload the blobs ``entity`` lacks through signed URLs."""
    blobs = [{"digest": md5_b64(d), "algorithm": "md5", "size": len(d)} for d in files.values()]
    base = f"/api/v1/entities/{entity}/blobs"
    missing = ok(client.post(f"{base}/missing", json={"blobs": blobs}))["blobs"]
    if not missing:
        return
    urls = ok(client.post(f"{base}/upload-urls", json={"blobs": missing}))["urls"]
    by_digest = {md5_b64(d): d for d in files.values()}
    for signed in urls:
        data = by_digest[signed["digest"]]
        ok(httpx.put(signed["url"], content=data, headers=signed["headers"], timeout=60))


def commit_body(
    project: str,
    collection: str,
    files: dict[str, bytes],
    run_id: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    manifest = manifest_of(files)
    return {
        "project": project,
        "collection": collection,
        "type": extra.pop("type", "dataset"),
        "digest": manifest.digest(),
        "digest_algorithm": "MD5",
        "manifest_json": manifest.to_json_bytes().decode(),
        "size": sum(len(d) for d in files.values()),
        "file_count": len(files),
        "run_id": run_id,
        **extra,
    }


def log(
    client: httpx.Client,
    entity: str,
    project: str,
    collection: str,
    files: dict[str, bytes],
    run_id: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Log ``files`` as the next version of ``entity/project/collection`` (creating the run
    ``run_id`` first when given); the version's wire model."""
    base = f"/api/v1/entities/{entity}/projects/{project}"
    if run_id is not None:
        ok(client.post(f"{base}/runs", json={"run_id": run_id, "job_type": "t"}))
    upload(client, entity, files)
    body = commit_body(project, collection, files, run_id, **extra)
    version: dict[str, Any] = ok(client.post(f"{base}/versions", json=body))["version"]
    return version


def gql(
    server: Server, key: str, query: str, variables: dict[str, Any] | None = None
) -> httpx.Response:
    """POST a GraphQL document as the official client does (HTTP Basic ``api:<key>``)."""
    return httpx.post(
        f"{server.url}/graphql",
        json={"query": query, "variables": variables or {}},
        auth=("api", key),
        timeout=60,
    )


@dataclasses.dataclass(frozen=True)
class World:
    """The shared server and what was logged on it (see the module docstring)."""

    server: Server
    keys: dict[str, str]
    key_ids: dict[str, str]
    v1: dict[str, Any]  # vision/p/shared:v0, linked into both registries
    private: dict[str, Any]  # vision/zzprivate-proj/zzprivate-coll:v0
    hidden: dict[str, Any]  # zzhidden/zzhidden-proj/zzhidden-coll:v0
    carol_version: dict[str, Any]  # other/q/zzcarol-coll:v0

    def client(self, user: str) -> httpx.Client:
        return self.server.client(self.keys[user])

    def admin(self) -> httpx.Client:
        return self.server.client(self.server.admin_key)

    def gql(self, user: str, query: str, variables: dict[str, Any] | None = None) -> Any:
        return gql(self.server, self.keys[user], query, variables)


def build(server: Server) -> World:
    """Set the world up on a fresh server (as its admin ``root``, then as each user)."""
    keys: dict[str, str] = {}
    key_ids: dict[str, str] = {}
    with server.client(server.admin_key) as admin:
        for user in USERS:
            ok(admin.post("/api/v1/admin/users", json={"name": user}))
            made = ok(admin.post(f"/api/v1/users/{user}/keys", json={"name": "t"}))
            keys[user], key_ids[user] = made["api_key"], made["key_id"]
        for team, admin_user in (("vision", None), ("zzhidden", None), ("other", "carol")):
            ok(admin.post("/api/v1/admin/teams", json={"name": team, "admin": admin_user}))
        ok(admin.put("/api/v1/entities/vision/members/alice", json={"role": "member"}))
        ok(admin.put("/api/v1/entities/vision/members/bob", json={"role": "viewer"}))
        ok(admin.put("/api/v1/entities/zzhidden/members/alice", json={"role": "member"}))
        ok(admin.post("/api/v1/registries", json={"name": "open", "visibility": "organization"}))
        ok(admin.post("/api/v1/registries", json={"name": "zzlocked", "visibility": "restricted"}))
        for registry in ("open", "zzlocked"):
            ok(admin.put(f"/api/v1/registries/{registry}/members/alice", json={"role": "member"}))
        ok(admin.put("/api/v1/registries/zzlocked/members/dave", json={"role": "member"}))
    with server.client(keys["alice"]) as alice:
        v1 = log(alice, "vision", "p", "shared", {"shared.txt": b"shared bytes"}, "r1")
        for registry in ("open", "zzlocked"):
            link = {
                "entity": ORG,
                "project": f"wandb-registry-{registry}",
                "collection": f"{registry}-coll",
                "aliases": ["production"],
            }
            ok(alice.post(f"/api/v1/versions/{v1['id']}/links", json=link))
        private = log(
            alice,
            "vision",
            "zzprivate-proj",
            "zzprivate-coll",
            {"zzprivate-file.txt": b"zzprivate bytes"},
            "zzprivate-run",
            aliases=["zzprivate-alias"],
            metadata={"zzprivate-key": "zzprivate-value"},
        )
        hidden = log(
            alice,
            "zzhidden",
            "zzhidden-proj",
            "zzhidden-coll",
            {"zzhidden-file.txt": b"zzhidden bytes"},
            "zzhidden-run",
        )
        ok(
            alice.post(
                "/api/v1/entities/zzhidden/projects/zzhidden-proj/runs/zzhidden-run/uses",
                json={"version_id": v1["id"]},
            )
        )
    with server.client(keys["carol"]) as carol:
        base = "/api/v1/entities/other/projects/q"
        ok(carol.post(f"{base}/runs", json={"run_id": "zzcarol-run", "job_type": "t"}))
        ok(carol.post(f"{base}/runs/zzcarol-run/uses", json={"version_id": v1["id"]}))
        carol_version = log(
            carol, "other", "q", "zzcarol-coll", {"zzcarol-file.txt": b"zzcarol"}, "zzcarol-run"
        )
    return World(server, keys, key_ids, v1, private, hidden, carol_version)


def as_text(answer: httpx.Response | Any) -> str:
    """An answer (a response, or decoded JSON) as one searchable string."""
    if isinstance(answer, httpx.Response):
        return answer.text
    return json.dumps(answer)
