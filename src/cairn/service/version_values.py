"""The values a new version is logged with, checked once, for every way a version arrives:
a commit of Cairn's SDK (embedded, or over the REST API) and a draft of the official
client (``createArtifact``, checked again when its manifest commits it).

Each single value has its rule in ``cairn.core`` (names, type, aliases, tags, metadata,
TTL), the functions Cairn's SDK calls before it sends anything; ``fields`` adds the
store's limits. Nothing here reads or writes the store.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from cairn.core.digest import normalize_digest_algorithm
from cairn.core.names import (
    check_artifact_type,
    validate_artifact_name,
    validate_entity_name,
    validate_project_name,
)
from cairn.core.ttl import ttl_of_new_version
from cairn.service import fields
from cairn.service.limits import Limits, checked_step

if TYPE_CHECKING:
    from cairn.protocol import CommitRequest


@dataclasses.dataclass(frozen=True)
class VersionValues:
    """A request's values as the new version stores them."""

    aliases: list[str]  # the requested ones, without ``latest`` and ``vN`` (``fields``)
    tags: list[str]
    metadata: dict[str, Any]
    digest_algorithm: str  # "MD5" | "XXH128"
    ttl_seconds: int | None
    ttl_inherited: bool


def checked_values(request: CommitRequest, limits: Limits) -> VersionValues:
    """The values of ``request`` (not its manifest) once each is checked: entity, project
    and artifact names, type, TTL, history step, aliases, tags, description, metadata and
    digest algorithm.

    Raises:
        ValueError: any of them invalid (the message of its ``cairn.core`` rule), over a
            limit of ``limits``, a TTL over ``core.ttl.MAX_TTL_SECONDS`` or not an
            integer, a ``history_step`` that is not an integer from 0 to 2^63-1.
    """
    validate_entity_name(request.entity)
    validate_project_name(request.project)
    validate_artifact_name(request.collection)
    check_artifact_type(request.type)
    ttl_seconds, ttl_inherited = ttl_of_new_version(request.ttl_duration_seconds)
    if request.history_step is not None:
        checked_step(request.history_step, "history_step")
    aliases = fields.user_aliases(request.aliases, limits)
    tags = fields.tags(request.tags, limits)
    fields.description(request.description, limits)
    return VersionValues(
        aliases=aliases,
        tags=tags,
        metadata=fields.metadata(request.metadata, limits),
        digest_algorithm=normalize_digest_algorithm(request.digest_algorithm),
        ttl_seconds=ttl_seconds,
        ttl_inherited=ttl_inherited,
    )
