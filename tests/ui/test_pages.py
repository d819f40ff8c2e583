"""The web UI's pages over HTTP: content, escaping, headers, CSRF, pagination (issue 10).

``cairn ui``'s app is driven in-process with Starlette's TestClient over an embedded store;
the server's UI (sign-in, the 404 rule) is exercised in ``test_server_ui.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import escape
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cairn.server.ui import create_ui_app
from cairn.server.ui.render import seg
from cairn.service.resources import open_store
from cairn.settings import Settings
from ui.uidata import SCRIPT, XSS, XSS_PROJECT, Logged

V0 = "/tester/proj/artifacts/dataset/data/v0"


@pytest.fixture(scope="module")
def client(embedded_home: tuple[Path, dict[str, str], Logged]) -> Iterator[TestClient]:
    home, _env, _data = embedded_home
    store = open_store(Settings.load({"cairn_dir": home / "cairn", "entity": "tester"}))
    with TestClient(create_ui_app(store), base_url="http://127.0.0.1:8421") as test_client:
        yield test_client
    store.close()


def assert_safe(html: str) -> None:
    """No payload of ``uidata`` appears as markup."""
    assert SCRIPT not in html
    assert XSS not in html
    assert 'href="javascript' not in html
    assert html.count("<script") == 1  # ours: <script src="/static/cairn.js" defer>


PAGES = [
    "/",
    "/tester",
    "/tester/proj",
    "/tester/proj/artifacts/dataset",
    "/tester/proj/artifacts/dataset/data",
    "/tester/proj/artifacts/dataset/data?sort=size&order=asc",
    V0,
    "/tester/proj/artifacts/dataset/data/latest",
    V0 + "/files",
    V0 + "/files?dir=sub/",
    V0 + "/files/a.txt",
    V0 + "/files/sub/b.json",
    V0 + "/files/tbl.table.json",
    V0 + "/files/" + seg(f"{XSS}.txt"),
    V0 + "/files/page.html",
    V0 + "/files/image.png",
    V0 + "/lineage",
    "/tester/proj/runs/" + "{run}",
    "/ui/search?q=key",
    "/ui/registries",
    "/orgs/local/registry/models",
    "/tester/" + seg(XSS_PROJECT),
    "/tester/" + seg(XSS_PROJECT) + "/artifacts/dataset/other/v0",
]


def _run_id(client: TestClient) -> str:
    found = re.search(r'href="/tester/proj/runs/([^"]+)"', client.get(V0).text)
    assert found is not None
    return found.group(1)


def test_every_page_renders_and_escapes_what_was_stored(client: TestClient) -> None:
    run = _run_id(client)
    for path in PAGES:
        response = client.get(path.replace("{run}", run))
        assert response.status_code == 200, (path, response.text)
        assert response.headers["content-type"].startswith("text/html")
        assert_safe(response.text)


def test_version_page_shows_markdown_metadata_aliases_and_facts(client: TestClient) -> None:
    html = client.get(V0).text
    assert "<h1>Training data</h1>" in html
    assert "<strong>bold</strong>" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # shown as text, not run
    assert 'href="javascript' not in html
    assert "key&lt;script&gt;alert(1)&lt;/script&gt;" in html  # a metadata key
    assert "&lt;img src=x onerror=alert(1)&gt;" in html  # a metadata value and an alias
    for fact in ("best", "raw", "dataset", "Digest", "TTL", "evaluate", "train"):
        assert fact in html


def test_collection_lists_sorts_and_pages_versions(client: TestClient) -> None:
    project = client.get("/tester/proj").text
    assert 'href="/tester/proj/artifacts/dataset/data"' in project
    assert 'href="/tester/proj/artifacts/model/model"' in project
    assert (
        'href="/tester/proj/artifacts/model/model"'
        not in client.get("/tester/proj/artifacts/dataset").text
    )
    html = client.get("/tester/proj/artifacts/dataset/data").text
    assert html.index(">v1<") < html.index(">v0<")  # newest first
    html = client.get("/tester/proj/artifacts/dataset/data?sort=version&order=asc").text
    assert html.index(">v0<") < html.index(">v1<")
    assert client.get("/tester/proj/artifacts/dataset/data?sort=nope").status_code == 400


def test_file_tree_is_paged_server_side(client: TestClient) -> None:
    first = client.get(V0 + "/files?dir=many/").text
    assert first.count('class="file"') == 50
    assert "1–50 of 120" in first
    last = client.get(V0 + "/files?dir=many/&offset=100").text
    assert last.count('class="file"') == 20
    assert "f119.txt" in last and "f000.txt" not in last


def test_previews(client: TestClient) -> None:
    table = client.get(V0 + "/files/tbl.table.json").text
    assert 'id="table-preview"' in table and "&lt;script&gt;" in table and "two" in table
    text = client.get(V0 + "/files/a.txt").text
    assert "hello &lt;script&gt;" in text
    image = client.get(V0 + "/files/image.png").text
    assert f'src="{V0}/raw/image.png"' in image
    raw = client.get(V0 + "/raw/image.png")
    assert raw.headers["content-type"] == "image/png" and raw.content.startswith(b"\x89PNG")
    for dangerous in ("page.html", "evil.svg"):
        page = client.get(V0 + "/files/" + dangerous).text
        assert "No preview" in page and 'id="text-preview"' not in page
        assert client.get(V0 + "/raw/" + dangerous).status_code == 404


def test_html_and_svg_are_only_downloads(client: TestClient) -> None:
    for name in ("page.html", "evil.svg", "a.txt"):
        response = client.get(V0 + "/download/" + name)
        assert response.status_code == 200
        assert response.headers["content-disposition"].startswith("attachment;")
        assert response.headers["content-type"] == "application/octet-stream"
        assert response.headers["x-content-type-options"] == "nosniff"
    assert client.get(V0 + "/download/page.html").content == SCRIPT.encode()


def test_security_headers(client: TestClient) -> None:
    client.cookies.clear()
    response = client.get(V0)
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    cookie = response.headers["set-cookie"]
    assert "cairn_csrf=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie


def _csrf(client: TestClient) -> str:
    client.get(V0)
    token = client.cookies.get("cairn_csrf")
    assert token
    return token


def test_forms_need_the_csrf_token(client: TestClient) -> None:
    refused = client.post(V0 + "/aliases", data={"add": "sneaky"}, follow_redirects=False)
    assert refused.status_code == 403
    wrong = client.post(
        V0 + "/aliases", data={"add": "sneaky", "csrf_token": "forged"}, follow_redirects=False
    )
    assert wrong.status_code == 403
    assert "sneaky" not in client.get(V0).text


def test_edit_aliases_and_tags(client: TestClient) -> None:
    token = _csrf(client)
    added = client.post(
        V0 + "/aliases", data={"add": "candidate", "csrf_token": token}, follow_redirects=False
    )
    assert added.status_code == 303 and added.headers["location"] == V0
    assert client.get("/tester/proj/artifacts/dataset/data/candidate").status_code == 200
    client.post(V0 + "/aliases", data={"remove": "candidate", "csrf_token": token})
    assert client.get("/tester/proj/artifacts/dataset/data/candidate").status_code == 404
    client.post(V0 + "/tags", data={"add": "checked", "csrf_token": token})
    assert '<span class="pill tag">checked</span>' in client.get(V0).text
    client.post(V0 + "/tags", data={"remove": "checked", "csrf_token": token})
    assert "checked" not in client.get(V0).text
    bad = client.post(V0 + "/aliases", data={"add": "a/b", "csrf_token": token})
    assert bad.status_code == 400 and "Aliases must not contain" in bad.text


def test_search_finds_names_aliases_tags_and_metadata_keys(client: TestClient) -> None:
    for text, kind in (
        ("dat", "collection"),
        ("best", "alias"),
        ("raw", "tag"),
        ("rows", "metadata"),
    ):
        html = client.get("/ui/search", params={"q": text}).text
        assert f"<td>{kind}</td>" in html, text
    assert "Nothing found" in client.get("/ui/search", params={"q": "zzz-nothing"}).text


def test_lineage_graph_links_runs_and_versions(client: TestClient) -> None:
    html = client.get(V0 + "/lineage").text
    assert "<svg" in html
    assert 'href="/tester/proj/artifacts/model/model/v0"' in html
    assert html.count('class="node run') == 2  # train logged it, evaluate used it
    assert "node artifact current" in html
    # one column per layer, left to right: train -> data:v0 -> evaluate -> model:v0
    boxes = re.findall(r'<rect x="([\d.]+)" y="([\d.]+)"[^>]*/>\s*<text [^>]*>([^<]*)<', html)
    assert [label for _x, _y, label in sorted(boxes, key=lambda b: float(b[0]))] == [
        "train",
        "data:v0",
        "evaluate",
        "model:v0",
    ]
    assert len({y for _x, y, _label in boxes}) == 1  # a column each: all on one row
    assert html.count('class="edge"') == 3


def test_run_page_charts_history_and_shows_summary_and_config(client: TestClient) -> None:
    html = client.get(f"/tester/proj/runs/{_run_id(client)}").text
    assert_safe(html)
    # a chart per metric with numbers (the label's text and the NaN make no points)
    charts = re.findall(r'<g class="chart"[^>]*>\s*<title>([^<]*)</title>', html)
    assert charts == ["acc" + escape(XSS), "loss"]
    lines = re.findall(r'<polyline points="([^"]*)"', html)
    assert [len(points.split()) for points in lines] == [40, 40]
    loss = [tuple(map(float, p.split(","))) for p in lines[1].split()]
    assert loss[0][1] < loss[-1][1]  # 1.0 at the top, 0.025 at the bottom: y grows down
    assert "<script" not in html.split("<main>")[1]
    summary = html.split('id="summary"')[1].split("</table>")[0]
    assert "best" + escape(SCRIPT) in summary and escape(XSS) in summary
    assert "<td>loss</td><td>NaN</td>" in summary  # the last value, NaN included
    assert escape(XSS) in html.split('id="config"')[1].split("</pre>")[0]


def test_missing_things_are_404_pages(client: TestClient) -> None:
    for path in (
        "/nobody",
        "/tester/nope",
        "/tester/proj/artifacts/model/data/v0",  # wrong type
        V0.replace("v0", "v9"),
        V0 + "/files/nope.txt",
        V0 + "/files?dir=nope/",
        "/tester/proj/runs/nope",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "Not found" in response.text


def test_registry_url_of_the_sdk_opens_the_linked_version(
    client: TestClient, embedded_home: tuple[Path, dict[str, str], Logged]
) -> None:
    data = embedded_home[2]
    assert data.data_url == "http://127.0.0.1:8421" + V0
    assert data.registry_url is not None
    response = client.get(data.registry_url, follow_redirects=False)
    assert response.status_code == 303
    target = response.headers["location"]
    assert target == "/local/wandb-registry-models/artifacts/model/best-models/v0"
    html = client.get(target).text
    assert "prod" in html and 'id="source"' in html


def test_ui_answers_only_loopback_host_names(client: TestClient) -> None:
    assert client.get("/", headers={"host": "evil.example"}).status_code == 400
