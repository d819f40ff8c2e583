"""Cairn's wire models (``cairn.protocol``) as the GraphQL objects the wandb client reads.

Objects are dicts; a callable value is a field with arguments, resolved only when the
client selects it. Every such field reads through a ``cairn.service`` call made for the
request's caller, so an object reached at any depth is one the caller may read; what it
may not is null, or left out of a list (``context.or_none``). Collections answer
``__typename`` ``ArtifactSequence`` (where versions are born) or ``ArtifactPortfolio``
(registry collections they are linked into): the client tells source artifacts from
links by it. A linked version names its source (``artifactSequence``), as W&B shows it,
but nothing of the source's project can be read through it by whoever may not read that
project. File URLs are signed for the one version they belong to (``cairn.server.signing``
or the object store's presigned URLs).
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import TYPE_CHECKING, Any

from cairn.core.digest import b64
from cairn.core.manifest import Manifest
from cairn.core.run_values import from_stored
from cairn.core.ttl import ttl_to_wire
from cairn.server import signing
from cairn.server.wandb_compat import registries, run_lists
from cairn.server.wandb_compat.context import Ctx, Info, gid, obj, or_none, page
from cairn.server.wandb_compat.run_fields import history_fields
from cairn.service import blob_access, collections, lineage, links, rights, runs, versions
from cairn.service.fields import bounded
from cairn.service.registries import scope

if TYPE_CHECKING:
    from collections.abc import Callable

    from cairn.protocol import CollectionInfo, RunInfo, TypeInfo, VersionInfo
    from cairn.service.blob_access import BlobGrant

MANIFEST_ALGORITHM = "md5"


def _empty_connection() -> dict[str, Any]:
    return {"totalCount": 0, "pageInfo": {"endCursor": None, "hasNextPage": False}, "edges": []}


def signed_get(ctx: Ctx, grant: BlobGrant, digest: str, algorithm: str, size: int) -> str:
    """A download URL of one blob of the granted version (presigned by the object store,
    or signed here for the key and version, checked again when it is used)."""
    ttl = ctx.state.config.url_ttl_seconds
    presigned = grant.server.download_url(grant.entity, digest, algorithm, size, ttl)
    if presigned is not None:
        return presigned.url
    url, _exp = signing.sign(
        ctx.state.config.secret,
        ctx.base_url,
        "get",
        grant.entity,
        algorithm,
        digest,
        size,
        ttl,
        grant.key_id,
        grant.version_id,
    )
    return url


def collection_id(typename: str, entity: str, project: str, name: str) -> str:
    """The id of a collection: the same whichever query reaches it (``unlinkArtifact``
    names a portfolio by it)."""
    return gid(typename, f"{entity}/{project}/{name}")


def collection_by_id(ctx: Ctx, value: str) -> CollectionInfo | None:
    """The collection an id names (its own id, or ``collection_id``'s), if the caller may
    read it."""
    parsed = parse_collection_id(value)
    if parsed is None:
        return or_none(lambda: collections.get_collection_by_id(ctx.store, ctx.caller, value))
    _kind, entity, project, name = parsed
    return or_none(lambda: collections.get_collection(ctx.store, ctx.caller, entity, project, name))


def parse_collection_id(value: str) -> tuple[str, str, str, str] | None:
    """``(typename, entity, project, name)`` of a ``collection_id``; None for anything else."""
    try:
        kind, _, path = base64.b64decode(value, validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    entity, _, rest = path.partition("/")
    project, _, name = rest.partition("/")
    if kind not in ("ArtifactSequence", "ArtifactPortfolio") or not (entity and project and name):
        return None
    return kind, entity, project, name


def entity_obj(ctx: Ctx, name: str) -> dict[str, Any] | None:
    """The entity ``name`` if the caller may read it (its own, its teams', the
    organization's), else None."""
    if not rights.may_read(ctx.store, ctx.caller, name):
        return None
    org = org_obj(ctx)
    return obj(
        "Entity",
        id=gid("Entity", name),
        name=name,
        isTeam=name == ctx.store.organization,
        entityType="organization" if name == ctx.store.organization else "user",
        organization=org,
        user=obj("User", id=gid("User", name), name=name, organizations=[org]),
        xxhashDigestsEnabled=False,
        projects=registries.projects(ctx, name, org),
        project=registries.project(ctx, name, org),
    )


def org_obj(ctx: Ctx) -> dict[str, Any]:
    """The server's one organization; its entity (same name) holds the registries."""
    name = ctx.store.organization
    return obj(
        "Organization",
        id=gid("Organization", name),
        name=name,
        orgEntity=lambda _info: entity_obj(ctx, name),
        coreWeaveOrganizationId=None,
    )


def run_obj(ctx: Ctx, run: RunInfo) -> dict[str, Any]:
    """A run the caller could read (``run`` came from a service call made for it)."""

    def artifacts(used: bool) -> Any:
        def resolve(_info: Info, after: str | None = None, first: int | None = None) -> Any:
            found = or_none(
                lambda: lineage.run_versions(
                    ctx.store, ctx.caller, run.entity, run.project, run.id, used
                )
            )
            return versioned_connection(ctx, found or [], after, first)

        return resolve

    return obj(
        "Run",
        id=gid("Run", f"{run.entity}/{run.project}/{run.id}"),
        projectId=run.project_internal_id,
        name=run.id,
        displayName=run.name,
        description=None,
        notes=None,
        group=run.group,
        jobType=run.job_type,
        commit=None,
        state=run.state,
        readOnly=lambda _info: not rights.may_write(ctx.store, ctx.caller, run.entity, run.project),
        createdAt=run.created_at,
        heartbeatAt=run.finished_at or run.created_at,
        config=json.dumps({k: {"value": from_stored(v)} for k, v in run.config.items()}),
        systemMetrics="{}",
        sweepName=None,
        tags=[],
        # who created it, or an unnamed user where that is not known (runs made before
        # Cairn recorded it): the client reads a user object from every run
        user=obj(
            "User",
            id=gid("User", run.created_by or ""),
            name=run.created_by,
            username=run.created_by,
            organizations=lambda _info: [org_obj(ctx)],  # every user is the server's
        ),
        project=lambda _info: readable_project(ctx, run.entity, run.project),
        logLineCount=0,
        eventsLineCount=0,
        eventsTail="[]",
        events=lambda _info, samples=None: [],
        stopped=False,
        outputArtifacts=artifacts(False),
        inputArtifacts=artifacts(True),
        **history_fields(ctx, run),
    )


def _is_portfolio(v: VersionInfo) -> bool:
    return (v.entity, v.project, v.collection) != (
        v.source_entity,
        v.source_project,
        v.source_collection,
    )


def _details(
    ctx: Ctx, entity: str, project: str, name: str, known: CollectionInfo | None
) -> Callable[[], CollectionInfo | None]:
    """The collection's details, read (once) only when a field needs them."""
    found: list[CollectionInfo | None] = [known] if known is not None else []

    def read() -> CollectionInfo | None:
        if not found:
            found.append(
                or_none(
                    lambda: collections.get_collection(ctx.store, ctx.caller, entity, project, name)
                )
            )
        return found[0]

    return read


def info_obj(ctx: Ctx, info: CollectionInfo) -> dict[str, Any]:
    """The collection object of a ``CollectionInfo``."""
    return collection_obj(ctx, info.entity, info.project, info.name, not info.is_sequence, info)


def collection_obj(
    ctx: Ctx, entity: str, project: str, name: str, portfolio: bool, info: CollectionInfo | None
) -> dict[str, Any]:
    """An ArtifactSequence or ArtifactPortfolio; its details and contents are read for
    the caller when selected (nothing of it, for a caller who may not read it)."""
    details = _details(ctx, entity, project, name, info)

    def membership(_info: Info, aliasName: str | None = None) -> Any:
        return membership_by_name(ctx, entity, project, f"{name}:{aliasName or 'latest'}")

    def artifacts(
        _info: Info,
        after: str | None = None,
        first: int | None = None,
        order: str | None = None,
        filters: str | None = None,
    ) -> Any:
        found = or_none(
            lambda: versions.list_versions(
                ctx.store, ctx.caller, entity, project, name, after, first or 50
            )
        )
        if found is None:
            return _empty_connection()
        return {
            "totalCount": found.total,
            "pageInfo": {
                "endCursor": found.next_cursor,
                "hasNextPage": found.next_cursor is not None,
            },
            "edges": [
                {"version": f"v{v.version_index}", "node": artifact_obj(ctx, v)}
                for v in found.items
            ],
        }

    def aliases(_info: Info, after: str | None = None, first: int | None = None) -> Any:
        known = details()
        names = known.aliases if known is not None else []
        chunk, page_info = page(names, after, first, ctx.max_page)
        return {
            "pageInfo": page_info,
            "edges": [{"node": alias_obj(entity, project, name, a, None)} for a in chunk],
        }

    def field(read: Callable[[CollectionInfo], Any]) -> Callable[[Info], Any]:
        def resolve(_info: Info) -> Any:
            known = details()
            return None if known is None else read(known)

        return resolve

    typename = "ArtifactPortfolio" if portfolio else "ArtifactSequence"

    def stable_id(_info: Info) -> str:
        # the collection's own id (it survives a rename), when the caller may read it
        known = details()
        return known.id if known is not None else collection_id(typename, entity, project, name)

    fields: dict[str, Any] = {
        "id": stable_id,
        "name": name,
        "description": field(lambda c: c.description),
        "createdAt": field(lambda c: c.created_at),
        "updatedAt": field(lambda c: c.created_at),
        "state": "READY",
        "project": lambda _info: readable_project(ctx, entity, project),
        "defaultArtifactType": field(
            lambda c: obj("ArtifactType", id=gid("ArtifactType", c.type), name=c.type)
        ),
        "tags": lambda _info: {
            "edges": [{"node": tag_obj(t)} for t in (getattr(details(), "tags", None) or [])]
        },
        "aliases": aliases,
        "artifacts": artifacts,
        "artifactMembership": membership,
    }
    if not portfolio:
        fields["latestArtifact"] = lambda _info: _latest(ctx, entity, project, name)
    return obj(typename, **fields)


def _latest(ctx: Ctx, entity: str, project: str, name: str) -> Any:
    found = or_none(
        lambda: versions.resolve_version(ctx.store, ctx.caller, entity, project, name, "latest")
    )
    return None if found is None else artifact_obj(ctx, found)


def tag_obj(name: str) -> dict[str, Any]:
    return obj("Tag", id=gid("Tag", name), name=name)


def alias_obj(
    entity: str, project: str, collection: str, alias: str, coll: dict[str, Any] | None
) -> dict[str, Any]:
    return obj(
        "ArtifactAlias",
        id=gid("ArtifactAlias", f"{entity}/{project}/{collection}:{alias}"),
        alias=alias,
        artifactCollection=coll,
    )


def _collection_of(ctx: Ctx, v: VersionInfo) -> dict[str, Any]:
    portfolio = _is_portfolio(v)
    return collection_obj(ctx, v.entity, v.project, v.collection, portfolio, None)


def artifact_obj(ctx: Ctx, v: VersionInfo) -> dict[str, Any]:
    """An Artifact (the ArtifactFragment the client validates, plus lazy extras); ``v``
    came from a service call made for the caller."""
    source = collection_obj(
        ctx, v.source_entity, v.source_project, v.source_collection, False, None
    )
    coll = _collection_of(ctx, v)

    def memberships(_info: Info, after: str | None = None, first: int | None = None) -> Any:
        found = or_none(lambda: links.list_links(ctx.store, ctx.caller, v.id)) or []
        chunk, _page_info = page(found, after, first, ctx.max_page)
        return {"edges": [{"node": membership_obj(ctx, link)} for link in chunk]}

    def used_by(_info: Info, after: str | None = None, first: int | None = None) -> Any:
        found = or_none(lambda: lineage.lineage(ctx.store, ctx.caller, v.id))
        chunk, page_info = page([] if found is None else found.used_by, after, first, ctx.max_page)
        return {"pageInfo": page_info, "edges": [{"node": run_obj(ctx, run)} for run in chunk]}

    return obj(
        "Artifact",
        id=v.id,
        artifactSequence=source,
        versionIndex=v.source_version_index,
        artifactType=obj("ArtifactType", id=gid("ArtifactType", v.type), name=v.type),
        description=v.description,
        metadata=json.dumps(v.metadata),
        ttlDurationSeconds=ttl_to_wire(v.ttl_duration_seconds, v.ttl_is_inherited),
        ttlIsInherited=v.ttl_is_inherited,
        tags=[tag_obj(t) for t in v.tags],
        historyStep=v.history_step,
        state=v.state,
        size=v.size,
        digest=v.digest,
        digestAlgorithm="MANIFEST_XXH128"
        if v.digest_algorithm.upper() == "XXH128"
        else "MANIFEST_MD5",
        commitHash=v.commit_hash,
        fileCount=v.file_count,
        createdAt=v.created_at,
        updatedAt=v.updated_at,
        labels=None,
        aliases=[alias_obj(v.entity, v.project, v.collection, a, coll) for a in v.aliases],
        currentManifest=lambda _info: or_none(lambda: manifest_obj(ctx, v)),
        files=lambda _info, names=None, after=None, first=None: files_connection(
            ctx, v, names, after, first
        ),
        artifactMemberships=memberships,
        usedBy=used_by,
        createdBy=lambda _info: _created_by(ctx, v),
    )


def _created_by(ctx: Ctx, v: VersionInfo) -> Any:
    found = or_none(lambda: lineage.lineage(ctx.store, ctx.caller, v.id))
    run = None if found is None else found.logged_by
    return run_obj(ctx, run) if run is not None else None


def membership_obj(ctx: Ctx, v: VersionInfo) -> dict[str, Any]:
    """The version seen through one collection: its index and aliases there."""
    coll = _collection_of(ctx, v)

    def artifact(_info: Info) -> Any:
        if not _is_portfolio(v):
            return artifact_obj(ctx, v)
        source = or_none(lambda: versions.get_version(ctx.store, ctx.caller, v.id))
        return None if source is None else artifact_obj(ctx, source)

    return obj(
        "ArtifactCollectionMembership",
        id=gid(
            "ArtifactCollectionMembership",
            f"{v.entity}/{v.project}/{v.collection}:{v.version_index}",
        ),
        versionIndex=v.version_index,
        createdAt=v.linked_at or v.created_at,
        aliases=[alias_obj(v.entity, v.project, v.collection, a, coll) for a in v.aliases],
        artifactCollection=coll,
        artifact=artifact,
        files=lambda _info, names=None, after=None, first=None: files_connection(
            ctx, v, names, after, first
        ),
    )


def membership_by_name(ctx: Ctx, entity: str, project: str, name: str) -> Any:
    """The membership ``collection:selector`` of a project, or None when there is none
    the caller may read."""
    collection, _, selector = name.partition(":")
    found = or_none(
        lambda: versions.resolve_version(
            ctx.store, ctx.caller, entity, project, collection, selector or "latest"
        )
    )
    return None if found is None else membership_obj(ctx, found)


def manifest_obj(ctx: Ctx, v: VersionInfo) -> dict[str, Any]:
    """The version's manifest file, with a URL signed for the caller.

    Raises: CommError (the caller may no longer read the version).
    """
    data = versions.read_manifest(ctx.store, ctx.caller, v.id)
    grant = blob_access.version_grant(ctx.store, ctx.caller, v.id)
    digest = b64(hashlib.md5(data).digest())
    url = signed_get(ctx, grant, digest, MANIFEST_ALGORITHM, len(data))
    file = obj(
        "File", id=gid("File", f"{v.id}/manifest"), name="wandb_manifest.json", directUrl=url
    )
    return obj("ArtifactManifest", id=gid("ArtifactManifest", v.id), file=file)


def files_connection(
    ctx: Ctx, v: VersionInfo, names: list[str] | None, after: str | None, first: int | None
) -> dict[str, Any]:
    """The version's entries with their ``directUrl``s: a signed URL of a stored file, the
    URI itself for a reference. The client downloads exactly the entries listed here, and
    fetches references itself from their URI (its reference handlers), so references must
    be listed too. Empty for a caller who may not read the version.

    Raises: ValueError (more names than ``limits.max_blob_list``).
    """
    if names is not None:
        bounded(names, ctx.store.limits.max_blob_list, "file names")
    data = or_none(lambda: versions.read_manifest(ctx.store, ctx.caller, v.id))
    grant = or_none(lambda: blob_access.version_grant(ctx.store, ctx.caller, v.id))
    if data is None or grant is None:
        return _empty_connection()
    manifest = Manifest.from_json(data)
    wanted = None if names is None else set(names)
    entries = [e for p, e in manifest.entries.items() if wanted is None or p in wanted]
    chunk, page_info = page(entries, after, first, ctx.max_page)
    nodes = []
    for entry in chunk:
        if entry.ref is not None:
            url = entry.ref
        else:
            url = signed_get(ctx, grant, entry.digest, entry.algorithm(), entry.size or 0)
        nodes.append(
            {
                "node": obj(
                    "File",
                    id=gid("File", f"{v.id}/{entry.path}"),
                    name=entry.path,
                    displayName=entry.path,
                    url=url,
                    directUrl=url,
                    sizeBytes=entry.size,
                    storagePath=None,
                    mimetype=None,
                    updatedAt=v.updated_at,
                    digest=entry.digest,
                    md5=entry.digest,
                )
            }
        )
    return {"totalCount": len(entries), "pageInfo": page_info, "edges": nodes}


def versioned_connection(
    ctx: Ctx, found: list[VersionInfo], after: str | None, first: int | None
) -> dict[str, Any]:
    chunk, page_info = page(found, after, first, ctx.max_page)
    return {
        "totalCount": len(found),
        "pageInfo": page_info,
        "edges": [{"version": f"v{v.version_index}", "node": artifact_obj(ctx, v)} for v in chunk],
    }


def project_obj(ctx: Ctx, entity: str, project: str) -> dict[str, Any]:
    """A project; its fields are read for the caller when selected (artifacts by name,
    collections, types, runs)."""
    owner = scope(ctx.store, entity, project)
    store, caller = ctx.store, ctx.caller

    def artifact(_info: Info, name: str | None = None) -> Any:
        found = membership_by_name(ctx, owner, project, name or "")
        return None if found is None else found["artifact"](_info)

    def run(_info: Info, name: str | None = None, missingOk: bool | None = None) -> Any:
        found = or_none(lambda: runs.get_run(store, caller, owner, project, name or ""))
        return None if found is None else run_obj(ctx, found)

    def coll(_info: Info, name: str | None = None) -> Any:
        info = or_none(
            lambda: collections.get_collection(store, caller, owner, project, name or "")
        )
        if info is None:
            return None
        return collection_obj(ctx, owner, project, info.name, not info.is_sequence, info)

    def colls(_info: Info, type_name: str | None = None, **kw: Any) -> Any:
        found = or_none(
            lambda: collections.list_collections(store, caller, owner, project, type_name)
        )
        if found is None:
            return _empty_connection()
        chunk, page_info = page(found, kw.get("after"), kw.get("first"), ctx.max_page)
        return {
            "totalCount": len(found),
            "pageInfo": page_info,
            "edges": [
                {"node": collection_obj(ctx, owner, project, c.name, not c.is_sequence, c)}
                for c in chunk
            ],
        }

    def type_obj(found: TypeInfo) -> dict[str, Any]:
        return obj(
            "ArtifactType",
            id=gid("ArtifactType", f"{owner}/{project}/{found.name}"),
            name=found.name,
            description=None,
            createdAt=found.created_at,
            artifactCollection=coll,
            artifactCollections=lambda info, **kw: colls(info, found.name, **kw),
        )

    def types() -> list[TypeInfo]:
        return or_none(lambda: collections.list_types(store, caller, owner, project)) or []

    def artifact_type(_info: Info, name: str | None = None) -> Any:
        found = next((t for t in types() if t.name == name), None)
        return None if found is None else type_obj(found)

    def artifact_types(
        _info: Info,
        after: str | None = None,
        first: int | None = None,
        includeAll: bool | None = None,  # a project lists every type it has
    ) -> Any:
        chunk, page_info = page(types(), after, first, ctx.max_page)
        return {"pageInfo": page_info, "edges": [{"node": type_obj(t)} for t in chunk]}

    return obj(
        "Project",
        **run_lists.project_runs(ctx, owner, project, run_obj),
        isBenchmark=False,
        user=None,
        id=gid("Project", f"{owner}/{project}"),
        internalId=gid("Project", f"{owner}/{project}"),
        name=project,
        entityName=owner,
        readOnly=lambda _info: not rights.may_write(store, caller, owner, project),
        entity=lambda _info: entity_obj(ctx, owner),
        run=run,
        bucket=run,
        artifact=artifact,
        artifactType=artifact_type,
        artifactTypes=artifact_types,
        artifactCollection=coll,
        artifactCollections=lambda info, **kw: colls(info, None, **kw),
        artifactCollectionMembership=lambda _info, name=None: membership_by_name(
            ctx, owner, project, name or ""
        ),
    )


def readable_project(ctx: Ctx, entity: str | None, project: str | None) -> dict[str, Any] | None:
    """``project_obj`` if the caller may read it (None otherwise, as W&B answers)."""
    entity = entity or ctx.caller.name
    if not project or not rights.may_read(ctx.store, ctx.caller, entity, project):
        return None
    return project_obj(ctx, entity, project)
