"""Web UI sessions under the one gate: signing out ends the session on the server (a copy
of the cookie is worthless afterwards), as does revoking the key it was opened with; and
a page shows only what the visitor may read."""

from __future__ import annotations

from contextlib import closing

import httpx

from .gate_world import World, leaks, ok


def _signed_in(world: World, key: str) -> httpx.Client:
    client = httpx.Client(base_url=world.server.url, timeout=30)
    client.get("/login")
    csrf = client.cookies["cairn_csrf"]
    answer = client.post("/login", data={"api_key": key, "csrf_token": csrf, "next": "/"})
    assert answer.status_code == 303, answer.text
    return client


def _copy(client: httpx.Client) -> httpx.Client:
    copy = httpx.Client(base_url=str(client.base_url), timeout=30)
    copy.cookies.set("cairn_session", client.cookies["cairn_session"])
    return copy


def test_sign_out_ends_the_session_everywhere(world: World) -> None:
    with closing(_signed_in(world, world.keys["bob"])) as bob, _copy(bob) as stolen:
        assert stolen.get("/").status_code == 200
        out = bob.post("/logout", data={"csrf_token": bob.cookies["cairn_csrf"]})
        assert out.status_code == 303
        answer = stolen.get("/")
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login")


def test_revoking_the_key_ends_its_sessions(world: World) -> None:
    with world.admin() as admin:
        made = ok(admin.post("/api/v1/users/bob/keys", json={"name": "browser"}))
    with closing(_signed_in(world, made["api_key"])) as bob:
        assert bob.get("/").status_code == 200
        with world.admin() as admin:
            ok(admin.delete(f"/api/v1/users/bob/keys/{made['key_id']}"))
        assert bob.get("/").status_code == 303


def test_pages_show_only_what_the_visitor_may_read(world: World) -> None:
    v1 = "/vision/p/artifacts/dataset/shared/v0"
    pages = ["/", "/ui/registries", v1, v1 + "/lineage", "/ui/search?q=zz", "/ui/search?q=coll"]
    for user in ("bob", "carol", "dave"):
        with closing(_signed_in(world, world.keys[user])) as client:
            for page in pages:
                answer = client.get(page)
                assert answer.status_code in (200, 404), (user, page, answer.status_code)
                assert leaks(user, answer.text) == [], (user, page)
    with closing(_signed_in(world, world.keys["alice"])) as alice:
        lineage = alice.get(v1 + "/lineage").text
        assert "zzhidden-run" in lineage and "zzcarol" not in lineage
