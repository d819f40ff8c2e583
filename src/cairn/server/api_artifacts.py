"""REST routes of the artifact verbs: runs, versions, collections, types, lineage,
links, registries and TTL defaults. Each route authorizes, then calls one service
function; no domain rule lives here."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response

from cairn.errors import CommError
from cairn.protocol import (
    CollectionInfo,
    CommitRequest,
    Lineage,
    RegistryInfo,
    RunInfo,
    TypeInfo,
    VersionEdit,
    VersionInfo,
)
from cairn.server import wire
from cairn.server.deps import PrincipalDep, StateDep
from cairn.service import (
    collections,
    commit,
    deletion,
    edits,
    history,
    lineage,
    links,
    registries,
    runs,
    ttl,
    versions,
)
from cairn.service.authz import (
    MANAGE,
    READ,
    WRITE,
    authorize,
    authorize_registry,
    authorize_version,
    visible_registries,
)

router = APIRouter(prefix="/api/v1")
P = "/entities/{entity}/projects/{project}"


# runs


@router.post(P + "/runs", response_model=RunInfo)
def create_run(
    entity: str, project: str, body: wire.RunCreate, state: StateDep, who: PrincipalDep
) -> RunInfo:
    authorize(state.store, who, entity, WRITE, project)
    return runs.create_run(
        state.for_entity(entity),
        entity,
        project,
        body.run_id,
        body.name,
        body.job_type,
        body.config,
    )


@router.get(P + "/runs/{run_id}", response_model=RunInfo)
def get_run(entity: str, project: str, run_id: str, state: StateDep, who: PrincipalDep) -> RunInfo:
    authorize(state.store, who, entity, READ, project)
    return runs.get_run(state.for_entity(entity), entity, project, run_id)


@router.post(P + "/runs/{run_id}/finish", status_code=204)
def finish_run(
    entity: str, project: str, run_id: str, body: wire.RunFinish, state: StateDep, who: PrincipalDep
) -> Response:
    authorize(state.store, who, entity, WRITE, project)
    runs.finish_run(state.for_entity(entity), entity, project, run_id, body.exit_code)
    return Response(status_code=204)


@router.post(P + "/runs/{run_id}/uses", status_code=204)
def record_use(
    entity: str, project: str, run_id: str, body: wire.RecordUse, state: StateDep, who: PrincipalDep
) -> Response:
    authorize(state.store, who, entity, WRITE, project)
    authorize_version(state.store, who, body.version_id, READ)
    runs.record_use(state.for_entity(entity), entity, project, run_id, body.version_id)
    return Response(status_code=204)


@router.post(P + "/runs/{run_id}/history", response_model=wire.HistoryStep)
def log_history(
    entity: str,
    project: str,
    run_id: str,
    body: wire.HistoryAppend,
    state: StateDep,
    who: PrincipalDep,
) -> wire.HistoryStep:
    authorize(state.store, who, entity, WRITE, project)
    store = state.for_entity(entity)
    return wire.HistoryStep(
        step=history.log_history(store, entity, project, run_id, body.step, body.data)
    )


@router.get(P + "/runs/{run_id}/history", response_model=list[dict[str, object]])
def read_history(
    entity: str, project: str, run_id: str, state: StateDep, who: PrincipalDep
) -> list[dict[str, object]]:
    authorize(state.store, who, entity, READ, project)
    return history.read_history(state.for_entity(entity), entity, project, run_id)


@router.get(P + "/runs/{run_id}/versions", response_model=list[VersionInfo])
def run_versions(
    entity: str,
    project: str,
    run_id: str,
    state: StateDep,
    who: PrincipalDep,
    used: bool = False,
) -> list[VersionInfo]:
    authorize(state.store, who, entity, READ, project)
    return lineage.run_versions(state.for_entity(entity), entity, project, run_id, used)


# versions


@router.post(P + "/versions", response_model=wire.CommitOut)
def commit_version(
    entity: str, project: str, body: wire.Commit, state: StateDep, who: PrincipalDep
) -> wire.CommitOut:
    authorize(state.store, who, entity, WRITE, project)
    # size and file_count are counted from the manifest by the service, not taken on trust
    fields = body.model_dump(exclude={"project", "manifest_json", "size", "file_count"})
    request = CommitRequest(
        entity=entity, project=project, manifest_json=body.manifest_json.encode(), **fields
    )
    result = commit.commit_version(state.for_entity(entity), request)
    return wire.CommitOut(version=result.version, created=result.created)


@router.get(P + "/collections/{collection}/versions/{selector}", response_model=VersionInfo)
def resolve_version(
    entity: str, project: str, collection: str, selector: str, state: StateDep, who: PrincipalDep
) -> VersionInfo:
    authorize(state.store, who, entity, READ, project)
    return versions.resolve_version(state.store, entity, project, collection, selector)


@router.get(P + "/collections/{collection}/versions", response_model=wire.VersionPage)
def list_versions(
    entity: str,
    project: str,
    collection: str,
    state: StateDep,
    who: PrincipalDep,
    cursor: str | None = None,
    per_page: int = Query(50, ge=1, le=1000),
) -> wire.VersionPage:
    authorize(state.store, who, entity, READ, project)
    page = versions.list_versions(state.store, entity, project, collection, cursor, per_page)
    return wire.VersionPage(items=page.items, next_cursor=page.next_cursor, total=page.total)


@router.get("/versions/{version_id}", response_model=VersionInfo)
def get_version(version_id: str, state: StateDep, who: PrincipalDep) -> VersionInfo:
    authorize_version(state.store, who, version_id, READ)
    return versions.get_version(state.store, version_id)


@router.get(
    "/versions/{version_id}/manifest",
    response_class=Response,
    responses={200: {"content": {"application/json": {}}}},
)
def read_manifest(version_id: str, state: StateDep, who: PrincipalDep) -> Response:
    source = authorize_version(state.store, who, version_id, READ)
    data = versions.read_manifest(state.for_entity(source), version_id)
    return Response(content=data, media_type="application/json")


@router.patch("/versions/{version_id}", response_model=VersionInfo)
def edit_version(
    version_id: str, body: wire.Edit, state: StateDep, who: PrincipalDep
) -> VersionInfo:
    authorize_version(state.store, who, version_id, READ)
    authorize(state.store, who, body.entity, WRITE, body.project)
    return edits.edit_version(state.store, version_id, VersionEdit(**body.model_dump()))


@router.delete("/versions/{version_id}", status_code=204)
def delete_version(
    version_id: str, state: StateDep, who: PrincipalDep, delete_aliases: bool = False
) -> Response:
    authorize_version(state.store, who, version_id, WRITE)
    deletion.delete_version(state.store, version_id, delete_aliases)
    return Response(status_code=204)


@router.post("/versions/{version_id}/links", response_model=VersionInfo)
def link_version(
    version_id: str, body: wire.Link, state: StateDep, who: PrincipalDep
) -> VersionInfo:
    authorize_version(state.store, who, version_id, READ)
    authorize(state.store, who, body.entity, WRITE, body.project)
    return links.link_version(
        state.store, version_id, body.entity, body.project, body.collection, body.aliases
    )


@router.delete("/versions/{version_id}/links/{entity}/{project}/{collection}", status_code=204)
def unlink_version(
    version_id: str,
    entity: str,
    project: str,
    collection: str,
    state: StateDep,
    who: PrincipalDep,
) -> Response:
    authorize(state.store, who, entity, WRITE, project)
    links.unlink_version(state.store, version_id, entity, project, collection)
    return Response(status_code=204)


@router.get("/versions/{version_id}/links", response_model=list[VersionInfo])
def list_links(
    version_id: str, state: StateDep, who: PrincipalDep, limit: int = Query(100, ge=1, le=1000)
) -> list[VersionInfo]:
    authorize_version(state.store, who, version_id, READ)
    found = links.list_links(state.store, version_id, limit)
    return [v for v in found if _readable(state, who, v.entity, v.project)]


@router.get("/versions/{version_id}/lineage", response_model=Lineage)
def get_lineage(version_id: str, state: StateDep, who: PrincipalDep) -> Lineage:
    authorize_version(state.store, who, version_id, READ)
    return lineage.lineage(state.store, version_id)


# collections and types


@router.get(P + "/collections", response_model=list[CollectionInfo])
def list_collections(
    entity: str,
    project: str,
    state: StateDep,
    who: PrincipalDep,
    type: str | None = None,
) -> list[CollectionInfo]:
    authorize(state.store, who, entity, READ, project)
    return collections.list_collections(state.store, entity, project, type)


@router.get(P + "/collections/{collection}", response_model=CollectionInfo)
def get_collection(
    entity: str, project: str, collection: str, state: StateDep, who: PrincipalDep
) -> CollectionInfo:
    authorize(state.store, who, entity, READ, project)
    return collections.get_collection(state.store, entity, project, collection)


@router.patch(P + "/collections/{collection}", response_model=CollectionInfo)
def edit_collection(
    entity: str,
    project: str,
    collection: str,
    body: wire.CollectionEdit,
    state: StateDep,
    who: PrincipalDep,
) -> CollectionInfo:
    authorize(state.store, who, entity, WRITE, project)
    return edits.edit_collection(
        state.store, entity, project, collection, body.description, body.tags
    )


@router.delete(P + "/collections/{collection}", status_code=204)
def delete_collection(
    entity: str, project: str, collection: str, state: StateDep, who: PrincipalDep
) -> Response:
    authorize(state.store, who, entity, WRITE, project)
    edits.delete_collection(state.store, entity, project, collection)
    return Response(status_code=204)


@router.get(P + "/types", response_model=list[TypeInfo])
def list_types(entity: str, project: str, state: StateDep, who: PrincipalDep) -> list[TypeInfo]:
    authorize(state.store, who, entity, READ, project)
    return collections.list_types(state.store, entity, project)


# TTL defaults


@router.get("/entities/{entity}/default-ttl", response_model=wire.DefaultTtl)
def get_entity_ttl(entity: str, state: StateDep, who: PrincipalDep) -> wire.DefaultTtl:
    authorize(state.store, who, entity, READ)
    return wire.DefaultTtl(seconds=ttl.get_default_ttl(state.store, entity, None))


@router.put("/entities/{entity}/default-ttl", status_code=204)
def set_entity_ttl(
    entity: str, body: wire.DefaultTtl, state: StateDep, who: PrincipalDep
) -> Response:
    authorize(state.store, who, entity, WRITE)
    ttl.set_default_ttl(state.store, entity, None, body.seconds)
    return Response(status_code=204)


@router.get(P + "/default-ttl", response_model=wire.DefaultTtl)
def get_project_ttl(
    entity: str, project: str, state: StateDep, who: PrincipalDep
) -> wire.DefaultTtl:
    authorize(state.store, who, entity, READ, project)
    return wire.DefaultTtl(seconds=ttl.get_default_ttl(state.store, entity, project))


@router.put(P + "/default-ttl", status_code=204)
def set_project_ttl(
    entity: str, project: str, body: wire.DefaultTtl, state: StateDep, who: PrincipalDep
) -> Response:
    authorize(state.store, who, entity, WRITE, project)
    ttl.set_default_ttl(state.store, entity, project, body.seconds)
    return Response(status_code=204)


# registries


@router.get("/registries", response_model=list[RegistryInfo])
def list_registries(
    state: StateDep, who: PrincipalDep, organization: str | None = None
) -> list[RegistryInfo]:
    found = registries.list_registries(state.store, organization)
    return visible_registries(state.store, who, found)


@router.post("/registries", response_model=RegistryInfo)
def create_registry(
    body: wire.RegistryCreate, state: StateDep, who: PrincipalDep, organization: str | None = None
) -> RegistryInfo:
    authorize(state.store, who, state.config.organization, MANAGE)
    return registries.create_registry(
        state.store, organization, body.name, body.visibility, body.description, body.artifact_types
    )


@router.get("/registries/{name}", response_model=RegistryInfo)
def get_registry(
    name: str, state: StateDep, who: PrincipalDep, organization: str | None = None
) -> RegistryInfo:
    authorize_registry(state.store, who, name, READ)
    return registries.get_registry(state.store, organization, name)


@router.patch("/registries/{name}", response_model=RegistryInfo)
def edit_registry(
    name: str,
    body: wire.RegistryEdit,
    state: StateDep,
    who: PrincipalDep,
    organization: str | None = None,
) -> RegistryInfo:
    authorize_registry(state.store, who, name, MANAGE)
    return registries.edit_registry(
        state.store, organization, name, body.description, body.visibility, body.artifact_types
    )


@router.delete("/registries/{name}", status_code=204)
def delete_registry(
    name: str, state: StateDep, who: PrincipalDep, organization: str | None = None
) -> Response:
    authorize_registry(state.store, who, name, MANAGE)
    registries.delete_registry(state.store, organization, name)
    return Response(status_code=204)


def _readable(state: StateDep, who: PrincipalDep, entity: str, project: str) -> bool:
    try:
        authorize(state.store, who, entity, READ, project)
    except CommError:
        return False
    return True
