"""Distributed versions: one version written in parts by several runs (W&B's
``run.upsert_artifact(a, distributed_id=D)`` from each writer, then
``run.finish_artifact(a, distributed_id=D)`` from one of them).

Each part's entries join the entries of the parts before it in a draft kept per
``(project, collection, D)`` (table ``distributed_draft``; its manifest so far is a blob of
the entity, a later part's entry winning over an earlier one of the same path). Finishing
commits everything the parts added up to, with the finisher's own entries, as one version
with all the usual checks, and forgets the draft so that ``D`` can start another version
(``commit.commit_version`` of a request with a ``distributed_id``).
Every step needs the caller's ``write`` role on the project.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from cairn.core.digest import entry_algorithm, normalize_digest_algorithm
from cairn.core.manifest import Manifest
from cairn.core.names import validate_artifact_name
from cairn.core.paths import clash_error, tree_clash
from cairn.db import repositories as repo
from cairn.db.models import NAME_LENGTH, DistributedDraft, utcnow
from cairn.errors import NotFoundError
from cairn.service.authz import WRITE, Gate
from cairn.service.manifests import checked_manifest
from cairn.service.registries import refuse_direct_log
from cairn.service.resources import MANIFEST_ALGORITHM, Store

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from cairn.protocol import CommitRequest
    from cairn.service.caller import Caller


def _locked(session: Session, store: Store, request: CommitRequest) -> DistributedDraft:
    """The request's distributed draft, locked for this transaction (created if new)."""
    project = repo.get_or_create_project(
        session, store.organization, request.entity, request.project
    )
    query = (
        select(DistributedDraft)
        .where(
            DistributedDraft.project_id == project.id,
            DistributedDraft.collection == request.collection,
            DistributedDraft.distributed_id == request.distributed_id,
        )
        .with_for_update()
    )
    row = session.scalars(query).one_or_none()
    if row is not None:
        return row
    now = utcnow()
    try:
        with session.begin_nested():
            row = DistributedDraft(
                project_id=project.id,
                collection=request.collection,
                distributed_id=request.distributed_id,
                manifest_digest=None,
                created_at=now,
                updated_at=now,
            )
            session.add(row)
    except IntegrityError:  # another writer created it meanwhile
        return session.scalars(query).one()
    return row


def _so_far(store: Store, entity: str, row: DistributedDraft) -> Manifest | None:
    if row.manifest_digest is None:
        return None
    data = store.blobs_of(entity).read_bytes(row.manifest_digest, MANIFEST_ALGORITHM)
    return Manifest.from_json(data)


def _joined(previous: Manifest | None, part: Manifest) -> Manifest:
    """The entries of ``previous`` and ``part`` (``part``'s win). Raises: ValueError (a path
    that is a file in one and a folder in the other)."""
    if previous is None:
        return part
    joined = Manifest(part.storage_policy, dict(part.storage_policy_config))
    joined.entries.update(previous.entries)
    joined.entries.update(part.entries)
    clash = tree_clash(joined.entries)
    if clash is not None:
        raise clash_error(*clash)
    return joined


def _check(store: Store, caller: Caller, request: CommitRequest) -> Manifest:
    """The request's checked manifest, once the caller may write there.

    Raises: ValueError (no distributed id, an invalid name or manifest), NotFoundError /
    AuthorizationError (the caller may not write to the project, or it is a registry's).
    """
    with store.db.read() as session:  # who may not write there learns nothing else
        gate = Gate(session, store, caller)
        refuse_direct_log(gate, request.entity, request.project)
        gate.require(WRITE, request.entity, request.project)
    if not request.distributed_id:
        raise ValueError("A part of a distributed version needs its distributed_id")
    if len(request.distributed_id) > NAME_LENGTH or not request.distributed_id.isprintable():
        raise ValueError(f"A distributed_id is printable text of at most {NAME_LENGTH} characters")
    validate_artifact_name(request.collection)
    return checked_manifest(request, normalize_digest_algorithm(request.digest_algorithm))


def add_part(store: Store, caller: Caller, request: CommitRequest) -> None:
    """Add the entries of ``request`` (a part, ``request.distributed_id`` set) to its
    distributed version, which stays unfinished: nothing is committed yet.

    Raises: ValueError (see ``_check``; a file/folder clash with an earlier part),
    NotFoundError / AuthorizationError, OSError (the manifest so far cannot be stored).
    """
    part = _check(store, caller, request)
    blobs = store.blobs_of(request.entity)
    with store.db.write() as session:
        row = _locked(session, store, request)
        joined = _joined(_so_far(store, request.entity, row), part)
        row.manifest_digest = blobs.put_bytes(joined.to_json_bytes(), MANIFEST_ALGORITHM).digest
        row.updated_at = utcnow()


def gathered(store: Store, caller: Caller, request: CommitRequest) -> tuple[CommitRequest, int]:
    """The commit that finishes the distributed version of ``request.distributed_id``: the
    entries of every part so far and of ``request`` itself, with ``request``'s name, type,
    aliases, tags, description and metadata; and the draft to ``forget`` once committed.

    Raises: what ``add_part`` raises; NotFoundError when no part was ever added and
    ``request`` has no entries either.
    """
    part = _check(store, caller, request)
    with store.db.write() as session:
        row = _locked(session, store, request)
        joined = _joined(_so_far(store, request.entity, row), part)
        draft_id = row.id
    if not joined.entries:
        raise NotFoundError(f"distributed artifact '{request.distributed_id}' has no parts")
    algorithm = entry_algorithm(normalize_digest_algorithm(request.digest_algorithm))
    whole = dataclasses.replace(
        request,
        distributed_id=None,
        manifest_json=None,
        manifest=joined,
        digest=joined.digest(algorithm),
    )
    return whole, draft_id


def forget(store: Store, draft_id: int) -> None:
    """Drop a finished distributed draft (its id can start another version)."""
    with store.db.write() as session:
        done = session.get(DistributedDraft, draft_id)
        if done is not None:
            session.delete(done)
