"""A JSON file nested deeper than ``json.loads`` can recurse is previewed as text, as any
file that is not JSON is: the file page answered 500 (a RecursionError) for it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cairn.core.manifest import Manifest, ManifestEntry
from cairn.protocol import CommitRequest
from cairn.server.ui import create_ui_app
from cairn.service.backend import EmbeddedBackend
from cairn.service.resources import open_store
from cairn.settings import Settings

DEEP = "[" * 100_000 + "]" * 100_000
FILES = {
    "deep.json": DEEP,
    "deep.table.json": '{"columns": ["a"], "data": ' + DEEP + "}",
    "fine.json": json.dumps({"x": [1, {"y": 2}]}),
    "fine.table.json": json.dumps({"columns": ["a"], "data": [["cell-one"]]}),
}
V0 = "/tester/proj/artifacts/dataset/data/v0/files/"


@pytest.fixture
def client(cairn_dir: Path, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings.load()
    backend = EmbeddedBackend(settings)
    manifest = Manifest()
    for name, text in FILES.items():
        source = tmp_path / name
        source.write_text(text)
        blob = backend.ingest_file(source, "md5")
        manifest.add_entry(ManifestEntry(path=name, digest=blob.digest, size=blob.size))
    backend.commit_version(
        CommitRequest(
            entity="tester",
            project="proj",
            collection="data",
            type="dataset",
            digest=manifest.digest(),
            digest_algorithm="MD5",
            manifest_json=manifest.to_json_bytes(),
        )
    )
    backend.close()
    store = open_store(settings)
    with TestClient(create_ui_app(store), base_url="http://127.0.0.1:8421") as test_client:
        yield test_client
    store.close()


def test_a_json_file_nested_too_deeply_is_previewed_as_text(client: TestClient) -> None:
    for name in ("deep.json", "deep.table.json"):
        page = client.get(V0 + name)
        assert page.status_code == 200, (name, page.text[-2000:])
        assert 'id="text-preview"' in page.text and "[[[[[[[[" in page.text
        assert 'id="table-preview"' not in page.text
    pretty = client.get(V0 + "fine.json").text
    assert 'id="text-preview"' in pretty and "&#34;y&#34;: 2" in pretty.replace("&quot;", "&#34;")
    table = client.get(V0 + "fine.table.json").text
    assert 'id="table-preview"' in table and "cell-one" in table
