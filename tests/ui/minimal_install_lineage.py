"""Run by ``test_minimal_install.py`` with the python of a virtual environment that holds
only ``cairn[server,s3]``: serve the app in-process, log fetch -> raw:v0 -> prep -> data:v0
-> train -> model:v0 over the REST API, sign in to the UI, and check that data:v0's lineage
page draws all six nodes without numpy or networkx.

Usage: ``python minimal_install_lineage.py <tmp dir> <the checkout's src dir>``. Exits
non-zero (an AssertionError) if anything is off; prints ``ok`` otherwise.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi.testclient import TestClient

import cairn
from cairn.core.manifest import Manifest, ManifestEntry
from cairn.server.app import create_app
from cairn.server.state import ServerConfig
from cairn.service.accounts import create_key, create_user
from cairn.service.caller import LOCAL

BASE = "http://127.0.0.1"
E = "/api/v1/entities/root"
P = E + "/projects/p"


def ok(response: Any) -> Any:
    assert response.status_code < 300, (response.request.url, response.status_code, response.text)
    return response.json() if response.content else None


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def log_version(api: TestClient, collection: str, type_: str, run: str, data: bytes) -> str:
    """Upload ``data`` as ``file.txt`` and commit it as ``<collection>:v0``, logged by
    ``run``; returns the version's id."""
    blob = {"digest": md5_b64(data), "algorithm": "md5", "size": len(data)}
    missing = ok(api.post(E + "/blobs/missing", json={"blobs": [blob]}))["blobs"]
    urls = ok(api.post(E + "/blobs/upload-urls", json={"blobs": missing}))["urls"]
    for signed in urls:
        url = urlsplit(signed["url"])
        ok(api.put(f"{url.path}?{url.query}", content=data, headers=signed["headers"]))
    manifest = Manifest()
    manifest.add_entry(ManifestEntry(path="file.txt", digest=md5_b64(data), size=len(data)))
    body = {
        "project": "p",
        "collection": collection,
        "type": type_,
        "digest": manifest.digest(),
        "digest_algorithm": "MD5",
        "manifest_json": manifest.to_json_bytes().decode(),
        "run_id": run,
    }
    return str(ok(api.post(P + "/versions", json=body))["version"]["id"])


def main(tmp: Path, src: Path) -> None:
    assert Path(cairn.__file__).resolve().is_relative_to(src.resolve()), cairn.__file__
    config = ServerConfig(
        db_url=f"sqlite+pysqlite:///{tmp / 'server.db'}",
        store_dir=tmp / "store",
        secret=secrets.token_bytes(32),
        organization="acme",
    )
    app = create_app(config)
    store = app.state.cairn.store
    create_user(store, LOCAL, "root", admin=True)
    key = create_key(store, LOCAL, "root").api_key
    with TestClient(app, base_url=BASE, headers={"Authorization": f"Bearer {key}"}) as api:
        for run in ("fetch", "prep", "train"):
            ok(api.post(P + "/runs", json={"run_id": run, "job_type": run}))
        raw = log_version(api, "raw", "dataset", "fetch", b"raw rows\n")
        ok(api.post(P + "/runs/prep/uses", json={"version_id": raw}))
        data = log_version(api, "data", "dataset", "prep", b"clean rows\n")
        ok(api.post(P + "/runs/train/uses", json={"version_id": data}))
        log_version(api, "model", "model", "train", b"weights\n")

    with TestClient(app, base_url=BASE, follow_redirects=True) as browser:
        assert browser.get("/login").status_code == 200
        token = browser.cookies.get("cairn_csrf")
        assert token, "the login form set no CSRF cookie"
        signed_in = browser.post("/login", data={"api_key": key, "csrf_token": token, "next": "/"})
        assert signed_in.status_code == 200 and signed_in.url.path == "/", signed_in.text
        page = browser.get("/root/p/artifacts/dataset/data/v0/lineage")
        assert page.status_code == 200, page.text
        html = page.text

    assert "<svg" in html, html
    labels = re.findall(r'<text [^>]*class="label">([^<]*)</text>', html)
    assert sorted(labels) == ["data:v0", "fetch", "model:v0", "prep", "raw:v0", "train"], labels
    assert html.count('class="edge"') == 5, html
    assert "node artifact current" in html
    for absent in ("numpy", "networkx"):
        assert absent not in sys.modules, f"{absent} was imported"
    print("ok")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
