"""The mutations that log a version: ``createArtifact`` → ``createArtifactManifest`` →
``createArtifactFiles`` (+ uploads, multipart for big files) → manifest upload →
``commitArtifact``.

``createArtifact`` answers ``COMMITTED`` with the existing version when the digest equals
the collection's latest (the digest no-op: the client then uploads nothing), otherwise a
``PENDING`` draft (``drafts``). ``createArtifactFiles`` answers ``uploadUrl: null`` for a
file whose bytes the entity already holds (blob dedup). The manifest's upload commits the
draft through ``cairn.service.commit``; ``commitArtifact`` then only reports the version.
"""

from __future__ import annotations

import json
from typing import Any

from ariadne import ObjectType

from cairn.errors import CommError
from cairn.server import signing
from cairn.server.wandb_compat import drafts, uploads, views
from cairn.server.wandb_compat.context import Ctx, Info, ctx, obj
from cairn.server.wandb_compat.transfers import PREFIX, q, sign_path
from cairn.service import commit, versions
from cairn.service.authz import WRITE, authorize

mutation = ObjectType("Mutation")


def _collection_name(input: dict[str, Any]) -> str:
    name = input.get("artifactCollectionName")
    names = input.get("artifactCollectionNames") or []
    if not name and names:
        name = names[0]
    if not name:
        raise ValueError("createArtifact needs artifactCollectionName")
    return str(name)


@mutation.field("createArtifact")
def create_artifact(_obj: Any, info: Info, input: dict[str, Any]) -> Any:
    c = ctx(info)
    entity, project = input["entityName"], input["projectName"]
    authorize(c.store, c.principal, entity, WRITE, project)
    name = _collection_name(input)
    aliases = [
        a["alias"]
        for a in input.get("aliases") or []
        if a.get("artifactCollectionName") in (None, name)
    ]
    draft = drafts.Draft(
        entity=entity,
        project=project,
        collection=name,
        type=input["artifactTypeName"],
        digest=input["digest"],
        digest_algorithm="XXH128" if input.get("digestAlgorithm") == "MANIFEST_XXH128" else "MD5",
        description=input.get("description"),
        metadata=json.loads(input["metadata"]) if input.get("metadata") else {},
        aliases=aliases,
        tags=[t["tagName"] for t in input.get("tags") or [] if t.get("tagName")],
        run_id=input.get("runName"),
        history_step=input.get("historyStep"),
        ttl_duration_seconds=input.get("ttlDurationSeconds"),
    )
    store = c.entity_store(entity)
    try:
        latest = versions.resolve_version(store, entity, project, name, "latest")
    except CommError:
        latest = None
    if latest is not None and latest.digest == draft.digest:
        # The digest no-op: the same content again gets the existing version (and the
        # requested aliases and tags, as Cairn's own commit does).
        manifest = versions.read_manifest(store, latest.id)
        done = commit.commit_version(store, drafts.commit_request(draft, manifest)).version
        return {"artifact": views.artifact_obj(c, done)}
    draft_id = drafts.save(store, draft)
    pending = obj(
        "Artifact",
        id=draft_id,
        state="PENDING",
        digest=draft.digest,
        artifactSequence=obj(
            "ArtifactSequence",
            id=views.gid("ArtifactSequence", f"{entity}/{project}/{name}"),
            name=name,
            latestArtifact=None if latest is None else obj("Artifact", id=latest.id),
        ),
    )
    return {"artifact": pending}


def _draft(c: Ctx, artifact_id: str) -> tuple[str, str, drafts.Draft]:
    """``(entity, draft hex, draft)`` of a draft id the caller may write.

    Raises: CommError (not a draft, or unknown), AuthorizationError.
    """
    parsed = drafts.parse_id(artifact_id)
    if parsed is None:
        raise CommError(f"artifact '{artifact_id}' is not being logged")
    entity, hexdigest = parsed
    draft = drafts.load(c.entity_store(entity), hexdigest)
    authorize(c.store, c.principal, draft.entity, WRITE, draft.project)
    return entity, hexdigest, draft


def _manifest_payload(c: Ctx, artifact_id: str, digest: str | None) -> dict[str, Any]:
    entity, hexdigest, _draft_row = _draft(c, artifact_id)
    upload = None
    if digest:
        manifest_hex = signing.digest_to_hex(digest)
        upload = sign_path(
            c.state, c.base_url, f"{PREFIX}/manifest/{q(entity)}/{hexdigest}/{manifest_hex}"
        )
    manifest_id = views.gid("ArtifactManifest", artifact_id)
    file = obj(
        "File",
        id=views.gid("File", manifest_id),
        name="wandb_manifest.json",
        uploadUrl=upload,
        uploadHeaders=[],
    )
    return {"artifactManifest": obj("ArtifactManifest", id=manifest_id, file=file)}


@mutation.field("createArtifactManifest")
def create_artifact_manifest(_obj: Any, info: Info, input: dict[str, Any]) -> Any:
    return _manifest_payload(ctx(info), input["artifactID"], input.get("digest"))


@mutation.field("updateArtifactManifest")
def update_artifact_manifest(_obj: Any, info: Info, input: dict[str, Any]) -> Any:
    import base64

    manifest_id = input["artifactManifestID"]
    artifact_id = base64.b64decode(manifest_id).decode().partition(":")[2]
    return _manifest_payload(ctx(info), artifact_id, input.get("digest"))


@mutation.field("createArtifactFiles")
def create_artifact_files(_obj: Any, info: Info, input: dict[str, Any]) -> Any:
    c = ctx(info)
    edges = []
    seen: dict[str, tuple[str, str, drafts.Draft]] = {}
    wanted: dict[str, list[tuple[str, str]]] = {}  # entity -> its blobs, asked in one batch
    for spec in input["artifactFiles"]:
        artifact_id = spec["artifactID"]
        if artifact_id not in seen:
            seen[artifact_id] = _draft(c, artifact_id)
        signing.digest_to_hex(spec["md5"])
        wanted.setdefault(seen[artifact_id][0], []).append((spec["md5"], "md5"))
    missing = {
        entity: c.entity_store(entity).blobs.missing(blobs) for entity, blobs in wanted.items()
    }
    for spec in input["artifactFiles"]:
        entity = seen[spec["artifactID"]][0]
        hexdigest = signing.digest_to_hex(spec["md5"])
        if (spec["md5"], "md5") not in missing[entity]:
            upload = uploads.Upload(uploads.storage_path(entity, hexdigest), None, [], None)
        else:
            upload = uploads.plan(c, entity, spec["md5"], spec.get("uploadPartsInput"))
        node = obj(
            "File",
            id=views.gid("File", f"{entity}/{hexdigest}"),
            name=spec["name"],
            storagePath=upload.storage_path,
            uploadUrl=upload.url,
            uploadHeaders=upload.headers,
            uploadMultipartUrls=upload.multipart,
            artifact=obj("Artifact", id=artifact_id),
        )
        edges.append({"node": node})
    return {"files": {"totalCount": len(edges), "pageInfo": {"hasNextPage": False}, "edges": edges}}


@mutation.field("completeMultipartUploadArtifact")
def complete_multipart_upload(_obj: Any, info: Info, input: dict[str, Any]) -> Any:
    c = ctx(info)
    entity, _hex, _draft_row = _draft(c, input["artifactID"])
    storage_entity, hexdigest = uploads.parse_storage_path(input["storagePath"])
    if storage_entity != entity:
        raise CommError("storagePath does not belong to this artifact")
    abort = input["completeMultipartAction"] != "Complete"
    uploads.complete(c, entity, hexdigest, input["uploadID"], input["completedParts"], abort)
    return {"digest": signing.hex_to_digest(hexdigest)}


@mutation.field("commitArtifact")
def commit_artifact(_obj: Any, info: Info, input: dict[str, Any]) -> Any:
    c = ctx(info)
    entity, _hex, draft = _draft(c, input["artifactID"])
    found = drafts.committed(c.entity_store(entity), draft)
    if found is None:
        raise CommError("cannot commit: the artifact's manifest was never uploaded")
    return {"artifact": views.artifact_obj(c, found)}


BINDABLES = [mutation]
