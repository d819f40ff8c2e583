"""End to end in a real browser: Debian's Chromium driven by Playwright, against
``cairn ui`` and ``cairn server`` running as subprocesses (issue 10 §5).

Each test clicks through projects, versions, files and lineage, edits an alias, and
checks that no stored payload ever runs (no dialog opens, no foreign element appears).
Screenshots of the main pages land in ``$CAIRN_UI_SCREENSHOTS`` (default: a temp dir).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ui.conftest import Site

pytestmark = pytest.mark.slow


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    opened = context.new_page()
    dialogs: list[str] = []
    opened.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    opened.dialogs = dialogs
    yield opened
    context.close()


def assert_nothing_ran(page: Any) -> None:
    """No alert opened and no stored markup became an element."""
    assert page.dialogs == []
    assert page.locator("script").count() == 1  # /static/cairn.js
    assert page.locator("img[src='x']").count() == 0


def shot(page: Any, shots: Path, name: str) -> None:
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)


def browse(page: Any, site: Site, shots: Path, prefix: str) -> None:
    """Click from the home page through a version, its files, its lineage and a run."""
    data = site.data
    page.goto(site.url + "/")
    shot(page, shots, f"{prefix}-home")
    page.get_by_role("link", name="proj", exact=True).first.click()
    page.get_by_role("link", name="data", exact=True).click()
    assert page.locator("#versions tbody tr").count() == 2
    shot(page, shots, f"{prefix}-collection")
    page.get_by_role("link", name="v0", exact=True).click()
    assert page.url == data.data_url
    assert page.locator("#description h1").inner_text() == "Training data"
    assert "<script>alert(1)</script>" in page.locator("#description").inner_text()
    assert "key<script>alert(1)</script>" in page.locator("#metadata").inner_text()
    assert_nothing_ran(page)
    shot(page, shots, f"{prefix}-version")

    page.get_by_role("link", name="Files (").click()
    assert page.locator("#files").get_by_text("<img src=x onerror=alert(1)>.txt").count() == 1
    shot(page, shots, f"{prefix}-files")
    page.get_by_role("link", name="sub/").click()
    page.get_by_role("link", name="b.json").click()
    assert '"y": "<script>alert(1)</script>"' in page.locator("#text-preview").inner_text()
    page.get_by_role("link", name="root").click()
    page.get_by_role("link", name="many/").click()
    page.get_by_role("link", name="Next ›").click()
    assert page.locator("#files").get_by_text("f050.txt").count() == 1
    page.get_by_role("link", name="root").click()
    page.get_by_role("link", name="tbl.table.json").click()
    assert page.locator("#table-preview tbody tr").count() == 2
    assert page.locator("#table-preview").get_by_text("<script>alert(1)</script>").count() == 1
    shot(page, shots, f"{prefix}-table")
    page.get_by_role("link", name="root").click()
    page.get_by_role("link", name="image.png").click()
    # The page is shown before its image has arrived (slowly, on a loaded machine): wait
    # until the browser has decoded it, then check what it decoded.
    page.wait_for_function(
        "() => { const img = document.querySelector('#preview img');"
        " return img !== null && img.complete && img.naturalWidth > 0; }",
        timeout=30_000,
    )
    width = page.locator("#preview img").evaluate("img => img.naturalWidth")
    assert width == 64
    shot(page, shots, f"{prefix}-image")
    page.get_by_role("link", name="root").click()
    page.get_by_role("link", name="page.html").click()
    assert page.get_by_text("No preview").count() == 1
    with page.expect_download() as download:
        page.locator("#download").click()
    assert download.value.suggested_filename == "page.html"
    assert_nothing_ran(page)

    page.get_by_role("link", name="Lineage").click()
    assert page.locator("#lineage a.node").count() == 4  # train, data:v0, evaluate, model:v0
    shot(page, shots, f"{prefix}-lineage")
    page.locator("#lineage a.node.run", has_text="evaluate").click()
    assert page.locator("#used").get_by_text("data:v0").count() == 1
    shot(page, shots, f"{prefix}-run")
    page.locator("#logged").get_by_role("link", name="model:v0").click()
    assert page.url == data.model_url

    page.locator("header input[type=search]").fill("best")
    page.locator("header input[type=search]").press("Enter")
    assert page.locator("#results").get_by_text("data:v0").count() >= 1
    shot(page, shots, f"{prefix}-search")
    assert_nothing_ran(page)


def edit_alias(page: Any, site: Site, alias: str) -> None:
    page.goto(site.data.data_url)
    page.locator("input[name=add][placeholder='new alias']").fill(alias)
    page.locator("#add-alias").click()
    assert page.locator("#aliases").get_by_text(alias, exact=True).count() == 1
    page.get_by_role("button", name=f"Remove alias {alias}").click()
    assert page.locator("#aliases").get_by_text(alias, exact=True).count() == 0


def test_cairn_ui_in_a_browser(cairn_ui: Site, page: Any, shots: Path) -> None:
    browse(page, cairn_ui, shots, "ui")
    edit_alias(page, cairn_ui, "candidate")
    assert cairn_ui.data.registry_url is not None
    page.goto(cairn_ui.data.registry_url)
    assert page.locator("h1").inner_text().startswith("best-models")
    page.goto(cairn_ui.url + "/orgs/local/registry/models")
    shot(page, shots, "ui-registry")
    assert_nothing_ran(page)


def sign_in(page: Any, site: Site, who: str) -> None:
    page.locator("input[name=api_key]").fill(site.keys[who])
    page.locator("#sign-in").click()


def test_cairn_server_in_a_browser(ui_server: Site, page: Any, shots: Path) -> None:
    page.goto(ui_server.data.data_url)
    assert "/login" in page.url
    shot(page, shots, "server-login")
    page.locator("input[name=api_key]").fill("cairn_wrong")
    page.locator("#sign-in").click()
    assert page.get_by_role("alert").inner_text() == "Invalid or revoked API key."
    sign_in(page, ui_server, "member")
    assert page.url == ui_server.data.data_url  # back where the visitor was going
    browse(page, ui_server, shots, "server")
    edit_alias(page, ui_server, "reviewed")
    page.locator("#sign-out").click()
    assert "/login" in page.url
    page.goto(ui_server.data.data_url)
    assert "/login" in page.url

    sign_in(page, ui_server, "outsider")
    page.goto(ui_server.data.data_url)
    assert page.locator("h1").inner_text() == "Not found"
    assert page.get_by_text("Training data").count() == 0
