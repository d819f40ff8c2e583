"""A version of 100,000 files opens a page at a time (issue 10 §4): the version page never
reads the manifest, and the file tree is paged server-side from a cached parse."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from cairn.core.manifest import Manifest, ManifestEntry
from cairn.protocol import CommitRequest
from cairn.server.ui import create_ui_app
from cairn.service.caller import LOCAL
from cairn.service.commit import commit_version
from cairn.service.resources import open_store
from cairn.settings import Settings

FILES = 100_000


def test_a_version_of_100k_files_is_browsed_page_by_page(cairn_dir: Path) -> None:
    store = open_store(Settings.load())
    try:
        blob = store.local_blobs().put_bytes(b"same bytes")
        manifest = Manifest()
        for i in range(FILES):
            path = f"shard{i % 20:02d}/file{i:06d}.txt"
            manifest.add_entry(ManifestEntry(path=path, digest=blob.digest, size=10))
        commit_version(
            store,
            LOCAL,
            CommitRequest(
                entity="tester",
                project="big",
                collection="huge",
                type="dataset",
                digest=manifest.digest(),
                digest_algorithm="MD5",
                manifest_json=manifest.to_json_bytes(),
            ),
        )
        client = TestClient(create_ui_app(store), base_url="http://127.0.0.1")
        base = "/tester/big/artifacts/dataset/huge/v0"
        overview = client.get(base)
        assert overview.status_code == 200 and "100000 files" in overview.text
        root = client.get(base + "/files").text
        assert root.count('class="dir"') == 20
        last = client.get(base + "/files", params={"dir": "shard07/", "offset": 4950}).text
        assert last.count('class="file"') == 50
        assert "4951–5000 of 5000" in last and "file099987.txt" in last
        preview = client.get(base + "/files/shard07/file099987.txt")
        assert preview.status_code == 200 and "same bytes" in preview.text
    finally:
        store.close()
