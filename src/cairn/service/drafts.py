"""Drafts: a version being logged in steps, as the official wandb client logs one.

The wandb client creates a version in three steps (``createArtifact`` → uploads →
manifest upload and ``commitArtifact``), while Cairn commits a version in one call from a
finished manifest (``cairn.service.commit``). A draft bridges the two without session
state in the app: its fields are checked and stored as a small content-addressed blob of
the entity, and its id names that blob (``ArtifactDraft:<entity>:<hex md5>``, base64 like
every W&B id). When the manifest arrives, the draft and the manifest become one commit;
the draft id then resolves to the version with the draft's digest. Unreferenced draft
blobs are ordinary garbage for ``cairn gc`` once older than its grace period.

Everything a commit would refuse is refused when the draft is created, and the caller
must be able to write to the draft's project then and at every later step: a draft of
another user's entity is never read, and nothing is stored for a caller who may not write.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
from typing import Any

from sqlalchemy import select

from cairn.core.digest import b64, encode_artifact_id, normalize_digest_algorithm
from cairn.core.names import validate_artifact_name, validate_entity_name, validate_project_name
from cairn.db.models import STATE_COMMITTED, Collection, Entity, Project, Version
from cairn.errors import CommError, NotFoundError
from cairn.protocol import CommitRequest, CommitResult, VersionInfo
from cairn.service import commit, fields, versions
from cairn.service.authz import READ, WRITE, Gate
from cairn.service.caller import Caller
from cairn.service.lookup import entity_exists
from cairn.service.registries import refuse_direct_log
from cairn.service.store import Store

_KIND = "ArtifactDraft"


@dataclasses.dataclass(frozen=True)
class Draft:
    entity: str
    project: str
    collection: str
    type: str
    digest: str
    digest_algorithm: str
    description: str | None
    metadata: dict[str, Any]
    aliases: list[str]
    tags: list[str]
    run_id: str | None
    history_step: int | None
    ttl_duration_seconds: int | None


@dataclasses.dataclass(frozen=True)
class Created:
    """What ``create`` made: a pending draft (``draft_id``), or for content equal to the
    collection's latest version that version itself (``version``, the digest no-op).
    ``latest_id`` is the collection's latest version before (the client's incremental base)."""

    draft_id: str | None
    version: VersionInfo | None
    latest_id: str | None


def _check(store: Store, draft: Draft) -> Draft:
    """The draft with its values checked as a commit would (see ``create``)."""
    validate_entity_name(draft.entity)
    validate_project_name(draft.project)
    validate_artifact_name(draft.collection)
    fields.artifact_type(draft.type)
    normalize_digest_algorithm(draft.digest_algorithm)
    fields.description(draft.description, store.limits)
    return dataclasses.replace(
        draft,
        metadata=fields.metadata(draft.metadata, store.limits),
        aliases=fields.user_aliases(draft.aliases, store.limits),
        tags=fields.tags(draft.tags, store.limits),
    )


def create(store: Store, caller: Caller, draft: Draft) -> Created:
    """Check ``draft`` and store it, or commit it at once when its digest is the latest
    version's (that version gets the draft's aliases and tags, as a commit would do).

    Raises:
        ValueError: anything a commit would refuse in the draft's values.
        NotFoundError / AuthorizationError: the caller may not write to the project, or it
            is a registry project (versions enter a registry only by linking).
        OSError: the draft cannot be stored.
    """
    draft = _check(store, draft)
    with store.db.read() as session:
        gate = Gate(session, store, caller)
        refuse_direct_log(gate, draft.entity, draft.project)
        gate.require(WRITE, draft.entity, draft.project)
    try:
        latest = versions.resolve_version(
            store, caller, draft.entity, draft.project, draft.collection, "latest"
        )
    except CommError:
        latest = None
    if latest is not None and latest.digest == draft.digest:
        manifest = versions.read_manifest(store, caller, latest.id)
        done = commit.commit_version(store, caller, commit_request(draft, manifest)).version
        return Created(draft_id=None, version=done, latest_id=latest.id)
    data = json.dumps(dataclasses.asdict(draft), sort_keys=True).encode()
    stored = store.blobs_of(draft.entity).put_bytes(data, "md5")
    found = draft_id(draft.entity, base64.b64decode(stored.digest).hex())
    return Created(draft_id=found, version=None, latest_id=None if latest is None else latest.id)


def draft_id(entity: str, hexdigest: str) -> str:
    """The id of the draft of ``entity`` stored under ``hexdigest``."""
    return base64.b64encode(f"{_KIND}:{entity}:{hexdigest}".encode()).decode()


def parse_id(artifact_id: str) -> tuple[str, str] | None:
    """``(entity, hex md5)`` of a draft id; None for any other id. Raises nothing."""
    try:
        text = base64.b64decode(artifact_id, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    kind, _, rest = text.partition(":")
    entity, _, hexdigest = rest.rpartition(":")
    if kind != _KIND or not entity or len(hexdigest) != 32:
        return None
    try:
        bytes.fromhex(hexdigest)
    except ValueError:
        return None
    return entity, hexdigest


def load(store: Store, caller: Caller, artifact_id: str, action: str = WRITE) -> Draft:
    """The draft ``artifact_id`` names, if the caller may ``action`` on its project (the
    entity is checked before its blob area is touched).

    Raises: CommError ("artifact '<id>' is not being logged": not a draft id, or unknown;
    NotFoundError when the caller cannot read its entity or project), AuthorizationError.
    """
    parsed = parse_id(artifact_id)
    if parsed is None:
        raise CommError(f"artifact '{artifact_id}' is not being logged")
    entity, hexdigest = parsed
    with store.db.read() as session:
        Gate(session, store, caller).require(action, entity)
    draft = _read(store, entity, hexdigest)
    with store.db.read() as session:
        Gate(session, store, caller).require(action, draft.entity, draft.project)
    return draft


def _read(store: Store, entity: str, hexdigest: str) -> Draft:
    """The draft stored under ``hexdigest`` in ``entity``'s area (an entity known to exist:
    no area is made for a name that is none). Raises: NotFoundError."""
    try:
        data = store.blobs_of(entity).read_bytes(b64(bytes.fromhex(hexdigest)), "md5")
        draft = Draft(**json.loads(data))
    except (FileNotFoundError, KeyError, ValueError, TypeError):
        raise NotFoundError("artifact draft not found") from None
    if draft.entity != entity:
        raise NotFoundError("artifact draft not found")
    return draft


def commit_request(
    draft: Draft, manifest_json: bytes, incremental: bool = False, base_id: str | None = None
) -> CommitRequest:
    """The commit of ``draft`` with its manifest (parsed and checked by the commit); an
    ``incremental`` manifest is merged onto ``base_id`` (default: the latest version)."""
    return CommitRequest(
        entity=draft.entity,
        project=draft.project,
        collection=draft.collection,
        type=draft.type,
        digest=draft.digest,
        digest_algorithm=draft.digest_algorithm,
        manifest_json=manifest_json,
        description=draft.description,
        metadata=draft.metadata,
        aliases=draft.aliases,
        tags=draft.tags,
        run_id=draft.run_id,
        history_step=draft.history_step,
        ttl_duration_seconds=draft.ttl_duration_seconds,
        incremental=incremental,
        base_id=base_id,
    )


def commit_draft(
    store: Store,
    caller: Caller,
    artifact_id: str,
    manifest_json: bytes,
    incremental: bool = False,
    base_id: str | None = None,
) -> CommitResult:
    """Commit the draft ``artifact_id`` with its manifest, as ``caller`` now (merged onto
    ``base_id``, default the latest version, when ``incremental``).

    Raises: what ``load`` and ``commit.commit_version`` raise.
    """
    draft = load(store, caller, artifact_id)
    request = commit_request(draft, manifest_json, incremental, base_id)
    return commit.commit_version(store, caller, request)


def committed(store: Store, caller: Caller, draft: Draft) -> VersionInfo | None:
    """The newest committed version of the draft's collection with its digest, if any."""
    cursor: str | None = None
    while True:
        try:
            found = versions.list_versions(
                store, caller, draft.entity, draft.project, draft.collection, cursor, 100
            )
        except CommError:
            return None
        for version in found.items:
            if version.digest == draft.digest:
                match: VersionInfo = version
                return match
        cursor = found.next_cursor
        if cursor is None:
            return None


def version_id(store: Store, caller: Caller, artifact_id: str) -> str:
    """The version an artifact id names: a version id as it is, or a committed draft's
    (the newest version of the draft's collection with its digest). A draft id is
    answered to whoever may read that version, the way any version id is: a registry's
    reader names a linked file by the draft id the uploader's client recorded in it.

    Raises: CommError (a draft not committed yet, unknown, or its version not readable by
    the caller: "not found").
    """
    parsed = parse_id(artifact_id)
    if parsed is None:
        return artifact_id
    entity, hexdigest = parsed
    with store.db.read() as session:
        if not entity_exists(session, entity):
            raise NotFoundError(f"artifact '{artifact_id}' not found")
    draft = _read(store, entity, hexdigest)
    with store.db.read() as session:
        found = session.scalars(
            select(Version)
            .join(Collection, Version.collection_id == Collection.id)
            .join(Project, Collection.project_id == Project.id)
            .join(Entity, Project.entity_id == Entity.id)
            .where(
                Entity.name == draft.entity,
                Project.name == draft.project,
                Collection.name == draft.collection,
                Version.digest == draft.digest,
                Version.state == STATE_COMMITTED,
            )
            .order_by(Version.index.desc())
            .limit(1)
        ).first()
        if found is None:
            raise CommError(f"artifact '{artifact_id}' is not committed")
        Gate(session, store, caller).require_version(found, READ, artifact_id)
        return encode_artifact_id(found.id)
