"""Cairn's wire models (``cairn.protocol``) as the GraphQL objects the wandb client reads.

Objects are dicts; a callable value is a field with arguments, resolved only when the
client selects it. Collections answer ``__typename`` ``ArtifactSequence`` (where versions
are born) or ``ArtifactPortfolio`` (registry collections they are linked into): the
client tells source artifacts from links by it. File URLs are the same signed transfer
URLs the REST API hands out (``cairn.server.signing`` or the object store's presigned
URLs).
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cairn.core.digest import b64
from cairn.core.manifest import Manifest
from cairn.errors import CommError
from cairn.protocol import CollectionInfo, RunInfo, VersionInfo
from cairn.server import signing
from cairn.server.wandb_compat.context import Ctx, Info, obj
from cairn.service import collections, lineage, links, runs, versions
from cairn.service.authz import READ, authorize
from cairn.service.registries import scope

MANIFEST_ALGORITHM = "md5"


def gid(kind: str, key: str) -> str:
    """A W&B-style opaque id: base64 of ``<kind>:<key>``."""
    return base64.b64encode(f"{kind}:{key}".encode()).decode()


def page(
    items: list[Any], after: str | None, first: int | None
) -> tuple[list[Any], dict[str, Any]]:
    """One page of ``items`` after the offset cursor ``after``; and its ``pageInfo``."""
    start = int(after) if after and after.isdigit() else 0
    count = first if first and first > 0 else len(items)
    chunk = items[start : start + count]
    end = start + len(chunk)
    return chunk, {"endCursor": str(end), "hasNextPage": end < len(items)}


def signed_get(ctx: Ctx, entity: str, digest: str, algorithm: str, size: int) -> str:
    """A download URL of one stored blob (presigned by the object store, or signed here)."""
    ttl = ctx.state.config.url_ttl_seconds
    presigned = ctx.state.blob_store.download_url(entity, digest, algorithm, size, ttl)
    if presigned is not None:
        return presigned.url
    url, _exp = signing.sign(
        ctx.state.config.secret, ctx.base_url, "get", entity, algorithm, digest, size, ttl
    )
    return url


def collection_id(typename: str, entity: str, project: str, name: str) -> str:
    """The id of a collection: the same whichever query reaches it (``unlinkArtifact``
    names a portfolio by it)."""
    return gid(typename, f"{entity}/{project}/{name}")


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


def entity_obj(ctx: Ctx, name: str) -> dict[str, Any]:
    org = org_obj(ctx)
    return obj(
        "Entity",
        id=gid("Entity", name),
        name=name,
        isTeam=False,
        organization=org,
        user=obj("User", id=gid("User", name), name=name, organizations=[org]),
        xxhashDigestsEnabled=False,
    )


def org_obj(ctx: Ctx) -> dict[str, Any]:
    """The server's one organization; its entity (same name) holds the registries."""
    name = ctx.store.organization
    org_entity = obj("Entity", id=gid("Entity", name), name=name, isTeam=True)
    return obj(
        "Organization",
        id=gid("Organization", name),
        name=name,
        orgEntity=org_entity,
        coreWeaveOrganizationId=None,
    )


def run_obj(ctx: Ctx, run: RunInfo) -> dict[str, Any]:
    def artifacts(used: bool) -> Any:
        def resolve(_info: Info, after: str | None = None, first: int | None = None) -> Any:
            store = ctx.entity_store(run.entity)
            found = lineage.run_versions(store, run.entity, run.project, run.id, used)
            return versioned_connection(ctx, found, after, first)

        return resolve

    return obj(
        "Run",
        id=gid("Run", f"{run.entity}/{run.project}/{run.id}"),
        name=run.id,
        displayName=run.name,
        description=None,
        notes=None,
        state=run.state,
        config=json.dumps({k: {"value": v} for k, v in run.config.items()}),
        summaryMetrics="{}",
        sweepName=None,
        tags=[],
        project=lambda _info: project_obj(ctx, run.entity, run.project),
        historyLineCount=0,
        logLineCount=0,
        eventsLineCount=0,
        historyTail="[]",
        eventsTail="[]",
        wandbConfig=lambda _info, keys=None: "{}",
        stopped=False,
        outputArtifacts=artifacts(False),
        inputArtifacts=artifacts(True),
    )


def _is_portfolio(v: VersionInfo) -> bool:
    return (v.entity, v.project, v.collection) != (
        v.source_entity,
        v.source_project,
        v.source_collection,
    )


def collection_obj(
    ctx: Ctx, entity: str, project: str, name: str, portfolio: bool, info: CollectionInfo | None
) -> dict[str, Any]:
    """An ArtifactSequence or ArtifactPortfolio; ``info`` (if known) fills the details."""

    def membership(_info: Info, aliasName: str | None = None) -> Any:
        return membership_by_name(ctx, entity, project, f"{name}:{aliasName or 'latest'}")

    def artifacts(
        _info: Info,
        after: str | None = None,
        first: int | None = None,
        order: str | None = None,
        filters: str | None = None,
    ) -> Any:
        found = versions.list_versions(ctx.store, entity, project, name, after, first or 50)
        chunk = found.items
        return {
            "totalCount": found.total,
            "pageInfo": {
                "endCursor": found.next_cursor,
                "hasNextPage": found.next_cursor is not None,
            },
            "edges": [
                {"version": f"v{v.version_index}", "node": artifact_obj(ctx, v)} for v in chunk
            ],
        }

    def aliases(_info: Info, after: str | None = None, first: int | None = None) -> Any:
        names = info.aliases if info is not None else []
        chunk, page_info = page(names, after, first)
        return {
            "pageInfo": page_info,
            "edges": [{"node": alias_obj(entity, project, name, a, None)} for a in chunk],
        }

    typename = "ArtifactPortfolio" if portfolio else "ArtifactSequence"
    fields: dict[str, Any] = {
        "id": collection_id(typename, entity, project, name),
        "name": name,
        "description": info.description if info else None,
        "createdAt": info.created_at if info else None,
        "updatedAt": info.created_at if info else None,
        "state": "READY",
        "project": lambda _info: project_obj(ctx, entity, project),
        "defaultArtifactType": obj(
            "ArtifactType", id=gid("ArtifactType", info.type), name=info.type
        )
        if info
        else None,
        "tags": {"edges": [{"node": tag_obj(t)} for t in (info.tags if info else [])]},
        "aliases": aliases,
        "artifacts": artifacts,
        "artifactMembership": membership,
    }
    if not portfolio:
        fields["latestArtifact"] = lambda _info: _latest(ctx, entity, project, name)
    return obj(typename, **fields)


def _latest(ctx: Ctx, entity: str, project: str, name: str) -> Any:
    try:
        return artifact_obj(
            ctx, versions.resolve_version(ctx.store, entity, project, name, "latest")
        )
    except CommError:
        return None


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
    """An Artifact (the ArtifactFragment the client validates, plus lazy extras)."""
    source = collection_obj(
        ctx, v.source_entity, v.source_project, v.source_collection, False, None
    )
    coll = _collection_of(ctx, v)
    return obj(
        "Artifact",
        id=v.id,
        artifactSequence=source,
        versionIndex=v.source_version_index,
        artifactType=obj("ArtifactType", id=gid("ArtifactType", v.type), name=v.type),
        description=v.description,
        metadata=json.dumps(v.metadata),
        ttlDurationSeconds=_ttl_wire(v),
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
        currentManifest=lambda _info: manifest_obj(ctx, v),
        files=lambda _info, names=None, after=None, first=None: files_connection(
            ctx, v, names, after, first
        ),
        artifactMemberships=lambda _info, after=None, first=None: {
            "edges": [
                {"node": membership_obj(ctx, link)} for link in links.list_links(ctx.store, v.id)
            ]
        },
        usedBy=lambda _info, after=None, first=None: {
            "edges": [
                {"node": run_obj(ctx, run)} for run in lineage.lineage(ctx.store, v.id).used_by
            ]
        },
        createdBy=lambda _info: _created_by(ctx, v),
    )


def _ttl_wire(v: VersionInfo) -> int:
    """W&B's wire TTL: seconds, -1 inherited, -2 disabled."""
    if v.ttl_is_inherited:
        return -1
    return v.ttl_duration_seconds if v.ttl_duration_seconds else -2


def _created_by(ctx: Ctx, v: VersionInfo) -> Any:
    run = lineage.lineage(ctx.store, v.id).logged_by
    return run_obj(ctx, run) if run is not None else None


def membership_obj(ctx: Ctx, v: VersionInfo) -> dict[str, Any]:
    """The version seen through one collection: its index and aliases there."""
    coll = _collection_of(ctx, v)
    source = v if not _is_portfolio(v) else versions.get_version(ctx.store, v.id)
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
        artifact=artifact_obj(ctx, source),
        files=lambda _info, names=None, after=None, first=None: files_connection(
            ctx, v, names, after, first
        ),
    )


def membership_by_name(ctx: Ctx, entity: str, project: str, name: str) -> Any:
    """The membership ``collection:selector`` of a project, or None when there is none."""
    collection, _, selector = name.partition(":")
    try:
        v = versions.resolve_version(ctx.store, entity, project, collection, selector or "latest")
    except CommError:
        return None
    return membership_obj(ctx, v)


def manifest_obj(ctx: Ctx, v: VersionInfo) -> dict[str, Any]:
    data = versions.read_manifest(ctx.entity_store(v.source_entity), v.id)
    digest = b64(hashlib.md5(data).digest())
    url = signed_get(ctx, v.source_entity, digest, MANIFEST_ALGORITHM, len(data))
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
    be listed too."""
    data = versions.read_manifest(ctx.entity_store(v.source_entity), v.id)
    manifest = Manifest.from_json(data)
    entries = [e for p, e in manifest.entries.items() if names is None or p in names]
    chunk, page_info = page(entries, after, first)
    nodes = []
    for entry in chunk:
        if entry.ref is not None:
            url = entry.ref
        else:
            url = signed_get(ctx, v.source_entity, entry.digest, entry.algorithm(), entry.size or 0)
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
    chunk, page_info = page(found, after, first)
    return {
        "totalCount": len(found),
        "pageInfo": page_info,
        "edges": [{"version": f"v{v.version_index}", "node": artifact_obj(ctx, v)} for v in chunk],
    }


def project_obj(ctx: Ctx, entity: str, project: str) -> dict[str, Any]:
    """A project; its fields resolve lazily (artifacts by name, collections, runs)."""
    owner = scope(ctx.store, entity, project)

    def artifact(_info: Info, name: str | None = None) -> Any:
        found = membership_by_name(ctx, owner, project, name or "")
        return None if found is None else found["artifact"]

    def run(_info: Info, name: str | None = None, missingOk: bool | None = None) -> Any:
        try:
            return run_obj(ctx, runs.get_run(ctx.store, owner, project, name or ""))
        except CommError:
            return None

    def coll(_info: Info, name: str | None = None) -> Any:
        try:
            info = collections.get_collection(ctx.store, owner, project, name or "")
        except CommError:
            return None
        return collection_obj(ctx, owner, project, info.name, not info.is_sequence, info)

    def colls(_info: Info, type_name: str | None = None, **kw: Any) -> Any:
        found = collections.list_collections(ctx.store, owner, project, type_name)
        chunk, page_info = page(found, kw.get("after"), kw.get("first"))
        return {
            "totalCount": len(found),
            "pageInfo": page_info,
            "edges": [
                {"node": collection_obj(ctx, owner, project, c.name, not c.is_sequence, c)}
                for c in chunk
            ],
        }

    def type_obj(name: str) -> dict[str, Any]:
        return obj(
            "ArtifactType",
            id=gid("ArtifactType", f"{owner}/{project}/{name}"),
            name=name,
            description=None,
            createdAt=None,
            artifactCollection=coll,
            artifactCollections=lambda info, **kw: colls(info, name, **kw),
        )

    def artifact_type(_info: Info, name: str | None = None) -> Any:
        known = {t.name for t in collections.list_types(ctx.store, owner, project)}
        return type_obj(name) if name in known else None

    def artifact_types(_info: Info, after: str | None = None, first: int | None = None) -> Any:
        found = [t.name for t in collections.list_types(ctx.store, owner, project)]
        chunk, page_info = page(found, after, first)
        return {"pageInfo": page_info, "edges": [{"node": type_obj(t)} for t in chunk]}

    return obj(
        "Project",
        id=gid("Project", f"{owner}/{project}"),
        internalId=gid("Project", f"{owner}/{project}"),
        name=project,
        entityName=owner,
        entity=entity_obj(ctx, owner),
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
    entity = entity or ctx.principal.name
    if not project:
        return None
    try:
        authorize(ctx.store, ctx.principal, scope(ctx.store, entity, project), READ, project)
    except CommError:
        return None
    return project_obj(ctx, entity, project)
