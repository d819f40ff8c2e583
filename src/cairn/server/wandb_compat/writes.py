"""The mutations that log a version: ``createArtifact`` → ``createArtifactManifest`` →
``createArtifactFiles`` (+ uploads, multipart for big files) → manifest upload →
``commitArtifact``.

``createArtifact`` answers ``COMMITTED`` with the existing version when the digest equals
the collection's latest (the digest no-op: the client then uploads nothing), otherwise a
``PENDING`` draft (``cairn.service.drafts``, which checks the caller and every value
before it stores anything). ``createArtifactFiles`` answers ``uploadUrl: null`` for a
file whose bytes the entity already holds (blob dedup). The manifest's upload commits the
draft through ``cairn.service.commit``; ``commitArtifact`` then only reports the version.
A part of a distributed version (``distributedID``, ``run.upsert_artifact``) uploads a
``PATCH`` manifest, which only adds its entries (``drafts.add_part``); ``commitArtifact``
of a part (``run.finish_artifact``) commits everything the parts added up to.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from ariadne import ObjectType

from cairn.core.metadata import loads_json
from cairn.errors import CommError
from cairn.server import signing
from cairn.server.wandb_compat import graphql_objects, uploads
from cairn.server.wandb_compat.context import Ctx, Info, ctx, gid, obj
from cairn.server.wandb_compat.transfers import LATEST_BASE, PREFIX, q, sign_path
from cairn.service import blob_access, drafts
from cairn.service.fields import bounded

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
    name = _collection_name(input)
    requested = bounded(input.get("aliases") or [], c.max_page, "aliases")
    draft = drafts.Draft(
        entity=entity,
        project=project,
        collection=name,
        type=input["artifactTypeName"],
        digest=input["digest"],
        digest_algorithm="XXH128" if input.get("digestAlgorithm") == "MANIFEST_XXH128" else "MD5",
        description=input.get("description"),
        metadata=input.get("metadata"),
        aliases=[a["alias"] for a in requested if a.get("artifactCollectionName") in (None, name)],
        tags=[
            t["tagName"]
            for t in bounded(input.get("tags") or [], c.max_page, "tags")
            if t.get("tagName")
        ],
        run_id=input.get("runName"),
        history_step=input.get("historyStep"),
        ttl_duration_seconds=input.get("ttlDurationSeconds"),
        distributed_id=input.get("distributedID") or None,
    )
    created = drafts.create(c.store, c.caller, draft)
    if created.version is not None:
        # The digest no-op: the same content again is the existing version (with the
        # requested aliases and tags, as Cairn's own commit does).
        return {"artifact": graphql_objects.artifact_obj(c, created.version)}
    latest = None if created.latest_id is None else obj("Artifact", id=created.latest_id)
    pending = obj(
        "Artifact",
        id=created.draft_id,
        state="PENDING",
        digest=draft.digest,
        artifactSequence=obj(
            "ArtifactSequence",
            id=gid("ArtifactSequence", f"{entity}/{project}/{name}"),
            name=name,
            latestArtifact=latest,
        ),
    )
    return {"artifact": pending}


def _draft(c: Ctx, artifact_id: str) -> tuple[str, str, drafts.Draft]:
    """``(entity, draft hex, draft)`` of a draft id the caller may write.

    Raises: CommError (not a draft, or unknown), AuthorizationError.
    """
    draft = drafts.load(c.store, c.caller, artifact_id)
    parsed = drafts.parse_id(artifact_id)
    assert parsed is not None  # load refuses anything but a draft id
    return parsed[0], parsed[1], draft


def _manifest_payload(
    c: Ctx, artifact_id: str, digest: str | None, kind: str, base: str | None
) -> dict[str, Any]:
    """The manifest of a draft: its id remembers what kind of manifest the client sends
    (``FULL``, ``INCREMENTAL`` onto ``base``, or ``PATCH``: a part of a distributed
    version) for ``updateArtifactManifest``, and its upload URL (once the client knows the
    digest) says so to the commit."""
    entity, hexdigest, _draft_row = _draft(c, artifact_id)
    upload = None
    if digest:
        path = f"{PREFIX}/manifest/{q(entity)}/{hexdigest}/{signing.digest_to_hex(digest)}"
        if kind == "INCREMENTAL":
            path += f"/onto/{q(base or LATEST_BASE)}"
        elif kind == "PATCH":
            path += "/part"
        upload = sign_path(c, path)
    manifest_id = gid("ArtifactManifest", json.dumps([artifact_id, kind, base]))
    file = obj(
        "File",
        id=gid("File", manifest_id),
        name="wandb_manifest.json",
        uploadUrl=upload,
        uploadHeaders=[],
    )
    return {"artifactManifest": obj("ArtifactManifest", id=manifest_id, file=file)}


@mutation.field("createArtifactManifest")
def create_artifact_manifest(_obj: Any, info: Info, input: dict[str, Any]) -> Any:
    kind = input.get("type") or "FULL"
    if kind not in ("FULL", "INCREMENTAL", "PATCH"):
        raise ValueError(f"Manifests of type {kind} are not supported")
    base = input.get("baseArtifactID")
    return _manifest_payload(ctx(info), input["artifactID"], input.get("digest"), kind, base)


@mutation.field("updateArtifactManifest")
def update_artifact_manifest(_obj: Any, info: Info, input: dict[str, Any]) -> Any:
    manifest_id = input["artifactManifestID"]
    try:
        text = base64.b64decode(manifest_id, validate=True).decode().partition(":")[2]
        artifact_id, kind, base = loads_json(text, what="artifactManifestID")
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError):
        raise CommError(f"unknown artifact manifest '{manifest_id}'") from None
    return _manifest_payload(
        ctx(info), str(artifact_id), input.get("digest"), str(kind), base and str(base)
    )


@mutation.field("createArtifactFiles")
def create_artifact_files(_obj: Any, info: Info, input: dict[str, Any]) -> Any:
    c = ctx(info)
    edges = []
    specs = bounded(input["artifactFiles"], c.store.limits.max_blob_list, "files")
    seen: dict[str, tuple[str, str, drafts.Draft]] = {}
    wanted: dict[str, list[tuple[str, str]]] = {}  # entity -> its blobs, asked in one batch
    for spec in specs:
        artifact_id = spec["artifactID"]
        if artifact_id not in seen:
            seen[artifact_id] = _draft(c, artifact_id)
        signing.digest_to_hex(spec["md5"])
        wanted.setdefault(seen[artifact_id][0], []).append((spec["md5"], "md5"))
    grants = {
        entity: blob_access.grant(c.store, c.caller, entity, blob_access.WRITE) for entity in wanted
    }
    missing = {entity: grants[entity].area.missing(blobs) for entity, blobs in wanted.items()}
    for spec in specs:
        entity = seen[spec["artifactID"]][0]
        hexdigest = signing.digest_to_hex(spec["md5"])
        if (spec["md5"], "md5") not in missing[entity]:
            upload = uploads.Upload(uploads.storage_path(entity, hexdigest), None, [], None)
        else:
            upload = uploads.plan(c, grants[entity], spec["md5"], spec.get("uploadPartsInput"))
        node = obj(
            "File",
            id=gid("File", f"{entity}/{hexdigest}"),
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
    grant = blob_access.grant(c.store, c.caller, entity, blob_access.WRITE)
    parts = bounded(input["completedParts"], uploads.MAX_PARTS, "parts")  # S3's own limit
    uploads.complete(c.store, grant, hexdigest, input["uploadID"], parts, abort)
    return {"digest": signing.hex_to_digest(hexdigest)}


@mutation.field("commitArtifact")
def commit_artifact(_obj: Any, info: Info, input: dict[str, Any]) -> Any:
    c = ctx(info)
    artifact_id = input["artifactID"]
    _entity, _hex, draft = _draft(c, artifact_id)
    found = drafts.committed(c.store, c.caller, artifact_id)
    if found is None and draft.distributed_id:  # the part that finishes the version
        found = drafts.finish(c.store, c.caller, artifact_id).version
    if found is None:
        raise CommError("cannot commit: the artifact's manifest was never uploaded")
    return {"artifact": graphql_objects.artifact_obj(c, found)}


BINDABLES = [mutation]
