"""Logging a draft: validate everything, then one ``Backend.log`` call.

This is the body of ``Artifact._log`` (called by ``Run.log_artifact``). Order matters for
the "bad input changes nothing" rule: names, type, aliases, tags and metadata are checked
before any byte is sent; the backend stores the blobs it lacks before it commits, so a
failure midway leaves no version (blobs already stored are harmless: they are content
addressed and collected by GC when unreferenced).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from cairn.core.metadata import validate_metadata
from cairn.core.names import (
    validate_artifact_name,
    validate_artifact_type,
    validate_stored_aliases,
    validate_stored_tags,
)
from cairn.progress import ProgressCallback, silent
from cairn.protocol import Backend, CommitRequest, CommitResult, LogRequest
from cairn.sdk._aliases import warn_ignored_aliases

if TYPE_CHECKING:
    from collections.abc import Sequence

    from cairn.core.manifest import Manifest


@dataclasses.dataclass(frozen=True)
class Draft:
    """What a draft contributes to its commit."""

    name: str
    type: str
    description: str | None
    metadata: object
    digest_algorithm: str  # "MD5" | "XXH128"
    entry_algorithm: str  # "md5" | "xxh128"
    storage_region: str | None
    incremental: bool
    ttl_duration_seconds: int | None = None  # wire form (spec §4.12); None: inherit


@dataclasses.dataclass(frozen=True)
class Validated:
    aliases: list[str]
    tags: list[str]
    metadata: dict[str, Any]


def validate(draft: Draft, aliases: Sequence[str] | None, tags: Sequence[str] | None) -> Validated:
    """Check the draft and the log arguments with the rules the store applies to them (the
    functions of ``cairn.core``), so that bad input is refused with its message before
    anything is sent or written.

    Aliases are the requested ones as a set (spec §4.9: the order is lost), sorted; the
    store adds ``latest`` to every new version itself. Raises ``ValueError``/``TypeError``
    with the messages of spec §3.
    """
    validate_artifact_name(draft.name)
    validate_artifact_type(draft.type, draft.name)
    checked_aliases = validate_stored_aliases(aliases)
    checked_tags = validate_stored_tags(tags)
    metadata = validate_metadata(draft.metadata)
    return Validated(sorted(set(checked_aliases)), checked_tags, metadata)


def log_draft(
    backend: Backend,
    draft: Draft,
    manifest: Manifest,
    checked: Validated,
    *,
    entity: str,
    project: str,
    run_id: str | None,
    digest: str,
    distributed_id: str | None = None,
    part: bool = False,
    progress: ProgressCallback = silent,
) -> CommitResult | None:
    """Log ``manifest`` (artifact digest ``digest``) as the next version of ``draft.name``
    in one backend call (``Backend.log``: the backend stores the blobs it lacks from the
    entries' local copies and commits once); with ``distributed_id``, the version the parts
    of that id add up to (with ``manifest``'s entries too), or with ``part`` only a part of
    it (None returned). Warns about aliases the backend ignored.

    Raises: as ``Backend.log``.
    """
    commit = _request(
        draft, manifest, checked, entity, project, run_id, digest, distributed_id=distributed_id
    )
    result = backend.log(LogRequest(commit, part=part), progress)
    if result is not None:
        warn_ignored_aliases(checked.aliases, result.version.aliases)
    return result


def _request(
    draft: Draft,
    manifest: Manifest,
    checked: Validated,
    entity: str,
    project: str,
    run_id: str | None,
    digest: str,
    *,
    distributed_id: str | None = None,
) -> CommitRequest:
    """The commit (or the part of a distributed version) of ``manifest``."""
    return CommitRequest(
        entity=entity,
        project=project,
        collection=draft.name,
        type=draft.type,
        digest=digest,
        digest_algorithm=draft.digest_algorithm,
        manifest_json=None,  # serialised by the backend if it needs the bytes
        description=draft.description,
        metadata=checked.metadata,
        aliases=checked.aliases,
        tags=checked.tags,
        run_id=run_id,
        storage_region=draft.storage_region,
        ttl_duration_seconds=draft.ttl_duration_seconds,
        incremental=draft.incremental,
        manifest=manifest,
        distributed_id=distributed_id,
    )
