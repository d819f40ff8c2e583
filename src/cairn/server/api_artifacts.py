"""REST routes of the artifact verbs: runs, versions, collections, types, lineage,
links, registries and TTL defaults. Each route translates one request into one service
call with its caller; the service checks what the caller may do (``cairn.service``), and
no domain rule or permission lives here."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from cairn.protocol import (
    CollectionInfo,
    CommitRequest,
    HistoryQuery,
    Lineage,
    ProjectInfo,
    RegistryInfo,
    RunEdit,
    RunInfo,
    TypeInfo,
    VersionEdit,
    VersionInfo,
)
from cairn.server import wire
from cairn.server.deps import CallerDep, StateDep
from cairn.server.strict_json import StrictJsonRoute
from cairn.service import (
    collections,
    commit,
    deletion,
    distributed,
    edits,
    history,
    lineage,
    links,
    projects,
    registries,
    run_filters,
    runs,
    ttl,
    versions,
)
from cairn.service.browse import MAX_PAGE

router = APIRouter(prefix="/api/v1", route_class=StrictJsonRoute)
P = "/entities/{entity}/projects/{project}"


# runs


@router.post(P + "/runs", response_model=RunInfo)
def create_run(
    entity: str, project: str, body: wire.RunCreate, state: StateDep, who: CallerDep
) -> RunInfo:
    return runs.create_run(
        state.store,
        who,
        entity,
        project,
        body.run_id,
        body.name,
        body.job_type,
        body.config,
        body.group,
    )


@router.get(P + "/runs", response_model=wire.RunPage)
def list_runs(
    entity: str,
    project: str,
    state: StateDep,
    who: CallerDep,
    order: str = "+created_at",
    cursor: str | None = None,
    per_page: int = Query(50, ge=1, le=1000),
    filters: str | None = Query(
        None,
        description="W&B's run filter, a JSON object (MongoDB-style: "
        '`{"state": "finished", "config.lr": {"$gt": 0.01}}`); the page, cursor and total '
        "count only the runs that meet it",
    ),
) -> wire.RunPage:
    """The project's runs, a page at a time, in ``order``, those meeting ``filters``.

    Errors: 400 invalid_argument (an unknown order, a cursor not returned here, a filter
    that is not JSON or that the service refuses), 401, 404 (no such project for the
    caller).
    """
    query = run_filters.loads_filter(filters, state.store.limits)
    page = runs.list_runs(state.store, who, entity, project, order, cursor, per_page, query)
    return wire.RunPage(items=page.items, next_cursor=page.next_cursor, total=page.total)


@router.get(P + "/runs/{run_id}", response_model=RunInfo)
def get_run(entity: str, project: str, run_id: str, state: StateDep, who: CallerDep) -> RunInfo:
    return runs.get_run(state.store, who, entity, project, run_id)


@router.patch(P + "/runs/{run_id}", response_model=RunInfo)
def edit_run(
    entity: str, project: str, run_id: str, body: wire.RunEditBody, state: StateDep, who: CallerDep
) -> RunInfo:
    edit = RunEdit(**body.model_dump())
    return runs.edit_run(state.store, who, entity, project, run_id, edit)


@router.post(P + "/runs/{run_id}/finish", status_code=204)
def finish_run(
    entity: str, project: str, run_id: str, body: wire.RunFinish, state: StateDep, who: CallerDep
) -> Response:
    runs.finish_run(state.store, who, entity, project, run_id, body.exit_code)
    return Response(status_code=204)


@router.post(P + "/runs/{run_id}/uses", status_code=204)
def record_use(
    entity: str, project: str, run_id: str, body: wire.RecordUse, state: StateDep, who: CallerDep
) -> Response:
    runs.record_use(state.store, who, entity, project, run_id, body.version_id)
    return Response(status_code=204)


@router.post(P + "/runs/{run_id}/history", response_model=wire.HistoryStep)
def log_history(
    entity: str,
    project: str,
    run_id: str,
    body: wire.HistoryAppend,
    state: StateDep,
    who: CallerDep,
) -> wire.HistoryStep:
    step = history.log_history(state.store, who, entity, project, run_id, body.step, body.data)
    return wire.HistoryStep(step=step)


@router.get(P + "/runs/{run_id}/history", response_model=list[dict[str, object]])
def read_history(
    entity: str,
    project: str,
    run_id: str,
    state: StateDep,
    who: CallerDep,
    keys: Annotated[list[str] | None, Query()] = None,
    min_step: int = Query(0, ge=0),
    max_step: int | None = Query(None, ge=0),
    limit: int | None = Query(None, ge=1),
    samples: int | None = Query(None, ge=1),
) -> list[dict[str, object]]:
    query = HistoryQuery(keys, min_step, max_step, limit, samples)
    return history.read_history(state.store, who, entity, project, run_id, query)


@router.get(P + "/runs/{run_id}/versions", response_model=list[VersionInfo])
def run_versions(
    entity: str,
    project: str,
    run_id: str,
    state: StateDep,
    who: CallerDep,
    used: bool = False,
) -> list[VersionInfo]:
    return lineage.run_versions(state.store, who, entity, project, run_id, used)


# versions


@router.post(P + "/versions", response_model=wire.CommitOut)
def commit_version(
    entity: str, project: str, body: wire.Commit, state: StateDep, who: CallerDep
) -> wire.CommitOut:
    # size and file_count are counted from the manifest by the service, not taken on trust
    fields = body.model_dump(exclude={"project", "manifest_json", "size", "file_count"})
    request = CommitRequest(
        entity=entity, project=project, manifest_json=body.manifest_json.encode(), **fields
    )
    result = commit.commit_version(state.store, who, request)
    return wire.CommitOut(version=result.version, created=result.created)


@router.post(P + "/versions/parts", status_code=204)
def add_version_part(
    entity: str, project: str, body: wire.Commit, state: StateDep, who: CallerDep
) -> None:
    """Add a part to the version several runs write under ``body.distributed_id``; a
    commit (``POST .../versions``) with that id finishes it."""
    fields = body.model_dump(exclude={"project", "manifest_json", "size", "file_count"})
    request = CommitRequest(
        entity=entity, project=project, manifest_json=body.manifest_json.encode(), **fields
    )
    distributed.add_part(state.store, who, request)


@router.get(P + "/collections/{collection}/versions/{selector}", response_model=VersionInfo)
def resolve_version(
    entity: str, project: str, collection: str, selector: str, state: StateDep, who: CallerDep
) -> VersionInfo:
    return versions.resolve_version(state.store, who, entity, project, collection, selector)


@router.get(P + "/collections/{collection}/versions", response_model=wire.VersionPage)
def list_versions(
    entity: str,
    project: str,
    collection: str,
    state: StateDep,
    who: CallerDep,
    cursor: str | None = None,
    per_page: int = Query(50, ge=1, le=1000),
) -> wire.VersionPage:
    page = versions.list_versions(state.store, who, entity, project, collection, cursor, per_page)
    return wire.VersionPage(items=page.items, next_cursor=page.next_cursor, total=page.total)


@router.get("/versions/{version_id}", response_model=VersionInfo)
def get_version(version_id: str, state: StateDep, who: CallerDep) -> VersionInfo:
    return versions.get_version(state.store, who, version_id)


@router.get(
    "/versions/{version_id}/manifest",
    response_class=Response,
    responses={200: {"content": {"application/json": {}}}},
)
def read_manifest(version_id: str, state: StateDep, who: CallerDep) -> Response:
    data = versions.read_manifest(state.store, who, version_id)
    return Response(content=data, media_type="application/json")


@router.patch("/versions/{version_id}", response_model=VersionInfo)
def edit_version(version_id: str, body: wire.Edit, state: StateDep, who: CallerDep) -> VersionInfo:
    return edits.edit_version(state.store, who, version_id, VersionEdit(**body.model_dump()))


@router.delete("/versions/{version_id}", status_code=204)
def delete_version(
    version_id: str, state: StateDep, who: CallerDep, delete_aliases: bool = False
) -> Response:
    deletion.delete_version(state.store, who, version_id, delete_aliases)
    return Response(status_code=204)


@router.post("/versions/{version_id}/links", response_model=VersionInfo)
def link_version(version_id: str, body: wire.Link, state: StateDep, who: CallerDep) -> VersionInfo:
    return links.link_version(
        state.store, who, version_id, body.entity, body.project, body.collection, body.aliases
    )


@router.delete("/versions/{version_id}/links/{entity}/{project}/{collection}", status_code=204)
def unlink_version(
    version_id: str,
    entity: str,
    project: str,
    collection: str,
    state: StateDep,
    who: CallerDep,
) -> Response:
    links.unlink_version(state.store, who, version_id, entity, project, collection)
    return Response(status_code=204)


@router.get("/versions/{version_id}/links", response_model=list[VersionInfo])
def list_links(
    version_id: str, state: StateDep, who: CallerDep, limit: int = Query(100, ge=1, le=1000)
) -> list[VersionInfo]:
    return links.list_links(state.store, who, version_id, limit)


@router.get("/versions/{version_id}/lineage", response_model=Lineage)
def get_lineage(version_id: str, state: StateDep, who: CallerDep) -> Lineage:
    return lineage.lineage(state.store, who, version_id)


# collections and types


@router.get(P + "/collections", response_model=list[CollectionInfo])
def list_collections(
    entity: str,
    project: str,
    state: StateDep,
    who: CallerDep,
    type: str | None = None,
) -> list[CollectionInfo]:
    return collections.list_collections(state.store, who, entity, project, type)


@router.get(P + "/collections/{collection}", response_model=CollectionInfo)
def get_collection(
    entity: str, project: str, collection: str, state: StateDep, who: CallerDep
) -> CollectionInfo:
    return collections.get_collection(state.store, who, entity, project, collection)


@router.patch(P + "/collections/{collection}", response_model=CollectionInfo)
def edit_collection(
    entity: str,
    project: str,
    collection: str,
    body: wire.CollectionEdit,
    state: StateDep,
    who: CallerDep,
) -> CollectionInfo:
    return edits.edit_collection(
        state.store,
        who,
        entity,
        project,
        collection,
        body.description,
        body.tags,
        body.name,
        body.type,
    )


@router.delete(P + "/collections/{collection}", status_code=204)
def delete_collection(
    entity: str, project: str, collection: str, state: StateDep, who: CallerDep
) -> Response:
    edits.delete_collection(state.store, who, entity, project, collection)
    return Response(status_code=204)


@router.get("/projects", response_model=list[ProjectInfo])
def list_projects(
    state: StateDep, who: CallerDep, entity: str | None = None, limit: int = MAX_PAGE
) -> list[ProjectInfo]:
    return projects.project_infos(state.store, who, entity, limit)


@router.get(P + "/types", response_model=list[TypeInfo])
def list_types(entity: str, project: str, state: StateDep, who: CallerDep) -> list[TypeInfo]:
    return collections.list_types(state.store, who, entity, project)


# TTL defaults


@router.get("/entities/{entity}/default-ttl", response_model=wire.DefaultTtl)
def get_entity_ttl(entity: str, state: StateDep, who: CallerDep) -> wire.DefaultTtl:
    return wire.DefaultTtl(seconds=ttl.get_default_ttl(state.store, who, entity, None))


@router.put("/entities/{entity}/default-ttl", status_code=204)
def set_entity_ttl(entity: str, body: wire.DefaultTtl, state: StateDep, who: CallerDep) -> Response:
    ttl.set_default_ttl(state.store, who, entity, None, body.seconds)
    return Response(status_code=204)


@router.get(P + "/default-ttl", response_model=wire.DefaultTtl)
def get_project_ttl(entity: str, project: str, state: StateDep, who: CallerDep) -> wire.DefaultTtl:
    return wire.DefaultTtl(seconds=ttl.get_default_ttl(state.store, who, entity, project))


@router.put(P + "/default-ttl", status_code=204)
def set_project_ttl(
    entity: str, project: str, body: wire.DefaultTtl, state: StateDep, who: CallerDep
) -> Response:
    ttl.set_default_ttl(state.store, who, entity, project, body.seconds)
    return Response(status_code=204)


# registries


@router.get("/registries", response_model=list[RegistryInfo])
def list_registries(
    state: StateDep, who: CallerDep, organization: str | None = None
) -> list[RegistryInfo]:
    return registries.list_registries(state.store, who, organization)


@router.post("/registries", response_model=RegistryInfo)
def create_registry(
    body: wire.RegistryCreate, state: StateDep, who: CallerDep, organization: str | None = None
) -> RegistryInfo:
    return registries.create_registry(
        state.store,
        who,
        organization,
        body.name,
        body.visibility,
        body.description,
        body.artifact_types,
    )


@router.get("/registries/{name}", response_model=RegistryInfo)
def get_registry(
    name: str, state: StateDep, who: CallerDep, organization: str | None = None
) -> RegistryInfo:
    return registries.get_registry(state.store, who, organization, name)


@router.patch("/registries/{name}", response_model=RegistryInfo)
def edit_registry(
    name: str,
    body: wire.RegistryEdit,
    state: StateDep,
    who: CallerDep,
    organization: str | None = None,
) -> RegistryInfo:
    return registries.edit_registry(
        state.store, who, organization, name, body.description, body.visibility, body.artifact_types
    )


@router.delete("/registries/{name}", status_code=204)
def delete_registry(
    name: str, state: StateDep, who: CallerDep, organization: str | None = None
) -> Response:
    registries.delete_registry(state.store, who, organization, name)
    return Response(status_code=204)
