"""Fixtures for service tests: an EmbeddedBackend on a fresh store and a request builder."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from cairn.core.digest import digest_bytes
from cairn.core.manifest import Manifest, ManifestEntry
from cairn.protocol import CommitRequest
from cairn.service.backend import EmbeddedBackend
from cairn.settings import Settings

MakeRequest = Callable[..., CommitRequest]


@pytest.fixture
def settings(cairn_dir: Path) -> Settings:
    return Settings.load()


@pytest.fixture
def backend(settings: Settings) -> Iterator[EmbeddedBackend]:
    opened = EmbeddedBackend(settings)
    yield opened
    opened.close()


@pytest.fixture
def make_request(tmp_path: Path, backend: EmbeddedBackend) -> MakeRequest:
    """Build a CommitRequest whose files are ingested into ``backend``'s store.

    ``files`` maps artifact paths to contents; ``refs`` maps paths to reference URIs
    (stored nowhere). Other keyword arguments go to CommitRequest.
    """
    counter = iter(range(1_000_000))

    def make(
        files: Mapping[str, bytes],
        *,
        collection: str = "data",
        type: str = "dataset",
        refs: Mapping[str, str] | None = None,
        aliases: Sequence[str] = (),
        ingest: bool = True,
        **fields: Any,
    ) -> CommitRequest:
        manifest = Manifest()
        for path, content in files.items():
            source = tmp_path / f"src-{next(counter)}"
            source.write_bytes(content)
            if ingest:
                blob = backend.ingest_file(source, "md5")
                digest, size = blob.digest, blob.size
            else:
                digest, size = digest_bytes(content), len(content)
            manifest.add_entry(ManifestEntry(path=path, digest=digest, size=size))
        for path, uri in (refs or {}).items():
            manifest.add_entry(ManifestEntry(path=path, digest=uri, ref=uri))
        return CommitRequest(
            entity=fields.pop("entity", "tester"),
            project=fields.pop("project", "proj"),
            collection=collection,
            type=type,
            digest=manifest.digest(),
            digest_algorithm="MD5",
            manifest_json=manifest.to_json_bytes(),
            aliases=aliases,
            **fields,
        )

    return make
