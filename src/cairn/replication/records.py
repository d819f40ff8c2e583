"""What moves from a source store to a destination: plain records, no I/O.

A source (an embedded store, a Cairn server, a W&B server) describes its collections,
versions and runs with these, whatever it stores them as; the engine turns them into the
protocol's replication requests.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cairn.protocol import ReplicaLink

RunRef = tuple[str, str, str]  # (entity, project, run id)


@dataclasses.dataclass(frozen=True)
class CollectionRecord:
    """A sequence of the source (where versions are born)."""

    entity: str
    project: str
    name: str
    type: str
    description: str | None = None
    tags: tuple[str, ...] = ()

    @property
    def path(self) -> str:
        return f"{self.entity}/{self.project}/{self.name}"


@dataclasses.dataclass(frozen=True)
class VersionRecord:
    """One committed version of a source's sequence.

    ``manifest`` is the W&B v1 manifest's bytes (reference entries stay references);
    ``ttl_seconds``: None inherits the destination's default, ``core.ttl.TTL_DISABLED``
    disables, a positive value is kept (and counts from ``created_at``). ``aliases`` are
    those of the sequence (``latest`` included, never ``vN``); ``links`` its registry
    links.
    """

    source_id: str
    collection: CollectionRecord
    index: int
    digest: str
    digest_algorithm: str  # "MD5" or "XXH128"
    manifest: bytes
    created_at: str  # ISO 8601, UTC
    aliases: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)
    description: str | None = None
    ttl_seconds: int | None = None
    history_step: int | None = None
    logged_by: RunRef | None = None
    used_by: tuple[RunRef, ...] = ()
    links: tuple[ReplicaLink, ...] = ()


@dataclasses.dataclass(frozen=True)
class RunRecord:
    """A run a copied version names (its logger or a user), with its history."""

    entity: str
    project: str
    run_id: str
    name: str
    job_type: str | None = None
    group: str | None = None
    config: dict[str, Any] = dataclasses.field(default_factory=dict)
    summary: dict[str, Any] = dataclasses.field(default_factory=dict)
    state: str = "finished"
    created_at: str | None = None
    history: tuple[dict[str, Any], ...] = ()  # rows with their ``_step``, by step

    @property
    def ref(self) -> RunRef:
        return (self.entity, self.project, self.run_id)
