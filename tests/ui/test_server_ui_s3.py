"""The web UI of a server whose blobs live in S3 (PostgreSQL + moto): downloads stream the
object's bytes and text previews read only their first part (issue 10 §4)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

import cairn
from cairn.sdk import backend_cache
from serverproc import ServerProcess, use_server
from ui.test_server_ui import sign_in

BIG = 3 * 1024 * 1024 + 17  # several chunks of the UI's stream, not a multiple of them


def test_downloads_and_previews_of_an_s3_store(
    cairn_server_pg: ServerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    team = use_server(cairn_server_pg, monkeypatch)
    monkeypatch.setenv("CAIRN_CACHE_DIR", str(tmp_path / "cache"))
    payload = os.urandom(BIG)
    text = "".join(f"line {n}\n" for n in range(60_000))  # > the preview's 256 KiB
    (tmp_path / "blob.bin").write_bytes(payload)
    (tmp_path / "notes.txt").write_text(text)
    try:
        with cairn.init(project="s3ui", job_type="make") as run:
            artifact = cairn.Artifact("big", type="dataset")
            artifact.add_file(str(tmp_path / "blob.bin"))
            artifact.add_file(str(tmp_path / "notes.txt"))
            run.log_artifact(artifact)
    finally:
        backend_cache.close_all()

    page = f"/{team}/s3ui/artifacts/dataset/big/v0"
    client = sign_in(cairn_server_pg.url, cairn_server_pg.admin_key)
    try:
        response = client.get(f"{page}/download/blob.bin")
        assert response.status_code == 200
        assert response.headers["content-disposition"].startswith("attachment")
        assert response.headers["content-type"] == "application/octet-stream"
        assert int(response.headers["content-length"]) == BIG
        assert hashlib.md5(response.content).digest() == hashlib.md5(payload).digest()

        preview = client.get(f"{page}/files/notes.txt")
        assert preview.status_code == 200
        assert "line 0\n" in preview.text and "line 100\n" in preview.text
        assert "line 59999" not in preview.text  # cut at the preview limit

        missing = client.get(f"{page}/download/nope.bin")
        assert missing.status_code == 404
    finally:
        client.close()
