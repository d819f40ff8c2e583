"""EmbeddedBackend: the ``cairn.protocol.Backend`` of the default, single-machine mode.

It calls the service use cases in-process over ``$CAIRN_DIR/cairn.db`` (SQLite) and the
blob store ``$CAIRN_DIR/blobs``, which is also where ``ingest_file`` copies a draft's
files, so logged bytes are stored once. Entities are irrelevant to where blobs live here
(one store, deduplicated across entities); the server backend scopes them per entity.
The store has one user, the owner of its files, so every use case runs as ``LOCAL``.

``log`` and ``materialize`` are the two verbs that move bytes; the per-blob methods below
them (``missing_blobs``, ``put_blob``, ``fetch_blob``, ``local_blob_path``,
``export_blobs``, ``commit_version``, ``add_version_part``) are their steps, not part of
the protocol.
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from cairn.errors import NotFoundError
from cairn.progress import ProgressCallback, TaskCounter, silent
from cairn.protocol import (
    BlobRef,
    CollectionInfo,
    CommitRequest,
    CommitResult,
    HistoryQuery,
    IngestedBlob,
    Lineage,
    LogRequest,
    Page,
    Placement,
    ProjectInfo,
    RegistryInfo,
    ReplicaRecord,
    ReplicaResult,
    ReplicaRun,
    ReplicaVersion,
    RunEdit,
    RunInfo,
    SourceStats,
    TypeInfo,
    VersionEdit,
    VersionInfo,
)
from cairn.service import (
    collections,
    commit,
    deletion,
    distributed,
    edits,
    gc,
    history,
    lineage,
    links,
    projects,
    registries,
    replication,
    runs,
    ttl,
    versions,
)
from cairn.service.automation_backend import LocalDelivery, ServiceAutomations
from cairn.service.caller import LOCAL
from cairn.service.ingest import ingest_files
from cairn.service.known_blobs import KnownBlobs, generation
from cairn.service.resources import open_store
from cairn.storage.local.export import export_blobs
from cairn.storage.local.placing import place_loose
from cairn.storage.local.statcache import STATCACHE_FILE, StatCache
from cairn.storage.staged_writing import write_tree
from cairn.storage.writing import check_digest

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from pathlib import Path

    from cairn.protocol_automations import AutomationsBackend
    from cairn.settings import Settings

PUT_WORKERS = 8  # blobs stored at once by ``log`` (a draft's copies not ingested here)


class EmbeddedBackend:
    """The embedded store of ``settings`` (see module doc); safe to share between threads.

    Raises (at construction):
        StoreError: ``settings.cairn_dir`` cannot be used (not a directory, not writable,
            database unusable); the message names it.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        store = open_store(settings)
        self._delivery = LocalDelivery(store)  # webhooks of automations: service/outbox.py
        self._store = dataclasses.replace(store, notify=self._delivery.wake)
        self._statcache: StatCache | None = None
        self._known = KnownBlobs()  # what this backend ingested: see service/known_blobs.py
        ttl.sweep_if_due(self._store)  # expired versions go, at most once an hour

    # runs

    def create_run(
        self,
        entity: str,
        project: str,
        run_id: str,
        name: str | None,
        job_type: str | None,
        config: dict[str, Any],
        group: str | None = None,
    ) -> RunInfo:
        return runs.create_run(
            self._store, LOCAL, entity, project, run_id, name, job_type, config, group
        )

    def finish_run(self, entity: str, project: str, run_id: str, exit_code: int) -> None:
        runs.finish_run(self._store, LOCAL, entity, project, run_id, exit_code)

    def get_run(self, entity: str, project: str, run_id: str) -> RunInfo:
        return runs.get_run(self._store, LOCAL, entity, project, run_id)

    def edit_run(self, entity: str, project: str, run_id: str, edit: RunEdit) -> RunInfo:
        return runs.edit_run(self._store, LOCAL, entity, project, run_id, edit)

    def list_runs(
        self,
        entity: str,
        project: str,
        order: str,
        cursor: str | None,
        per_page: int,
        filters: Mapping[str, Any] | None = None,
    ) -> Page:
        return runs.list_runs(self._store, LOCAL, entity, project, order, cursor, per_page, filters)

    # bytes in

    def ingest_file(self, source: Path, algorithm: str) -> IngestedBlob:
        """Copy ``source`` into the blob store while hashing it.

        Raises:
            OSError: ``source`` cannot be read or the store written.
            ValueError: unknown ``algorithm``.
        """
        blob = self._store.local_blobs().ingest(source, algorithm)
        gc.freshen(self._store.local_blobs(), [(blob.digest, blob.algorithm)])
        return IngestedBlob(
            digest=blob.digest, algorithm=blob.algorithm, size=blob.size, local_path=blob.path
        )

    def ingest_files(
        self,
        sources: Sequence[str | Path],
        algorithm: str,
        on_progress: Callable[[int, int, int, int], None] | None = None,
        stats: SourceStats | None = None,
    ) -> list[IngestedBlob]:
        """Store many files at once: unchanged ones (stat cache) are not re-read, small
        ones are packed (see ``cairn.service.ingest``).

        Raises:
            OSError: a file cannot be read or the store written.
            ValueError: unknown ``algorithm``.
            StoreError: the stat cache cannot be used.
        """
        if self._statcache is None:
            self._statcache = StatCache(self.settings.cairn_dir / STATCACHE_FILE)
        current = generation(self._store)
        ingested = ingest_files(
            self._store.local_blobs(),
            self._statcache,
            sources,
            algorithm,
            on_progress,
            generation=current,
            stats=stats,
        )
        self._known.note(current, algorithm, [blob.digest for blob in ingested])
        return ingested

    def log(self, request: LogRequest, progress: ProgressCallback = silent) -> CommitResult | None:
        """Store the blobs the store lacks (from the draft's local copies), then commit (see
        ``Backend.log``). A file ingested by this backend is known stored, so a draft
        built with ``add_file``/``add_dir`` uploads nothing here.

        Raises: as ``Backend.log``.
        """
        commit = request.commit
        if request.needs_blobs(
            lambda: self.latest_digest(commit.entity, commit.project, commit.collection)
        ):
            uploads = request.uploads(self.missing_blobs(commit.entity, request.blobs()))
            if uploads:
                self._put_all(commit.entity, uploads, progress)
        if request.part:
            self.add_version_part(commit)
            return None
        return self.commit_version(commit)

    def _put_all(
        self, entity: str, uploads: Sequence[tuple[BlobRef, Path]], progress: ProgressCallback
    ) -> None:
        """``put_blob`` for each of ``uploads`` (in parallel); ``progress`` hears of each."""
        counter = TaskCounter("Uploading", progress, len(uploads), sum(b.size for b, _ in uploads))
        with ThreadPoolExecutor(max_workers=max(1, min(PUT_WORKERS, len(uploads)))) as pool:
            futures = [(b, pool.submit(self.put_blob, entity, b, p)) for b, p in uploads]
            for blob, future in futures:
                future.result()
                counter.add(1, blob.size)
        counter.finish()

    def missing_blobs(self, entity: str, blobs: Sequence[BlobRef]) -> list[BlobRef]:
        """Blobs ingested by this backend in the store's current generation
        (``known_blobs``) are known stored; the others are checked (and marked as used,
        ``gc.freshen``).

        Raises: ValueError for a digest that is not valid for its algorithm.
        """
        known = self._known.known(generation(self._store))
        empty: set[str] = set()
        unknown = [
            (b.digest, b.algorithm) for b in blobs if b.digest not in known.get(b.algorithm, empty)
        ]
        missing = gc.freshen(self._store.local_blobs(), unknown) if unknown else set()
        return (
            [blob for blob in blobs if (blob.digest, blob.algorithm) in missing] if missing else []
        )

    def put_blob(self, entity: str, blob: BlobRef, source: Path) -> None:
        """Raises: CorruptionError if ``source`` does not hash to ``blob.digest``; OSError."""
        self._store.local_blobs().put(source, blob.digest, blob.algorithm)

    # versions

    def commit_version(self, request: CommitRequest) -> CommitResult:
        return commit.commit_version(self._store, LOCAL, request, self._known)

    def add_version_part(self, request: CommitRequest) -> None:
        distributed.add_part(self._store, LOCAL, request)

    def resolve_version(
        self, entity: str, project: str, collection: str, selector: str
    ) -> VersionInfo:
        return versions.resolve_version(self._store, LOCAL, entity, project, collection, selector)

    def latest_digest(self, entity: str, project: str, collection: str) -> tuple[str, str] | None:
        return versions.latest_digest(self._store, LOCAL, entity, project, collection)

    def get_version(self, version_id: str) -> VersionInfo:
        return versions.get_version(self._store, LOCAL, version_id)

    def read_manifest(self, version_id: str) -> bytes:
        return versions.read_manifest(self._store, LOCAL, version_id)

    def list_versions(
        self, entity: str, project: str, collection: str, cursor: str | None, per_page: int
    ) -> Page:
        return versions.list_versions(
            self._store, LOCAL, entity, project, collection, cursor, per_page
        )

    def list_collections(
        self, entity: str, project: str, type_name: str | None
    ) -> list[CollectionInfo]:
        return collections.list_collections(self._store, LOCAL, entity, project, type_name)

    def get_collection(self, entity: str, project: str, name: str) -> CollectionInfo:
        return collections.get_collection(self._store, LOCAL, entity, project, name)

    def list_types(self, entity: str, project: str) -> list[TypeInfo]:
        return collections.list_types(self._store, LOCAL, entity, project)

    def list_projects(self, entity: str | None, limit: int) -> list[ProjectInfo]:
        return projects.project_infos(self._store, LOCAL, entity, limit)

    def record_use(self, entity: str, project: str, run_id: str, version_id: str) -> None:
        runs.record_use(self._store, LOCAL, entity, project, run_id, version_id)

    # bytes out

    def materialize(
        self,
        root: Path,
        files: Sequence[Placement],
        *,
        link: bool = False,
        allow_missing: bool = False,
        warn_skips: bool = True,
        progress: ProgressCallback = silent,
    ) -> None:
        """Write stored blobs below ``root`` (see ``Backend.materialize``): a new or empty
        root from the packs read sequentially (``export_blobs``), else each file by
        reflink, by hard link with ``link``, or as a checked copy (``fetch_blob``).

        Raises: as ``Backend.materialize``.
        """
        write_tree(
            root,
            files,
            lambda file, tmp: self._place(file, tmp, link),
            self._export,
            link=link,
            allow_missing=allow_missing,
            warn_skips=warn_skips,
            progress=progress,
        )

    def _place(self, file: Placement, tmp: Path, link: bool) -> None:
        """Put ``file``'s blob at the fresh path ``tmp``: its loose blob hard-linked (with
        ``link``) or reflinked when the file system can, else copied; checked either way."""
        blob = BlobRef(file.digest, file.algorithm, file.size)
        if not place_loose(self.local_blob_path(file.entity, blob), tmp, link):
            self.fetch_blob(file.entity, blob, tmp)
        check_digest(tmp, file)

    def _export(
        self, items: list[tuple[Placement, Path]], on_progress: Callable[[int, int], None]
    ) -> None:
        """``export_blobs`` of every item (one store: entities do not matter here)."""
        blobs = [(BlobRef(f.digest, f.algorithm, f.size), path) for f, path in items]
        self.export_blobs(items[0][0].entity, blobs, on_progress)

    def fetch_blob(self, entity: str, blob: BlobRef, dest: Path) -> None:
        """Copy the blob to the new file ``dest``.

        Raises:
            CommError: the store does not hold the blob.
            FileExistsError: ``dest`` exists.
            ValueError: a digest that is not valid for its algorithm.
        """
        try:
            self._store.local_blobs().copy_to(blob.digest, blob.algorithm, dest)
        except FileNotFoundError:
            if self._store.local_blobs().has(blob.digest, blob.algorithm):
                raise
            raise NotFoundError(
                f"blob {blob.algorithm} {blob.digest} not found in the store"
            ) from None

    def local_blob_path(self, entity: str, blob: BlobRef) -> Path | None:
        """The loose read-only file of ``blob`` in the store, or None if it has none.

        Raises: ValueError for a digest that is not valid for its algorithm.
        """
        path = self._store.local_blobs().path_for(blob.digest, blob.algorithm)
        return path if path.is_file() else None

    def export_blobs(
        self,
        entity: str,
        items: Sequence[tuple[BlobRef, Path]],
        on_progress: Callable[[int, int], None] | None = None,
    ) -> None:
        """Write many blobs to new files, packs read sequentially (``cairn.storage.local.export``).

        Raises: FileNotFoundError, FileExistsError, CorruptionError, OSError, ValueError.
        """
        export_blobs(
            self._store.local_blobs(),
            [(blob.digest, blob.algorithm, path) for blob, path in items],
            on_progress,
        )

    # the artifact surface: edits, links, deletion, lineage, history, registries, TTL

    def edit_version(self, version_id: str, edit: VersionEdit) -> VersionInfo:
        return edits.edit_version(self._store, LOCAL, version_id, edit)

    def delete_version(self, version_id: str, delete_aliases: bool) -> None:
        deletion.delete_version(self._store, LOCAL, version_id, delete_aliases)

    def link_version(
        self, version_id: str, entity: str, project: str, collection: str, aliases: Sequence[str]
    ) -> VersionInfo:
        return links.link_version(
            self._store, LOCAL, version_id, entity, project, collection, aliases
        )

    def unlink_version(self, version_id: str, entity: str, project: str, collection: str) -> None:
        links.unlink_version(self._store, LOCAL, version_id, entity, project, collection)

    def list_links(self, version_id: str, limit: int) -> list[VersionInfo]:
        return links.list_links(self._store, LOCAL, version_id, limit)

    def edit_collection(
        self,
        entity: str,
        project: str,
        name: str,
        description: str | None,
        tags: Sequence[str],
        new_name: str | None = None,
        new_type: str | None = None,
    ) -> CollectionInfo:
        return edits.edit_collection(
            self._store, LOCAL, entity, project, name, description, tags, new_name, new_type
        )

    def delete_collection(self, entity: str, project: str, name: str) -> None:
        edits.delete_collection(self._store, LOCAL, entity, project, name)

    def lineage(self, version_id: str) -> Lineage:
        return lineage.lineage(self._store, LOCAL, version_id)

    def run_versions(self, entity: str, project: str, run_id: str, used: bool) -> list[VersionInfo]:
        return lineage.run_versions(self._store, LOCAL, entity, project, run_id, used)

    def log_history(
        self, entity: str, project: str, run_id: str, step: int | None, data: dict[str, Any]
    ) -> int | None:
        return history.log_history(self._store, LOCAL, entity, project, run_id, step, data)

    def read_history(
        self, entity: str, project: str, run_id: str, query: HistoryQuery | None = None
    ) -> list[dict[str, Any]]:
        return history.read_history(self._store, LOCAL, entity, project, run_id, query)

    def create_registry(
        self,
        organization: str | None,
        name: str,
        visibility: str,
        description: str | None,
        artifact_types: Sequence[str] | None,
    ) -> RegistryInfo:
        return registries.create_registry(
            self._store, LOCAL, organization, name, visibility, description, artifact_types
        )

    def get_registry(self, organization: str | None, name: str) -> RegistryInfo:
        return registries.get_registry(self._store, LOCAL, organization, name)

    def list_registries(self, organization: str | None) -> list[RegistryInfo]:
        return registries.list_registries(self._store, LOCAL, organization)

    def edit_registry(
        self,
        organization: str | None,
        name: str,
        description: str | None,
        visibility: str,
        artifact_types: Sequence[str] | None,
    ) -> RegistryInfo:
        return registries.edit_registry(
            self._store, LOCAL, organization, name, description, visibility, artifact_types
        )

    def delete_registry(self, organization: str | None, name: str) -> None:
        registries.delete_registry(self._store, LOCAL, organization, name)

    def set_default_ttl(self, entity: str, project: str | None, seconds: int | None) -> None:
        ttl.set_default_ttl(self._store, LOCAL, entity, project, seconds)

    def get_default_ttl(self, entity: str, project: str | None) -> int | None:
        return ttl.get_default_ttl(self._store, LOCAL, entity, project)

    # replication: copies of versions from other stores (service/replication.py)

    def store_id(self) -> str:
        return replication.store_id(self._store)

    def replicas(self, origin: str, entity: str, project: str) -> list[ReplicaRecord]:
        return replication.replicas(self._store, LOCAL, origin, entity, project)

    def replicate_version(
        self, request: ReplicaVersion, progress: ProgressCallback = silent
    ) -> ReplicaResult:
        """Store the blobs the store lacks (fetched from the source), then copy the
        version (see ``Backend.replicate_version``). Raises: as that verb."""
        entity = request.commit.entity
        uploads = request.uploads(self.missing_blobs(entity, request.blobs()))
        if uploads:
            self._put_all(entity, uploads, progress)
        result = replication.replicate_version(self._store, LOCAL, request, self._known)
        return dataclasses.replace(
            result, blobs_sent=len(uploads), bytes_sent=sum(b.size for b, _ in uploads)
        )

    def replicate_run(self, run: ReplicaRun) -> RunInfo:
        return replication.replicate_run(self._store, LOCAL, run)

    def record_sent(self, peer: str, version_id: str, peer_version_id: str) -> None:
        replication.record_sent(self._store, LOCAL, peer, version_id, peer_version_id)

    def automations(self) -> AutomationsBackend:
        """Webhook integrations, automations and their deliveries in this store."""
        return ServiceAutomations(self._store)

    def close(self) -> None:
        if self._statcache is not None:
            self._statcache.close()
        self._store.close()
