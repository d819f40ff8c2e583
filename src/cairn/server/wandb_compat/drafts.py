"""Drafts: what ``createArtifact`` asked for, kept until the manifest arrives.

The wandb client creates a version in three steps (``createArtifact`` → uploads →
``commitArtifact``), while Cairn commits a version in one call from a finished manifest
(``cairn.service.commit``). A draft bridges the two without server-side session state:
its fields are stored as a small content-addressed blob of the entity, and its id names
that blob (``ArtifactDraft:<entity>:<hex md5>``, base64-encoded like every W&B id). When
the manifest is uploaded, the draft and the manifest become one ``CommitRequest``; the
draft id then resolves to the version with the draft's digest. Unreferenced draft blobs
are ordinary garbage for ``cairn gc`` once older than its grace period.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
from typing import Any

from cairn.errors import CommError, NotFoundError
from cairn.protocol import CommitRequest, VersionInfo
from cairn.server import signing
from cairn.service import versions
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


def save(store: Store, draft: Draft) -> str:
    """Store ``draft`` in the entity's blob area; return its id. Raises: OSError."""
    data = json.dumps(dataclasses.asdict(draft), sort_keys=True).encode()
    stored = store.blobs.put_bytes(data, "md5")
    hexdigest = signing.digest_to_hex(stored.digest)
    return base64.b64encode(f"{_KIND}:{draft.entity}:{hexdigest}".encode()).decode()


def parse_id(artifact_id: str) -> tuple[str, str] | None:
    """``(entity, hex md5)`` of a draft id; None for any other id."""
    try:
        text = base64.b64decode(artifact_id, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    kind, _, rest = text.partition(":")
    entity, _, hexdigest = rest.rpartition(":")
    if kind != _KIND or not entity or len(hexdigest) != 32:
        return None
    return entity, hexdigest


def load(store: Store, hexdigest: str) -> Draft:
    """The draft stored under ``hexdigest``. Raises: NotFoundError."""
    try:
        data = store.blobs.read_bytes(signing.hex_to_digest(hexdigest), "md5")
        return Draft(**json.loads(data))
    except (FileNotFoundError, KeyError, ValueError, TypeError):
        raise NotFoundError("artifact draft not found") from None


def commit_request(draft: Draft, manifest_json: bytes) -> CommitRequest:
    """The commit of ``draft`` with its manifest (parsed and checked by the commit)."""
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
    )


def committed(store: Store, draft: Draft) -> VersionInfo | None:
    """The newest committed version of the draft's collection with its digest, if any."""
    cursor: str | None = None
    while True:
        try:
            found = versions.list_versions(
                store, draft.entity, draft.project, draft.collection, cursor, 100
            )
        except CommError:
            return None
        for version in found.items:
            if version.digest == draft.digest:
                return version  # type: ignore[no-any-return]
        cursor = found.next_cursor
        if cursor is None:
            return None
