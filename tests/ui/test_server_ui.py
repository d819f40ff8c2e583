"""The web UI of a real ``cairn server``: sign-in, session cookie, sign-out, the 404 rule,
write permissions, and that the UI does not shadow the APIs (issue 10 §3)."""

from __future__ import annotations

import re

import httpx

from ui.conftest import Site
from ui.uidata import SCRIPT, XSS


def _csrf(client: httpx.Client) -> str:
    client.get("/login")
    token = client.cookies.get("cairn_csrf")
    assert token
    return token


def signed_in(site: Site, who: str) -> httpx.Client:
    return sign_in(site.url, site.keys[who])


def sign_in(url: str, api_key: str) -> httpx.Client:
    """A client of the server at ``url`` signed in to its UI with ``api_key``."""
    client = httpx.Client(base_url=url, timeout=30, follow_redirects=True)
    response = client.post(
        "/login", data={"api_key": api_key, "csrf_token": _csrf(client), "next": "/"}
    )
    assert response.status_code == 200 and response.url.path == "/", response.text
    return client


def _path(site: Site, url: str) -> str:
    assert url.startswith(site.url + "/")
    return url[len(site.url) :]


def test_pages_need_a_session(ui_server: Site) -> None:
    with httpx.Client(base_url=ui_server.url, timeout=30) as anonymous:
        version = _path(ui_server, ui_server.data.data_url)
        response = anonymous.get(version)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=")
        login = anonymous.get("/login")
        assert login.status_code == 200 and 'type="password"' in login.text
        assert anonymous.get("/health").json() == {"status": "ok"}
        assert anonymous.get("/api/v1/registries").status_code == 401  # the API, not a page


def test_sign_in_sets_a_safe_session_cookie_and_sign_out_ends_it(ui_server: Site) -> None:
    client = httpx.Client(base_url=ui_server.url, timeout=30)
    token = _csrf(client)
    bad = client.post("/login", data={"api_key": "cairn_nope", "csrf_token": token})
    assert bad.status_code == 401 and "Invalid or revoked API key" in bad.text
    forged = client.post("/login", data={"api_key": ui_server.keys["member"], "csrf_token": "x"})
    assert forged.status_code == 403
    response = client.post(
        "/login",
        data={"api_key": ui_server.keys["member"], "csrf_token": token, "next": "//evil.example"},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("cairn_session=") and "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert ui_server.keys["member"] not in cookie  # only the key's public id, signed
    assert ui_server.data.entity in client.get("/").text
    assert client.post("/logout").status_code == 403  # no CSRF token: refused
    out = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert 'cairn_session=""' in out.headers["set-cookie"]
    client.cookies.delete("cairn_session")
    assert client.get("/", follow_redirects=False).status_code == 303


def test_the_sdk_urls_open_the_pages(ui_server: Site) -> None:
    client = signed_in(ui_server, "admin")
    data = ui_server.data
    html = client.get(_path(ui_server, data.data_url)).text
    assert "<h1>Training data</h1>" in html and SCRIPT not in html and XSS not in html
    assert client.get(_path(ui_server, data.model_url)).status_code == 200
    assert data.registry_url is not None
    linked = client.get(_path(ui_server, data.registry_url))
    assert linked.status_code == 200 and "best-models" in linked.text and "prod" in linked.text


def test_outsiders_get_404_for_everything_of_the_team(ui_server: Site) -> None:
    client = signed_in(ui_server, "outsider")
    team = ui_server.data.entity
    version = _path(ui_server, ui_server.data.data_url)
    for path in (
        f"/{team}",
        f"/{team}/proj",
        f"/{team}/proj/artifacts/dataset/data",
        version,
        version + "/files",
        version + "/files/a.txt",
        version + "/download/a.txt",
        version + "/lineage",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "Training data" not in response.text
    assert team not in client.get("/").text
    assert (
        "data"
        not in re.sub(r"<[^>]+>", "", client.get("/ui/search?q=data").text).split("Matched")[1]
    )
    token = client.cookies.get("cairn_csrf")
    edit = client.post(version + "/aliases", data={"add": "mine", "csrf_token": token})
    assert edit.status_code == 404


def test_viewers_read_but_cannot_edit(ui_server: Site) -> None:
    client = signed_in(ui_server, "viewer")
    version = _path(ui_server, ui_server.data.data_url)
    html = client.get(version).text
    assert "Training data" in html and 'id="add-alias"' not in html
    token = client.cookies.get("cairn_csrf")
    edit = client.post(version + "/aliases", data={"add": "mine", "csrf_token": token})
    assert edit.status_code == 403
    assert "mine" not in client.get(version).text


def test_members_edit_aliases(ui_server: Site) -> None:
    client = signed_in(ui_server, "member")
    version = _path(ui_server, ui_server.data.data_url)
    token = client.cookies.get("cairn_csrf")
    response = client.post(version + "/aliases", data={"add": "reviewed", "csrf_token": token})
    assert (
        response.status_code == 200 and '<span class="pill alias">reviewed</span>' in response.text
    )
    client.post(version + "/aliases", data={"remove": "reviewed", "csrf_token": token})
    assert "reviewed" not in client.get(version).text
