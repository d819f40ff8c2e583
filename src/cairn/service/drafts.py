"""Drafts: a version being logged in steps, as the official wandb client logs one.

The wandb client creates a version in three steps (``createArtifact`` → uploads →
manifest upload and ``commitArtifact``), while Cairn commits a version in one call from a
finished manifest (``cairn.service.commit``). A draft bridges the two without session
state in the app: its fields are checked and stored as a small content-addressed blob of
the entity, and its id names that blob (``ArtifactDraft:<entity>:<hex md5>``, base64 like
every W&B id). When the manifest arrives, the draft and the manifest become one commit,
and the draft id resolves to that version from then on (``draft_commit``). A draft of a
part of a distributed version (``distributed_id``) only adds its manifest's entries to
that version; ``finish`` commits it. Unreferenced draft blobs are ordinary garbage for
``cairn gc`` once older than its grace period.

Everything a commit would refuse is refused when the draft is created, and the caller
must be able to write to the draft's project then and at every later step: a draft of
another user's entity is never read, and nothing is stored for a caller who may not write.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
from typing import TYPE_CHECKING, Any

from cairn.core.digest import (
    b64,
    decode_artifact_id,
    encode_artifact_id,
    entry_algorithm,
    normalize_digest_algorithm,
)
from cairn.core.manifest import Manifest
from cairn.db.models import DraftCommit, Version, utcnow
from cairn.errors import CommError, NotFoundError
from cairn.protocol import CommitRequest, CommitResult, VersionInfo
from cairn.service import commit, distributed, versions
from cairn.service.authz import READ, WRITE, Gate
from cairn.service.registries import refuse_direct_log
from cairn.service.version_values import checked_values

if TYPE_CHECKING:
    from cairn.service.caller import Caller
    from cairn.service.resources import Store

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
    # As the client sent it (a JSON object, its JSON text, or None) until ``create`` checks
    # it: a dict from then on.
    metadata: Any
    aliases: list[str]
    tags: list[str]
    run_id: str | None
    history_step: int | None
    ttl_duration_seconds: int | None
    # A part of a version several runs write (``distributed``): its manifest upload adds
    # the part, and ``commitArtifact`` of any part finishes the version.
    distributed_id: str | None = None


@dataclasses.dataclass(frozen=True)
class Created:
    """What ``create`` made: a pending draft (``draft_id``), or for content equal to the
    collection's latest version that version itself (``version``, the digest no-op).
    ``latest_id`` is the collection's latest version before (the client's incremental base)."""

    draft_id: str | None
    version: VersionInfo | None
    latest_id: str | None


def _check(store: Store, draft: Draft) -> Draft:
    """The draft with its values checked as its commit will check them
    (``version_values.checked_values``)."""
    values = checked_values(commit_request(draft, b""), store.limits)
    return dataclasses.replace(
        draft, metadata=values.metadata, aliases=values.aliases, tags=values.tags
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
    if latest is not None and latest.digest == draft.digest and not draft.distributed_id:
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
        distributed_id=draft.distributed_id,
    )


def _remember(store: Store, artifact_id: str, result: CommitResult) -> CommitResult:
    """Record which version the draft ``artifact_id`` became (``DraftCommit``)."""
    parsed = parse_id(artifact_id)
    assert parsed is not None  # only drafts are committed here
    with store.db.write() as session:
        session.merge(
            DraftCommit(
                draft_key=":".join(parsed),
                version_id=decode_artifact_id(result.version.id),
                created_at=utcnow(),
            )
        )
    return result


def commit_draft(
    store: Store,
    caller: Caller,
    artifact_id: str,
    manifest_json: bytes,
    incremental: bool = False,
    base_id: str | None = None,
) -> CommitResult:
    """Commit the draft ``artifact_id`` with its manifest, as ``caller`` now (merged onto
    ``base_id``, default the latest version, when ``incremental``). A part of a
    distributed version is only added to it (``add_part``), and answers None.

    Raises: what ``load`` and ``commit.commit_version`` raise.
    """
    draft = load(store, caller, artifact_id)
    request = commit_request(draft, manifest_json, incremental, base_id)
    return _remember(store, artifact_id, commit.commit_version(store, caller, request))


def add_part(store: Store, caller: Caller, artifact_id: str, manifest_json: bytes) -> None:
    """Add the entries of ``manifest_json`` to the distributed version the draft
    ``artifact_id`` is a part of (``distributed.add_part``); nothing is committed yet.

    Raises: ValueError (the draft is not a part of a distributed version; what
    ``distributed.add_part`` refuses), what ``load`` raises.
    """
    draft = load(store, caller, artifact_id)
    if not draft.distributed_id:
        raise ValueError("only a part of a distributed artifact has a patch manifest")
    distributed.add_part(store, caller, commit_request(draft, manifest_json))


def finish(store: Store, caller: Caller, artifact_id: str) -> CommitResult:
    """Commit the distributed version the draft ``artifact_id`` is a part of: every part
    added so far, with the draft's name, type, aliases, tags, description and metadata.

    Raises: ValueError (not a part of a distributed version), what ``load`` and
    ``commit.commit_version`` raise (NotFoundError: no part was ever added).
    """
    draft = load(store, caller, artifact_id)
    if not draft.distributed_id:
        raise ValueError("only a part of a distributed artifact is finished this way")
    nothing = Manifest()
    request = dataclasses.replace(
        commit_request(draft, b""),
        manifest_json=None,
        manifest=nothing,
        digest=nothing.digest(entry_algorithm(normalize_digest_algorithm(draft.digest_algorithm))),
    )
    return _remember(store, artifact_id, commit.commit_version(store, caller, request))


def committed(store: Store, caller: Caller, artifact_id: str) -> VersionInfo | None:
    """The version the draft ``artifact_id`` became, if it was committed and the caller may
    read it. Raises nothing for an unknown draft (None)."""
    parsed = parse_id(artifact_id)
    if parsed is None:
        return None
    with store.db.read() as session:
        found = session.get(DraftCommit, ":".join(parsed))
        if found is None:
            return None
        version_id = encode_artifact_id(found.version_id)
    try:
        return versions.get_version(store, caller, version_id)
    except CommError:
        return None


def version_id(store: Store, caller: Caller, artifact_id: str) -> str:
    """The version an artifact id names: a version id as it is, or the version a committed
    draft became. A draft id is answered to whoever may read that version, the way any
    version id is: a registry's reader names a linked file by the draft id the uploader's
    client recorded in it.

    Raises: CommError (a draft not committed yet, unknown, or its version not readable by
    the caller: "not found").
    """
    parsed = parse_id(artifact_id)
    if parsed is None:
        return artifact_id
    with store.db.read() as session:
        found = session.get(DraftCommit, ":".join(parsed))
        version = None if found is None else session.get(Version, found.version_id)
        if version is None:
            raise NotFoundError(f"artifact '{artifact_id}' is not committed")
        Gate(session, store, caller).require_version(version, READ, artifact_id)
        return encode_artifact_id(version.id)
