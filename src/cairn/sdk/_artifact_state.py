"""``ArtifactState``: everything one ``Artifact`` knows, as one record.

``cairn.sdk.artifact.Artifact`` is a thin public surface over this record; the verb
modules (``_artifact_adding``, ``_artifact_reading``, ``_artifact_edits``,
``_artifact_logging``) take it and change it. A draft's record comes from ``draft_state``,
a logged version's from ``logged_state`` (or ``hydrate`` on an existing record, after a
log or a save). This module sits at the bottom of the artifact's layers: it imports no
other part of the artifact.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from cairn.core.digest import normalize_digest_algorithm
from cairn.core.ttl import ttl_to_wire
from cairn.progress import ProgressCallback, default_callback
from cairn.sdk.backend_cache import backend_for
from cairn.settings import Settings

if TYPE_CHECKING:
    import tempfile
    from pathlib import Path

    from cairn.core.manifest import Manifest, ManifestEntry
    from cairn.protocol import Backend, VersionInfo

# Wire values of ttlDurationSeconds (spec §4.12).


@dataclasses.dataclass(eq=False)
class ArtifactState:
    """The attributes of one artifact, draft or logged (see ``Artifact`` for their meaning).

    ``source_*`` name the sequence the version was born in, the others the collection it
    was fetched through; ``part_of`` is the distributed id a draft was added to as a part;
    ``ttl_changed`` says the TTL must be sent on the next log or save.
    """

    name: str
    type: str
    digest_algorithm: str
    backend: Backend | None = None
    id: str | None = None
    entity: str | None = None
    project: str | None = None
    version: str | None = None
    source_entity: str | None = None
    source_project: str | None = None
    source_name: str = ""
    source_version: str | None = None
    is_link: bool = False
    description: str | None = None
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)
    ttl_duration_seconds: int | None = None
    ttl_is_inherited: bool = True
    ttl_changed: bool = False
    aliases: list[str] = dataclasses.field(default_factory=list)
    tags: list[str] = dataclasses.field(default_factory=list)
    incremental: bool = False
    part_of: str | None = None
    state: str = "PENDING"
    size: int | None = None
    digest: str | None = None
    storage_region: str | None = None
    manifest: Manifest | None = None
    commit_hash: str | None = None
    file_count: int | None = None
    created_at: str | None = None
    updated_at: str | None = None
    linked_at: str | None = None
    history_step: int | None = None
    final: bool = False
    tmp_dir: tempfile.TemporaryDirectory[str] | None = None
    added_local_paths: dict[str, ManifestEntry] = dataclasses.field(default_factory=dict)

    def is_draft(self) -> bool:
        """True until the artifact is logged."""
        return self.state == "PENDING"

    def logged_backend(self) -> Backend:
        """The backend a logged artifact was read from or logged to."""
        assert self.backend is not None, "a logged artifact always has a backend"
        return self.backend

    def draft_backend(self) -> Backend:
        """The backend a draft stores added bytes in, opened from the settings on first use."""
        if self.backend is None:
            self.backend = backend_for()
        return self.backend

    def progress(self) -> ProgressCallback:
        """The progress callback of this artifact's settings (a draft's come from the env)."""
        settings = self.backend.settings if self.backend is not None else Settings.load()
        return default_callback(settings.silent)

    def default_root(self, include_version: bool = True) -> Path:
        """Where a logged artifact downloads by default: the artifact dir / source name."""
        name = self.source_name if include_version else self.source_name.split(":")[0]
        return self.logged_backend().settings.artifact_dir / name

    def ttl_wire(self) -> int | None:
        """The TTL to send: None when unchanged, -1 inherit, -2 disabled, else seconds."""
        if not self.ttl_changed:
            return None
        return ttl_to_wire(self.ttl_duration_seconds, self.ttl_is_inherited)


def draft_state(name: str, type_: str, digest_algorithm: str) -> ArtifactState:
    """The record of a new draft named ``name`` (nothing validated here)."""
    return ArtifactState(name=name, type=type_, digest_algorithm=digest_algorithm, source_name=name)


def logged_state(info: VersionInfo, backend: Backend) -> ArtifactState:
    """The record of the logged version ``info`` (as seen through ``info.collection``)."""
    state = draft_state(info.collection, info.type, info.digest_algorithm)
    hydrate(state, info, backend)
    return state


def hydrate(state: ArtifactState, info: VersionInfo, backend: Backend) -> None:
    """Make ``state`` the logged version ``info``; the manifest is read again lazily."""
    state.backend = backend
    state.id = info.id
    state.entity, state.project = info.entity, info.project
    state.version = f"v{info.version_index}"
    state.name = f"{info.collection}:{state.version}"
    state.source_entity, state.source_project = info.source_entity, info.source_project
    state.source_version = f"v{info.source_version_index}"
    state.source_name = f"{info.source_collection}:{state.source_version}"
    state.is_link = (info.entity, info.project, info.collection) != (
        info.source_entity,
        info.source_project,
        info.source_collection,
    )
    state.type = info.type
    state.description = info.description
    state.metadata = dict(info.metadata)
    state.ttl_duration_seconds = info.ttl_duration_seconds
    state.ttl_is_inherited = info.ttl_is_inherited
    state.ttl_changed = False
    state.aliases = list(info.aliases)
    state.tags = list(info.tags)
    state.state = info.state
    state.size = info.size
    state.digest = info.digest
    state.digest_algorithm = normalize_digest_algorithm(info.digest_algorithm)
    state.storage_region = info.storage_region
    state.manifest = None
    state.commit_hash = info.commit_hash
    state.file_count = info.file_count
    state.created_at = info.created_at
    state.updated_at = info.updated_at
    state.linked_at = info.linked_at
    state.history_step = info.history_step
    state.final = True
