"""docs/openapi.json is the app's OpenAPI document (regenerate with
``CAIRN_WRITE_OPENAPI=1 python -m pytest tests/server/test_openapi.py``)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from cairn.server.app import create_app
from cairn.server.state import ServerConfig

DOC = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_the_checked_in_openapi_document_matches_the_app(tmp_path: Path) -> None:
    config = ServerConfig(
        db_url=f"sqlite+pysqlite:///{tmp_path / 's.db'}", store_dir=tmp_path / "s", secret=b"k"
    )
    document = create_app(config).openapi()
    text = json.dumps(document, indent=2, sort_keys=True) + "\n"
    if os.environ.get("CAIRN_WRITE_OPENAPI") == "1":
        DOC.parent.mkdir(exist_ok=True)
        DOC.write_text(text)
    assert DOC.read_text() == text, "docs/openapi.json is stale; see this module's docstring"
