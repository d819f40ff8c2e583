"""The client cache under real reference downloads: the cap holds, every download is right.

http references (served with ETags by a local server on 127.0.0.1) are downloaded through
the client cache (``obj/etag/...``); with ``CAIRN_CACHE_MAX_BYTES`` far below the total,
the cache evicts least-recently-used files after each download and later downloads fetch
again what was evicted.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

import cairn
from cairn.sdk.artifact import Artifact
from cairn.storage.cache.client_cache import ClientCache
from refservers import HttpObject, HttpServer

OBJECT_SIZE = 10_000
CAP = 35_000  # three and a half objects; each artifact holds three


def test_cache_cap_holds_and_later_downloads_are_correct(
    cairn_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAIRN_CACHE_MAX_BYTES", str(CAP))
    bodies = {f"/obj/{i}": os.urandom(OBJECT_SIZE) for i in range(12)}  # 120 kB in all
    with HttpServer() as server:
        for path, body in bodies.items():
            server.objects[path] = HttpObject(body, f'"{hashlib.md5(body).hexdigest()}"')
        with cairn.init(project="proj") as run:  # settings read now: the cap applies
            for index in range(4):
                art = Artifact(f"refs-{index}", "dataset")
                for i in range(index * 3, index * 3 + 3):
                    art.add_reference(f"{server.url}/obj/{i}", name=f"f{i}")
                run.log_artifact(art)
        api = cairn.Api({"project": "proj"})
        logged = [api.artifact(f"refs-{index}:v0") for index in range(4)]

        cache = ClientCache(tmp_path / "cache", max_bytes=CAP)  # CAIRN_CACHE_DIR of the test
        for round_ in range(2):
            for art in logged:
                root = Path(art.download(root=str(tmp_path / f"dl-{round_}-{art.name}")))
                assert cache.usage() <= CAP
                for entry in art.manifest.entries.values():
                    body = bodies[entry.ref.removeprefix(server.url)]  # type: ignore[union-attr]
                    assert hashlib.md5((root / entry.path).read_bytes()).digest() == (
                        hashlib.md5(body).digest()
                    )
        assert 0 < len(cache.files()) <= CAP // OBJECT_SIZE
        refetched = [p for p in server.requests if server.requests.count(p) > 1]
        assert refetched  # evicted objects were fetched again, and came back right
