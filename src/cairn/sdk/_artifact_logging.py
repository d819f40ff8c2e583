"""Logging a draft in a run: the one way ``Run.log_artifact`` (and the distributed
``upsert_artifact`` / ``finish_artifact``) and ``Artifact.save()`` on a draft commit one.

``log_draft`` takes the draft's ``ArtifactState`` and a ``RunTarget`` (the run's backend,
entity, project and id); ``_commit`` validates, and logs in one ``Backend.log`` call.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

from cairn.core.digest import entry_algorithm
from cairn.sdk import _commit
from cairn.sdk._artifact_state import ArtifactState, hydrate
from cairn.sdk._gc_pause import paused_gc

if TYPE_CHECKING:
    from collections.abc import Sequence

    from cairn.sdk._upward import RunTarget


def log_draft(
    state: ArtifactState,
    target: RunTarget,
    *,
    aliases: Sequence[str] | None,
    tags: Sequence[str] | None,
    distributed_id: str | None = None,
    finish: bool = True,
) -> None:
    """Log the draft ``state`` as the next version of its collection (see ``Artifact._log``).

    A run in "disabled" mode (no backend) only finalizes the draft.
    """
    backend = target.backend
    if backend is None:
        state.final = True
        return
    if not state.is_draft() or state.part_of is not None:
        return
    draft = _commit.Draft(
        name=state.source_name,
        type=state.type,
        description=state.description,
        metadata=state.metadata,
        digest_algorithm=state.digest_algorithm,
        entry_algorithm=entry_algorithm(state.digest_algorithm),
        storage_region=state.storage_region,
        incremental=state.incremental,
        ttl_duration_seconds=state.ttl_wire(),
    )
    checked = _commit.validate(draft, aliases, tags)
    state.final = True
    manifest = state.manifest  # with ``incremental``, merged onto the latest by the backend
    assert manifest is not None, "a draft always has a manifest"
    entity, project, run_id = target.entity, target.project, target.run_id
    with paused_gc():  # many small objects kept: see _gc_pause
        digest = manifest.digest(draft.entry_algorithm)
        result = _commit.log_draft(
            backend,
            draft,
            manifest,
            checked,
            entity=entity,
            project=project,
            run_id=run_id,
            digest=digest,
            distributed_id=distributed_id,
            part=bool(distributed_id) and not finish,
            progress=state.progress(),
        )
    if result is None:  # a part of a distributed version: this draft is done
        state.part_of = distributed_id
        return
    if not result.created:
        warnings.warn(
            f'Artifact "{state.source_name}" already exists with the same content. '
            "No new version will be created.",
            UserWarning,
            stacklevel=4,  # past Artifact._log and Run._log_prepared, as before
        )
    hydrate(state, result.version, backend)
