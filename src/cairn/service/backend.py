"""EmbeddedBackend: the ``cairn.protocol.Backend`` of the default, single-machine mode.

It calls the service use cases in-process over ``$CAIRN_DIR/cairn.db`` (SQLite) and the
blob store ``$CAIRN_DIR/blobs``, which is also where ``ingest_file`` copies a draft's
files, so logged bytes are stored once. Entities are irrelevant to where blobs live here
(one store, deduplicated across entities); the server backend scopes them per entity.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cairn.config import Settings
from cairn.errors import CommError
from cairn.protocol import (
    BlobRef,
    CollectionInfo,
    CommitRequest,
    CommitResult,
    IngestedBlob,
    Page,
    RunInfo,
    TypeInfo,
    VersionInfo,
)
from cairn.service import collections, commit, runs, versions
from cairn.service.store import open_store


class EmbeddedBackend:
    """The embedded store of ``settings`` (see module doc); safe to share between threads.

    Raises (at construction):
        StoreError: ``settings.cairn_dir`` cannot be used (not a directory, not writable,
            database unusable); the message names it.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._store = open_store(settings)

    # runs

    def create_run(
        self,
        entity: str,
        project: str,
        run_id: str,
        name: str | None,
        job_type: str | None,
        config: dict[str, Any],
    ) -> RunInfo:
        return runs.create_run(self._store, entity, project, run_id, name, job_type, config)

    def finish_run(self, entity: str, project: str, run_id: str, exit_code: int) -> None:
        runs.finish_run(self._store, entity, project, run_id, exit_code)

    def get_run(self, entity: str, project: str, run_id: str) -> RunInfo:
        return runs.get_run(self._store, entity, project, run_id)

    # bytes in

    def ingest_file(self, source: Path, algorithm: str) -> IngestedBlob:
        """Copy ``source`` into the blob store while hashing it.

        Raises:
            OSError: ``source`` cannot be read or the store written.
            ValueError: unknown ``algorithm``.
        """
        blob = self._store.blobs.ingest(source, algorithm)
        return IngestedBlob(
            digest=blob.digest, algorithm=blob.algorithm, size=blob.size, local_path=blob.path
        )

    def missing_blobs(self, entity: str, blobs: Sequence[BlobRef]) -> list[BlobRef]:
        """Raises: ValueError for a digest that is not valid for its algorithm."""
        return [blob for blob in blobs if not self._store.blobs.has(blob.digest, blob.algorithm)]

    def put_blob(self, entity: str, blob: BlobRef, source: Path) -> None:
        """Raises: CorruptionError if ``source`` does not hash to ``blob.digest``; OSError."""
        self._store.blobs.put(source, blob.digest, blob.algorithm)

    # versions

    def commit_version(self, request: CommitRequest) -> CommitResult:
        return commit.commit_version(self._store, request)

    def resolve_version(
        self, entity: str, project: str, collection: str, selector: str
    ) -> VersionInfo:
        return versions.resolve_version(self._store, entity, project, collection, selector)

    def get_version(self, version_id: str) -> VersionInfo:
        return versions.get_version(self._store, version_id)

    def read_manifest(self, version_id: str) -> bytes:
        return versions.read_manifest(self._store, version_id)

    def list_versions(
        self, entity: str, project: str, collection: str, cursor: str | None, per_page: int
    ) -> Page:
        return versions.list_versions(self._store, entity, project, collection, cursor, per_page)

    def list_collections(
        self, entity: str, project: str, type_name: str | None
    ) -> list[CollectionInfo]:
        return collections.list_collections(self._store, entity, project, type_name)

    def get_collection(self, entity: str, project: str, name: str) -> CollectionInfo:
        return collections.get_collection(self._store, entity, project, name)

    def list_types(self, entity: str, project: str) -> list[TypeInfo]:
        return collections.list_types(self._store, entity, project)

    def record_use(self, entity: str, project: str, run_id: str, version_id: str) -> None:
        runs.record_use(self._store, entity, project, run_id, version_id)

    # bytes out

    def fetch_blob(self, entity: str, blob: BlobRef, dest: Path) -> None:
        """Copy the blob to the new file ``dest``.

        Raises:
            CommError: the store does not hold the blob.
            FileExistsError: ``dest`` exists.
            ValueError: a digest that is not valid for its algorithm.
        """
        try:
            self._store.blobs.copy_to(blob.digest, blob.algorithm, dest)
        except FileNotFoundError:
            if self._store.blobs.has(blob.digest, blob.algorithm):
                raise
            raise CommError(f"blob {blob.algorithm} {blob.digest} not found in the store") from None

    def close(self) -> None:
        self._store.close()
