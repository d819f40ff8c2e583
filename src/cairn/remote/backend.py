"""RemoteBackend: the ``cairn.protocol.Backend`` of server mode, over the REST API.

Each verb is one REST call (``/api/v1/...``, ``Authorization: Bearer <CAIRN_API_KEY>``)
whose answer is the protocol's own wire model as JSON, so both modes return the same
dataclasses; server errors come back as the exceptions embedded mode raises
(``cairn.remote.http``). Bytes never pass through the API: they move between this
machine and the store through signed URLs (``cairn.remote.transfer``).

``log`` and ``materialize`` are the two verbs that move bytes; the per-blob methods below
them (``missing_blobs``, ``put_blob(s)``, ``fetch_blob``, ``export_blobs``,
``commit_version``, ``add_version_part``) are their steps, not part of the protocol.
"""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

from cairn.core.metadata import MAX_METADATA_DEPTH
from cairn.core.run_filters import check_shape
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
from cairn.remote.automations import RemoteAutomations
from cairn.remote.http import ApiClient
from cairn.remote.replication import RemoteReplication
from cairn.remote.transfer import Transfers
from cairn.storage.staged_writing import write_tree

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from pathlib import Path

    from cairn.protocol_automations import AutomationsBackend
    from cairn.settings import Settings

T = TypeVar("T")


def _model(cls: type[T], data: dict[str, Any]) -> T:
    """A protocol dataclass from its JSON (fields the client does not know are ignored)."""
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in data.items() if k in names})


def _version(data: dict[str, Any]) -> VersionInfo:
    return _model(VersionInfo, data)


def _run(data: dict[str, Any]) -> RunInfo:
    return _model(RunInfo, data)


def _seg(name: str) -> str:
    """One URL path segment (``/`` and everything else special escaped)."""
    return quote(name, safe="")


def _commit_body(request: CommitRequest) -> dict[str, Any]:
    """The JSON body of ``POST .../versions`` (and ``.../versions/parts``) for ``request``."""
    return {
        "project": request.project,
        "collection": request.collection,
        "type": request.type,
        "digest": request.digest,
        "digest_algorithm": request.digest_algorithm,
        "manifest_json": request.manifest_bytes().decode("utf-8"),
        "description": request.description,
        "metadata": request.metadata,
        "aliases": list(request.aliases),
        "tags": list(request.tags),
        "run_id": request.run_id,
        "history_step": request.history_step,
        "ttl_duration_seconds": request.ttl_duration_seconds,
        "storage_region": request.storage_region,
        "incremental": request.incremental,
        "base_id": request.base_id,
        "distributed_id": request.distributed_id,
    }


def _project(entity: str, project: str) -> str:
    return f"/entities/{_seg(entity)}/projects/{_seg(project)}"


def _run_path(entity: str, project: str, run_id: str) -> str:
    return f"{_project(entity, project)}/runs/{_seg(run_id)}"


def _collection(entity: str, project: str, name: str) -> str:
    return f"{_project(entity, project)}/collections/{_seg(name)}"


def _offset(
    on_progress: Callable[[int, int], None], files_before: int, bytes_before: int
) -> Callable[[int, int], None]:
    """``on_progress`` of a later part of a task: its counts follow the parts before."""
    return lambda files, size: on_progress(files_before + files, bytes_before + size)


class RemoteBackend:
    """The server at ``settings.base_url``, called with ``settings.api_key``.

    Thread-safe; one HTTP connection pool per backend. Errors of every verb: as the
    protocol documents, plus ``AuthenticationError`` (bad key) and ``AuthorizationError``
    (a role that does not allow the action); ``CommError`` when the server is unreachable.

    Raises (at construction): ValueError when ``settings.base_url`` is not an http(s) URL.
    """

    def __init__(self, settings: Settings) -> None:
        if not settings.base_url:
            raise ValueError("RemoteBackend needs settings.base_url (CAIRN_BASE_URL)")
        self.settings = settings
        self._client = ApiClient(settings.base_url, settings.api_key)
        self._transfers = Transfers(self._client, settings)
        self._replication = RemoteReplication(self._client, self._transfers)

    def _get(self, path: str, **params: Any) -> Any:
        return self._client.call("GET", path, params=params).json()

    def _send(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        response = self._client.call(method, path, json=body, params=params)
        return response.json() if response.content else None

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
        body = {
            "run_id": run_id,
            "name": name,
            "job_type": job_type,
            "config": config,
            "group": group,
        }
        return _run(self._send("POST", f"{_project(entity, project)}/runs", body))

    def finish_run(self, entity: str, project: str, run_id: str, exit_code: int) -> None:
        path = f"{_run_path(entity, project, run_id)}/finish"
        self._client.call("POST", path, json={"exit_code": exit_code}, idempotent=True)

    def get_run(self, entity: str, project: str, run_id: str) -> RunInfo:
        return _run(self._get(_run_path(entity, project, run_id)))

    def edit_run(self, entity: str, project: str, run_id: str, edit: RunEdit) -> RunInfo:
        body = {
            "config": edit.config,
            "config_remove": list(edit.config_remove),
            "summary": edit.summary,
            "summary_remove": list(edit.summary_remove),
        }
        return _run(self._send("PATCH", _run_path(entity, project, run_id), body))

    def list_runs(
        self,
        entity: str,
        project: str,
        order: str,
        cursor: str | None,
        per_page: int,
        filters: Mapping[str, Any] | None = None,
    ) -> Page:
        path = f"{_project(entity, project)}/runs"
        query = None
        if filters:
            # refused as the embedded store refuses it; the server checks the rest, its limits
            check_shape(filters, MAX_METADATA_DEPTH, None)
            query = json.dumps(filters, separators=(",", ":"))
        answer = self._get(path, order=order, cursor=cursor, per_page=per_page, filters=query)
        items = [_run(item) for item in answer["items"]]
        return Page(items=items, next_cursor=answer["next_cursor"], total=answer["total"])

    # bytes in

    def ingest_file(self, source: Path, algorithm: str) -> IngestedBlob:
        """Copy ``source`` into the local staging area while hashing it.

        Raises: OSError, ValueError (unknown algorithm), StoreError (staging unusable).
        """
        return self._transfers.stage(source, algorithm)

    def ingest_files(
        self,
        sources: Sequence[str | Path],
        algorithm: str,
        on_progress: Callable[[int, int, int, int], None] | None = None,
        stats: SourceStats | None = None,
    ) -> list[IngestedBlob]:
        """Stage many files in parallel. Raises: as ``ingest_file``."""
        return self._transfers.stage_many(sources, algorithm, on_progress, stats)

    def log(self, request: LogRequest, progress: ProgressCallback = silent) -> CommitResult | None:
        """Ask the server once which blobs the entity lacks, upload those from the draft's
        staged copies (small ones in batches, large ones through signed URLs, in parallel;
        ``progress`` hears of the task ``Uploading``), then commit (see ``Backend.log``).

        Raises: as ``Backend.log``.
        """
        commit = request.commit
        if request.needs_blobs(
            lambda: self.latest_digest(commit.entity, commit.project, commit.collection)
        ):
            uploads = request.uploads(self.missing_blobs(commit.entity, request.blobs()))
            if uploads:
                counter = TaskCounter(
                    "Uploading", progress, len(uploads), sum(b.size for b, _ in uploads)
                )
                self.put_blobs(
                    commit.entity,
                    uploads,
                    lambda done: counter.add(len(done), sum(b.size for b in done)),
                )
                counter.finish()
        if request.part:
            self.add_version_part(commit)
            return None
        return self.commit_version(commit)

    def missing_blobs(self, entity: str, blobs: Sequence[BlobRef]) -> list[BlobRef]:
        return self._transfers.missing(entity, blobs)

    def put_blob(self, entity: str, blob: BlobRef, source: Path) -> None:
        """Upload through a signed URL. Raises: CorruptionError (digest differs), OSError."""
        self._transfers.upload(entity, blob, source)

    def put_blobs(
        self,
        entity: str,
        uploads: Sequence[tuple[BlobRef, Path]],
        on_done: Callable[[Sequence[BlobRef]], None] | None = None,
    ) -> None:
        """Small blobs in batches from their staged bytes, large ones through signed URLs.

        Raises: CorruptionError (a copy changed since it was added), OSError, CommError.
        """
        self._transfers.upload_many(entity, uploads, on_done)

    # versions

    def commit_version(self, request: CommitRequest) -> CommitResult:
        path = f"{_project(request.entity, request.project)}/versions"
        answer = self._send("POST", path, _commit_body(request))
        self._transfers.release(request.manifest_bytes())
        return CommitResult(version=_version(answer["version"]), created=bool(answer["created"]))

    def add_version_part(self, request: CommitRequest) -> None:
        path = f"{_project(request.entity, request.project)}/versions/parts"
        self._send("POST", path, _commit_body(request))
        self._transfers.release(request.manifest_bytes())

    def resolve_version(
        self, entity: str, project: str, collection: str, selector: str
    ) -> VersionInfo:
        path = f"{_collection(entity, project, collection)}/versions/{_seg(selector)}"
        return _version(self._get(path))

    def latest_digest(self, entity: str, project: str, collection: str) -> tuple[str, str] | None:
        """Raises CommError (other than not found) from the server."""
        try:
            latest = self.resolve_version(entity, project, collection, "latest")
        except NotFoundError:
            return None
        return latest.digest, latest.digest_algorithm

    def get_version(self, version_id: str) -> VersionInfo:
        return _version(self._get(f"/versions/{_seg(version_id)}"))

    def read_manifest(self, version_id: str) -> bytes:
        return self._client.call("GET", f"/versions/{_seg(version_id)}/manifest").content

    def list_versions(
        self, entity: str, project: str, collection: str, cursor: str | None, per_page: int
    ) -> Page:
        path = f"{_collection(entity, project, collection)}/versions"
        answer = self._get(path, cursor=cursor, per_page=per_page)
        items = [_version(item) for item in answer["items"]]
        return Page(items=items, next_cursor=answer["next_cursor"], total=answer["total"])

    def list_collections(
        self, entity: str, project: str, type_name: str | None
    ) -> list[CollectionInfo]:
        found = self._get(f"{_project(entity, project)}/collections", type=type_name)
        return [_model(CollectionInfo, item) for item in found]

    def get_collection(self, entity: str, project: str, name: str) -> CollectionInfo:
        return _model(CollectionInfo, self._get(_collection(entity, project, name)))

    def list_types(self, entity: str, project: str) -> list[TypeInfo]:
        return [_model(TypeInfo, t) for t in self._get(f"{_project(entity, project)}/types")]

    def list_projects(self, entity: str | None, limit: int) -> list[ProjectInfo]:
        found = self._get("/projects", entity=entity, limit=limit)
        return [_model(ProjectInfo, item) for item in found]

    def record_use(self, entity: str, project: str, run_id: str, version_id: str) -> None:
        path = f"{_run_path(entity, project, run_id)}/uses"
        self._client.call("POST", path, json={"version_id": version_id}, idempotent=True)

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
        root with small blobs asked for in batches (``export_blobs``), else each file
        through the client cache (``fetch_blob``: checked as it arrives). Nothing
        is linked to a server's blob: ``link`` makes the copies read-only.

        Raises: as ``Backend.materialize``.
        """
        write_tree(
            root,
            files,
            self._fetch_placement,
            self._export,
            link=link,
            allow_missing=allow_missing,
            warn_skips=warn_skips,
            progress=progress,
        )

    def _fetch_placement(self, file: Placement, tmp: Path) -> None:
        self.fetch_blob(file.entity, BlobRef(file.digest, file.algorithm, file.size), tmp)

    def _export(
        self, items: list[tuple[Placement, Path]], on_progress: Callable[[int, int], None]
    ) -> None:
        """``export_blobs`` of the items of each entity in turn, progress counted across."""
        by_entity: dict[str, list[tuple[BlobRef, Path]]] = {}
        for file, path in items:
            blob = BlobRef(file.digest, file.algorithm, file.size)
            by_entity.setdefault(file.entity, []).append((blob, path))
        files_before = bytes_before = 0
        for entity, blobs in by_entity.items():
            self.export_blobs(entity, blobs, _offset(on_progress, files_before, bytes_before))
            files_before += len(blobs)
            bytes_before += sum(blob.size for blob, _path in blobs)

    def fetch_blob(self, entity: str, blob: BlobRef, dest: Path) -> None:
        """Write the blob to the new file ``dest`` (client cache first, else a signed URL),
        checked against its digest as it is written (``materialize`` does not read it again);
        on a mismatch ``dest`` does not exist.

        Raises: CommError (not stored), CorruptionError, FileExistsError, ValueError.
        """
        self._transfers.fetch(entity, blob, dest)

    def export_blobs(
        self,
        entity: str,
        items: Sequence[tuple[BlobRef, Path]],
        on_progress: Callable[[int, int], None] | None = None,
    ) -> None:
        """Write each blob, checked, to its new file (a download into a new folder): small
        ones in batches, large ones as ``fetch_blob`` does.

        Raises: CommError (``NotFoundError``: a blob not stored), CorruptionError,
        FileExistsError, OSError, ValueError.
        """
        self._transfers.export(entity, items, on_progress)

    # the artifact surface: edits, links, deletion, lineage, history, registries, TTL

    def edit_version(self, version_id: str, edit: VersionEdit) -> VersionInfo:
        body = dataclasses.asdict(edit)
        for key in ("aliases_to_add", "aliases_to_remove", "tags_to_add", "tags_to_remove"):
            body[key] = list(body[key])
        return _version(self._send("PATCH", f"/versions/{_seg(version_id)}", body))

    def delete_version(self, version_id: str, delete_aliases: bool) -> None:
        path = f"/versions/{_seg(version_id)}"
        self._client.call("DELETE", path, params={"delete_aliases": delete_aliases})

    def link_version(
        self, version_id: str, entity: str, project: str, collection: str, aliases: Sequence[str]
    ) -> VersionInfo:
        body = {
            "entity": entity,
            "project": project,
            "collection": collection,
            "aliases": list(aliases),
        }
        return _version(self._send("POST", f"/versions/{_seg(version_id)}/links", body))

    def unlink_version(self, version_id: str, entity: str, project: str, collection: str) -> None:
        where = "/".join(_seg(part) for part in (entity, project, collection))
        self._client.call("DELETE", f"/versions/{_seg(version_id)}/links/{where}")

    def list_links(self, version_id: str, limit: int) -> list[VersionInfo]:
        found = self._get(f"/versions/{_seg(version_id)}/links", limit=limit)
        return [_version(item) for item in found]

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
        body = {"description": description, "tags": list(tags), "name": new_name, "type": new_type}
        return _model(CollectionInfo, self._send("PATCH", _collection(entity, project, name), body))

    def delete_collection(self, entity: str, project: str, name: str) -> None:
        self._client.call("DELETE", _collection(entity, project, name))

    def lineage(self, version_id: str) -> Lineage:
        answer = self._get(f"/versions/{_seg(version_id)}/lineage")
        logged_by = answer.get("logged_by")
        return Lineage(
            logged_by=_run(logged_by) if logged_by else None,
            used_by=[_run(item) for item in answer.get("used_by", [])],
        )

    def run_versions(self, entity: str, project: str, run_id: str, used: bool) -> list[VersionInfo]:
        found = self._get(f"{_run_path(entity, project, run_id)}/versions", used=used)
        return [_version(item) for item in found]

    def log_history(
        self, entity: str, project: str, run_id: str, step: int | None, data: dict[str, Any]
    ) -> int | None:
        path = f"{_run_path(entity, project, run_id)}/history"
        answer = self._send("POST", path, {"step": step, "data": data})
        step_used: int | None = answer["step"]
        return step_used

    def read_history(
        self, entity: str, project: str, run_id: str, query: HistoryQuery | None = None
    ) -> list[dict[str, Any]]:
        query = query or HistoryQuery()
        params = {
            "keys": None if query.keys is None else list(query.keys),
            "min_step": query.min_step,
            "max_step": query.max_step,
            "limit": query.limit,
            "samples": query.samples,
        }
        path = f"{_run_path(entity, project, run_id)}/history"
        rows: list[dict[str, Any]] = self._get(path, **params)
        return rows

    def create_registry(
        self,
        organization: str | None,
        name: str,
        visibility: str,
        description: str | None,
        artifact_types: Sequence[str] | None,
    ) -> RegistryInfo:
        body = {
            "name": name,
            "visibility": visibility,
            "description": description,
            "artifact_types": None if artifact_types is None else list(artifact_types),
        }
        answer = self._send("POST", "/registries", body, organization=organization)
        return _model(RegistryInfo, answer)

    def get_registry(self, organization: str | None, name: str) -> RegistryInfo:
        answer = self._get(f"/registries/{_seg(name)}", organization=organization)
        return _model(RegistryInfo, answer)

    def list_registries(self, organization: str | None) -> list[RegistryInfo]:
        found = self._get("/registries", organization=organization)
        return [_model(RegistryInfo, item) for item in found]

    def edit_registry(
        self,
        organization: str | None,
        name: str,
        description: str | None,
        visibility: str,
        artifact_types: Sequence[str] | None,
    ) -> RegistryInfo:
        body = {
            "description": description,
            "visibility": visibility,
            "artifact_types": None if artifact_types is None else list(artifact_types),
        }
        path = f"/registries/{_seg(name)}"
        return _model(RegistryInfo, self._send("PATCH", path, body, organization=organization))

    def delete_registry(self, organization: str | None, name: str) -> None:
        path = f"/registries/{_seg(name)}"
        self._client.call("DELETE", path, params={"organization": organization})

    def set_default_ttl(self, entity: str, project: str | None, seconds: int | None) -> None:
        self._client.call("PUT", self._ttl_path(entity, project), json={"seconds": seconds})

    def get_default_ttl(self, entity: str, project: str | None) -> int | None:
        seconds: int | None = self._get(self._ttl_path(entity, project))["seconds"]
        return seconds

    @staticmethod
    def _ttl_path(entity: str, project: str | None) -> str:
        if project is None:
            return f"/entities/{_seg(entity)}/default-ttl"
        return f"{_project(entity, project)}/default-ttl"

    # replication (cairn.remote.replication)

    def store_id(self) -> str:
        return self._replication.store_id()

    def replicas(self, origin: str, entity: str, project: str) -> list[ReplicaRecord]:
        return self._replication.replicas(origin, entity, project)

    def replicate_version(
        self, request: ReplicaVersion, progress: ProgressCallback = silent
    ) -> ReplicaResult:
        return self._replication.replicate_version(request, progress)

    def replicate_run(self, run: ReplicaRun) -> RunInfo:
        return self._replication.replicate_run(run)

    def record_sent(self, peer: str, version_id: str, peer_version_id: str) -> None:
        self._replication.record_sent(peer, version_id, peer_version_id)

    def automations(self) -> AutomationsBackend:
        """Webhook integrations, automations and their deliveries on the server."""
        return RemoteAutomations(self._client)

    def close(self) -> None:
        self._transfers.close()
        self._client.close()
