"""REST routes of replication (``cairn sync``, ``cairn mirror``, imports): the server's store
id, its sync records, and copies of versions and runs from another store. Each route is
one ``service.replication`` call with its caller; the copy's rules and permissions are the
service's. Bytes never pass here: the client uploads the blobs the server lacks first,
through the same planning as a log (``/blobs``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from cairn.protocol import (
    CommitRequest,
    ReplicaLink,
    ReplicaRecord,
    ReplicaResult,
    ReplicaRun,
    ReplicaVersion,
    RunInfo,
)
from cairn.server import wire
from cairn.server.deps import CallerDep, StateDep
from cairn.server.strict_json import StrictJsonRoute
from cairn.service import replication

router = APIRouter(prefix="/api/v1", route_class=StrictJsonRoute)
P = "/entities/{entity}/projects/{project}"
ID = Field(min_length=1, max_length=128)


class StoreId(BaseModel):
    id: str


class LinkBody(wire.Body):
    registry: str = wire.NAME
    collection: str = wire.NAME
    aliases: list[str] = Field(default_factory=list)


class RunRefBody(wire.Body):
    entity: str = wire.NAME
    project: str = wire.NAME
    run_id: str = wire.NAME


class ReplicaBody(wire.Commit):
    """A commit (``POST .../versions``'s body) and what a copy adds to it."""

    origin: str = ID
    source_id: str = ID
    created_at: str = Field(min_length=1, max_length=64)
    used_by: list[RunRefBody] = Field(default_factory=list)
    links: list[LinkBody] = Field(default_factory=list)
    force_aliases: bool = False


class ReplicaRunBody(wire.Body):
    name: str = wire.NAME
    job_type: str | None = None
    group: str | None = None
    config: dict[str, Any] = Field(default_factory=dict)
    summary: dict[str, Any] = Field(default_factory=dict)
    state: str = Field(min_length=1, max_length=16)
    history: list[dict[str, Any]] = Field(default_factory=list)


class SentBody(wire.Body):
    peer: str = ID
    peer_version_id: str = ID


@router.get("/store", response_model=StoreId)
def store_id(state: StateDep, who: CallerDep) -> StoreId:
    """The server store's stable id (the origin of versions copied from it)."""
    return StoreId(id=replication.store_id(state.store))


@router.get(P + "/replicas", response_model=list[ReplicaRecord])
def replicas(
    entity: str, project: str, origin: str, state: StateDep, who: CallerDep
) -> list[ReplicaRecord]:
    """The project's versions copied from ``origin``. Errors: 401, 404."""
    return replication.replicas(state.store, who, origin, entity, project)


@router.post(P + "/replicas", response_model=ReplicaResult)
def replicate_version(
    entity: str, project: str, body: ReplicaBody, state: StateDep, who: CallerDep
) -> ReplicaResult:
    """Copy one version (its blobs uploaded first). Errors: 400 invalid_argument, 401,
    403, 404 (a registry or run it names does not exist here), 409."""
    extra = {"origin", "source_id", "created_at", "used_by", "links", "force_aliases"}
    fields = body.model_dump(
        exclude={"project", "manifest_json", "size", "file_count", "aliases", *extra}
    )
    commit = CommitRequest(
        entity=entity, project=project, manifest_json=body.manifest_json.encode(), **fields
    )
    request = ReplicaVersion(
        commit=commit,
        origin=body.origin,
        source_id=body.source_id,
        created_at=body.created_at,
        aliases=body.aliases,
        used_by=[(r.entity, r.project, r.run_id) for r in body.used_by],
        links=[ReplicaLink(link.registry, link.collection, link.aliases) for link in body.links],
        force_aliases=body.force_aliases,
    )
    return replication.replicate_version(state.store, who, request)


@router.put(P + "/runs/{run_id}/replica", response_model=RunInfo)
def replicate_run(
    entity: str, project: str, run_id: str, body: ReplicaRunBody, state: StateDep, who: CallerDep
) -> RunInfo:
    """Copy one run (created if missing, config, summary, new history rows, state)."""
    run = ReplicaRun(entity=entity, project=project, run_id=run_id, **body.model_dump())
    return replication.replicate_run(state.store, who, run)


@router.post("/versions/{version_id}/sent", status_code=204)
def record_sent(version_id: str, body: SentBody, state: StateDep, who: CallerDep) -> Response:
    """Keep the record that this version was copied to ``peer``."""
    replication.record_sent(state.store, who, body.peer, version_id, body.peer_version_id)
    return Response(status_code=204)
