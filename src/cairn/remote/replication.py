"""The client side of replication over the REST API (``RemoteBackend``'s replication
verbs): sync records, copies of runs and versions. A version's blobs go first, through the
same planning as a log (which blobs the server lacks, small ones in batches, large ones
to signed URLs: ``remote.transfer``), fetched from the source only when the server lacks
them; then one call copies the version."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from cairn.progress import ProgressCallback, TaskCounter, silent
from cairn.protocol import (
    AliasConflict,
    ReplicaRecord,
    ReplicaResult,
    ReplicaRun,
    ReplicaVersion,
    RunInfo,
    VersionInfo,
)

if TYPE_CHECKING:
    from cairn.remote.http import ApiClient
    from cairn.remote.transfer import Transfers


def _seg(name: str) -> str:
    return quote(name, safe="")


def _model(cls: type[Any], data: dict[str, Any]) -> Any:
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})


def _project(entity: str, project: str) -> str:
    return f"/entities/{_seg(entity)}/projects/{_seg(project)}"


class RemoteReplication:
    """Replication verbs over ``client``; blobs through ``transfers``."""

    def __init__(self, client: ApiClient, transfers: Transfers) -> None:
        self._client = client
        self._transfers = transfers

    def store_id(self) -> str:
        return str(self._client.call("GET", "/store").json()["id"])

    def replicas(self, origin: str, entity: str, project: str) -> list[ReplicaRecord]:
        path = f"{_project(entity, project)}/replicas"
        found = self._client.call("GET", path, params={"origin": origin}).json()
        return [
            ReplicaRecord(item["origin"], item["source_id"], _model(VersionInfo, item["version"]))
            for item in found
        ]

    def replicate_version(
        self, request: ReplicaVersion, progress: ProgressCallback = silent
    ) -> ReplicaResult:
        """Upload the blobs the server lacks (fetched from the source), then copy.

        Raises: as ``Backend.replicate_version``; CorruptionError, OSError for a blob.
        """
        commit = request.commit
        uploads = request.uploads(self._transfers.missing(commit.entity, request.blobs()))
        if uploads:
            counter = TaskCounter(
                "Uploading", progress, len(uploads), sum(b.size for b, _ in uploads)
            )
            self._transfers.upload_many(
                commit.entity,
                uploads,
                lambda done: counter.add(len(done), sum(b.size for b in done)),
            )
            counter.finish()
        body = {
            "collection": commit.collection,
            "project": commit.project,
            "type": commit.type,
            "digest": commit.digest,
            "digest_algorithm": commit.digest_algorithm,
            "manifest_json": commit.manifest_bytes().decode("utf-8"),
            "description": commit.description,
            "metadata": commit.metadata,
            "aliases": list(request.aliases),
            "tags": list(commit.tags),
            "run_id": commit.run_id,
            "history_step": commit.history_step,
            "ttl_duration_seconds": commit.ttl_duration_seconds,
            "origin": request.origin,
            "source_id": request.source_id,
            "created_at": request.created_at,
            "used_by": [{"entity": e, "project": p, "run_id": r} for e, p, r in request.used_by],
            "links": [dataclasses.asdict(link) for link in request.links],
            "force_aliases": request.force_aliases,
        }
        path = f"{_project(commit.entity, commit.project)}/replicas"
        answer = self._client.call("POST", path, json=body).json()
        self._transfers.release(commit.manifest_bytes())
        return ReplicaResult(
            version=_model(VersionInfo, answer["version"]),
            created=bool(answer["created"]),
            aliases_moved=list(answer["aliases_moved"]),
            conflicts=[_model(AliasConflict, item) for item in answer["conflicts"]],
            blobs_sent=len(uploads),
            bytes_sent=sum(b.size for b, _ in uploads),
        )

    def replicate_run(self, run: ReplicaRun) -> RunInfo:
        path = f"{_project(run.entity, run.project)}/runs/{_seg(run.run_id)}/replica"
        body = {
            "name": run.name,
            "job_type": run.job_type,
            "group": run.group,
            "config": run.config,
            "summary": run.summary,
            "state": run.state,
            "history": list(run.history),
        }
        answer: RunInfo = _model(RunInfo, self._client.call("PUT", path, json=body).json())
        return answer

    def record_sent(self, peer: str, version_id: str, peer_version_id: str) -> None:
        body = {"peer": peer, "peer_version_id": peer_version_id}
        self._client.call("POST", f"/versions/{_seg(version_id)}/sent", json=body)
