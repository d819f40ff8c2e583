"""A child process of the concurrency test: open the store, wait for the start, commit once.

Kept out of the test module so ``multiprocessing`` (spawn) can import it by a plain name.
"""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Any

from cairn.core.manifest import Manifest, ManifestEntry
from cairn.protocol import CommitRequest
from cairn.service.backend import EmbeddedBackend
from cairn.settings import Settings


def commit_once(cairn_dir: str, number: int, open_first: bool, start: Any, results: Any) -> None:
    """Commit a manifest unique to ``number``; put ``(number, index or error text)``."""
    try:
        settings = Settings.load({"cairn_dir": Path(cairn_dir), "entity": "tester"}, environ={})
        backend = None if not open_first else EmbeddedBackend(settings)
        start.wait()
        backend = backend or EmbeddedBackend(settings)
        source = Path(cairn_dir).parent / f"payload-{number}"
        source.write_bytes(f"payload {number}".encode())
        blob = backend.ingest_file(source, "md5")
        manifest = Manifest()
        manifest.add_entry(ManifestEntry(path="data.txt", digest=blob.digest, size=blob.size))
        request = CommitRequest(
            entity="tester",
            project="race",
            collection="shared",
            type="dataset",
            digest=manifest.digest(),
            digest_algorithm="MD5",
            manifest_json=manifest.to_json_bytes(),
            aliases=[f"writer-{number}"],
        )
        result = backend.commit_version(request)
        backend.close()
        results.put((number, result.version.version_index))
    except BaseException:
        results.put((number, traceback.format_exc()))
