"""Commit a version from a finished manifest (DESIGN §3, spec §4.9): the one write path.

Everything that can be checked without the lock is checked first: names, aliases, tags,
metadata (``version_values``: the rules of ``cairn.core`` that the SDK applies too), the
manifest itself, its digest, and that every stored (non-reference) entry's
blob is present. The manifest bytes are then stored as an MD5 blob (all of which a re-log
of the latest version skips: it changes no content). Only then does one
write transaction lock the collection and either add version ``v<next>`` (moving
``latest`` and the requested aliases to it) or, when the digest equals the latest
version's, apply the requested aliases and tags to that version and return it unchanged
(``created=False``). Several processes committing to one collection at once queue on the
lock and get consecutive indices; nothing is written when any check fails.
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from typing import TYPE_CHECKING

from cairn.core.digest import (
    MD5,
    XXH128,
    blob_key,
    digest_bytes,
    is_blob_digest,
)
from cairn.core.ints import INT64_MAX
from cairn.core.names import LATEST
from cairn.db import repositories as repo
from cairn.db.models import (
    COLLECTION_SEQUENCE,
    STATE_COMMITTED,
    ArtifactType,
    Collection,
    Membership,
    Version,
    utcnow,
)
from cairn.errors import CommError, CorruptionError
from cairn.protocol import CommitRequest, CommitResult, VersionInfo
from cairn.protocol_automations import ADD_ARTIFACT_TAG, CREATE_ARTIFACT
from cairn.service import distributed, facts, fields, history, outbox, upload_checks
from cairn.service.authz import WRITE, Gate
from cairn.service.incremental import merged
from cairn.service.known_blobs import KnownBlobs, generation
from cairn.service.limits import checked_size
from cairn.service.lookup import require_run
from cairn.service.manifests import checked_manifest
from cairn.service.registries import refuse_direct_log
from cairn.service.resources import MANIFEST_ALGORITHM, Store
from cairn.service.version_values import VersionValues, checked_values
from cairn.service.wire_models import CollectionRef, version_infos

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Mapping

    from sqlalchemy.orm import Session

    from cairn.core.manifest import Manifest
    from cairn.service.caller import Caller


def _check_manifest(
    store: Store,
    request: CommitRequest,
    digest_algorithm: str,
    known: Mapping[str, set[str]] | None = None,
) -> Manifest:
    """Parse the manifest, check the request's digest against it, check blobs are present
    (except those ``known`` stored: digests by algorithm, see ``known_blobs``). A blob
    whose upload is still being checked in the background is waited for a bounded time
    (``upload_checks.settle``), never checked here.

    Raises:
        ValueError: the manifest is malformed (``manifests.checked_manifest``), an entry
            digest is not a valid digest.
        CommError: a stored entry's blob is not in the store (naming the entry's path).
        NotReadyError: an entry's upload is still being checked (retry later).
        CorruptionError: an entry's upload failed its check (naming the entry's path).
    """
    manifest = checked_manifest(request, digest_algorithm)
    known = known or {}
    empty: set[str] = set()
    known_md5, known_xxh128 = known.get(MD5, empty), known.get(XXH128, empty)
    first_path: dict[tuple[str, str], str] = {}  # each blob to look for, by its first entry
    for path, entry in manifest.entries.items():
        if entry.ref is None:
            # ``entry.algorithm()``, inline: this loop runs once per file of the version.
            if entry.extra.get("alg") == "XXH128":
                blob = (entry.digest, XXH128)
                if blob[0] in known_xxh128:
                    continue  # stored, so a valid digest
            else:
                blob = (entry.digest, MD5)
                if blob[0] in known_md5:
                    continue
            if blob not in first_path:
                if not is_blob_digest(blob[0]):
                    try:
                        blob_key(*blob)  # the error that names what is wrong
                    except ValueError as exc:
                        raise ValueError(
                            f"Invalid digest for artifact entry '{path}': {exc}"
                        ) from None
                first_path[blob] = path
    missing = store.blobs_of(request.entity).missing(list(first_path))
    # Large uploads whose content is being checked in the background: waited for.
    missing, failed = upload_checks.settle(store, request.entity, missing)
    for blob, path in first_path.items():
        if blob in failed:
            raise CorruptionError(
                f"Cannot commit {request.entity}/{request.project}/{request.collection}: "
                f"the uploaded content of '{path}' does not match its digest {blob[0]} "
                "(nothing was stored; upload it again)"
            )
        if blob in missing:
            raise CommError(
                f"Cannot commit {request.entity}/{request.project}/{request.collection}: "
                f"the content of '{path}' ({blob[0]}) was never uploaded"
            )
    return manifest


def _lock_collection(session: Session, store: Store, request: CommitRequest) -> CollectionRef:
    """Get (or create) the request's sequence and lock it for this transaction.

    Raises:
        ValueError: the name is taken by a collection of another type, or by a portfolio.
    """
    project = repo.get_or_create_project(
        session, store.organization, request.entity, request.project
    )
    collection = repo.find_collection(session, project.id, request.collection, for_update=True)
    if collection is None:
        type_row = repo.get_or_create_type(session, project.id, request.type)
        collection = repo.get_or_create_collection(
            session, project.id, type_row.id, request.collection, COLLECTION_SEQUENCE
        )
        # Another writer may have created it meanwhile (PostgreSQL): lock it all the same.
        session.refresh(collection, with_for_update=True)
    type_name = session.get_one(ArtifactType, collection.type_id).name
    if type_name != request.type and not repo.count_members(
        session, [collection.id], (STATE_COMMITTED,)
    ).get(collection.id):
        # Every version of the collection was deleted: the name is free for another type.
        collection.type_id = repo.get_or_create_type(session, project.id, request.type).id
        type_name = request.type
    if type_name != request.type:
        raise ValueError(
            f"Artifact {request.collection} already exists with type '{type_name}'; "
            f"cannot create another with type '{request.type}'"
        )
    if collection.kind != COLLECTION_SEQUENCE:
        raise ValueError(
            f"Artifact collection '{request.collection}' is a portfolio: versions can only be "
            "linked into it, not logged"
        )
    return CollectionRef(
        row=collection, entity=request.entity, project=request.project, type_name=type_name
    )


@dataclasses.dataclass(frozen=True)
class _Content:
    """The checked manifest of a new version, its blob stored."""

    manifest_digest: str
    size: int
    file_count: int


@dataclasses.dataclass(frozen=True)
class _Prepared:
    """What the checks outside the lock produced, ready to be written."""

    values: VersionValues
    # None when the request re-logs the latest version (a no-op): checked under the lock
    # only if another version landed meanwhile.
    content: _Content | None


def _prepare(
    store: Store,
    request: CommitRequest,
    values: VersionValues,
    known: KnownBlobs | None,
    epoch: int,
) -> _Prepared:
    """Check the request's manifest and store its blob (see ``commit_version`` errors),
    unless the request re-logs the latest version."""
    content = None
    if not _relogs_latest(store, request, values.digest_algorithm):
        known_now = known.known(generation(store, epoch)) if known is not None else None
        content = _store_content(store, request, values.digest_algorithm, known_now)
    return _Prepared(values=values, content=content)


def _store_content(
    store: Store,
    request: CommitRequest,
    digest_algorithm: str,
    known: Mapping[str, set[str]] | None = None,
) -> _Content:
    """Check the manifest (``_check_manifest``) and store its bytes as a blob."""
    manifest = _check_manifest(store, request, digest_algorithm, known)
    checked_size(manifest.size, "Artifact size (the sum of its entries' sizes)")
    blobs = store.blobs_of(request.entity)
    manifest_blob = blobs.put_bytes(request.manifest_bytes(), MANIFEST_ALGORITHM)
    return _Content(manifest_blob.digest, manifest.size, len(manifest.entries))


def _relogs_latest(store: Store, request: CommitRequest, digest_algorithm: str) -> bool:
    """Whether the request re-logs the collection's latest committed version: same digest
    and algorithm and, for a manifest from the wire, the same manifest bytes.

    Such a commit is a no-op, so its manifest need not be checked nor stored. A manifest
    made in this process (``request.manifest``) had its digest computed from it by the
    caller, so an equal digest suffices and the bytes are never made; one from the wire is
    trusted only byte for byte (else it is parsed and matched to its digest as any other).
    A version landing before the commit takes its lock gets the full check under the lock.
    """
    with store.db.read() as session:
        latest = repo.latest_digests(
            session, request.entity, request.project, request.collection, (STATE_COMMITTED,)
        )
    if latest is None or latest[:2] != (request.digest, digest_algorithm):
        return False
    if request.manifest is not None:
        return True
    return latest[2] == digest_bytes(request.manifest_bytes(), MANIFEST_ALGORITHM)


def _add_version(
    session: Session,
    ref: CollectionRef,
    request: CommitRequest,
    prepared: _Prepared,
    content: _Content,
    run_pk: int | None,
    history_step: int | None,
    created_at: dt.datetime | None,
) -> Version:
    """Insert version ``v<next_index>`` of the locked collection and its birth membership
    (created now, or at ``created_at``: a copy keeps its source's time)."""
    collection: Collection = ref.row
    now = utcnow()
    born = created_at or now
    index = collection.next_index
    collection.next_index = index + 1
    collection.updated_at = now
    version = Version(
        collection_id=collection.id,
        index=index,
        type_id=collection.type_id,
        digest=request.digest,
        digest_algorithm=prepared.values.digest_algorithm,
        manifest_digest=content.manifest_digest,
        size=content.size,
        file_count=content.file_count,
        state=STATE_COMMITTED,
        description=request.description,
        metadata_=prepared.values.metadata,
        ttl_duration_seconds=prepared.values.ttl_seconds,
        ttl_is_inherited=prepared.values.ttl_inherited,
        history_step=history_step,
        commit_hash=secrets.token_hex(6),
        storage_region=request.storage_region,
        logged_by_run_id=run_pk,
        created_at=born,
        updated_at=now,
        committed_at=born,
    )
    session.add(version)
    session.flush()
    session.add(
        Membership(collection_id=collection.id, index=index, version_id=version.id, created_at=now)
    )
    return version


def _authorize(gate: Gate, request: CommitRequest) -> None:
    refuse_direct_log(gate, request.entity, request.project)
    gate.require(WRITE, request.entity, request.project)


def _record_events(
    session: Session,
    store: Store,
    caller: Caller,
    info: VersionInfo,
    collection: Collection,
    version_pk: int,
    created: bool,
    aliased: list[str],
    tagged: list[str],
) -> None:
    """The automation events of a commit (``outbox``): the version's creation, each alias
    it gained, each tag added."""
    if created:
        outbox.record_version(
            session, store, caller, CREATE_ARTIFACT, info, collection,
            aliases=[a for a in aliased if a != LATEST], tags=tagged,
        )  # fmt: skip
    outbox.record_aliases(session, store, caller, info, collection, aliased)
    outbox.record_tags(session, store, caller, ADD_ARTIFACT_TAG, info, version_pk, tagged)


def commit_version(
    store: Store,
    caller: Caller,
    request: CommitRequest,
    known: KnownBlobs | None = None,
    created_at: dt.datetime | None = None,
) -> CommitResult:
    """Commit ``request`` as the next version of its collection, or no-op on equal digest.

    The request's values are checked first, once (``version_values.checked_values``);
    ``latest`` is moved to every new version, whatever aliases the request names. The
    collection (and its project and type) is created on first use. Blobs ``known``
    stored in the store's current generation are not looked for again. An incremental
    request is merged onto its base first (``incremental.merged``); a request with a
    ``distributed_id`` finishes that distributed version (``distributed.gathered``). The
    caller needs the ``write`` role on the project, checked before anything is stored and
    again in the transaction that adds the version. The time it took is reported to
    ``store.observer``. ``created_at``: the new version's creation time, when it is a copy
    (``service.replication``; never from a client's commit).

    Raises:
        ValueError: invalid names, type, aliases, tags, description, metadata or manifest
            (over a limit of ``store.limits`` included); a TTL over
            ``core.ttl.MAX_TTL_SECONDS`` or not an integer; a ``history_step`` that is not an
            integer from 0 to 2^63-1; a manifest whose sizes add up to more than 2^63-1; a
            digest that does not match the manifest; a collection name taken by another
            type.
        NotFoundError: the caller cannot read the project (or its registry).
        AuthorizationError: the caller may read but not write it, or it is a registry
            project (versions enter a registry only by linking).
        CommError: a stored entry's blob is missing, or ``request.run_id`` names no run of
            the project.
        NotReadyError: a large upload of an entry is still being checked in the background
            (``upload_checks``); nothing was done, the commit may be repeated.
        CorruptionError: an entry's upload failed its check (nothing of it was stored).
        OSError: the manifest blob cannot be written.
    """
    started = time.monotonic()
    values = checked_values(request, store.limits)
    with store.db.read() as session:
        _authorize(Gate(session, store, caller), request)
    finished = None
    if request.distributed_id:  # the last part: everything the parts added up to
        request, finished = distributed.gathered(store, caller, request)
    request = merged(store, caller, request)  # an incremental version: onto its base
    with store.db.read() as session:
        epoch = facts.gc_epoch(session)
    prepared = _prepare(store, request, values, known, epoch)
    with store.db.write() as session:
        _authorize(Gate(session, store, caller), request)
        collected = facts.gc_epoch(session, lock=True) != epoch
        ref = _lock_collection(session, store, request)
        run_pk = None
        if request.run_id is not None:
            run_pk = require_run(session, request.entity, request.project, request.run_id).id
        latest = repo.member_by_alias(session, ref.row.id, LATEST, (STATE_COMMITTED,))
        if latest is not None and latest[1].digest == request.digest:
            index, version = latest
            created = False
            aliased = repo.set_aliases(session, ref.row.id, version.id, values.aliases)
            tagged = repo.add_tags(session, version.id, values.tags)
            if tagged or aliased:
                version.updated_at = utcnow()
        else:
            content = prepared.content
            if content is None or collected:
                # Checked again (or for the first time: the latest version was re-logged
                # when the checks ran, and another landed since) under the lock, which keeps
                # a garbage collection out until this commit is done.
                content = _store_content(store, request, values.digest_algorithm)
            history_step = request.history_step
            if history_step is None and run_pk is not None:
                history_step = history.next_step(session, run_pk)
                if history_step is not None:  # after a step of 2^63-1: that step
                    history_step = min(history_step, INT64_MAX)
            version = _add_version(
                session, ref, request, prepared, content, run_pk, history_step, created_at
            )
            index, created = version.index, True
            aliased = repo.set_aliases(session, ref.row.id, version.id, [LATEST, *values.aliases])
            tagged = repo.add_tags(session, version.id, values.tags)
        fields.check_totals(session, ref.row.id, version.id, store.limits)
        info = version_infos(session, ref, [(index, version)])[0]
        _record_events(session, store, caller, info, ref.row, version.id, created, aliased, tagged)
    if finished is not None:
        distributed.forget(store, finished)
    store.observer.committed(time.monotonic() - started, created)
    return CommitResult(version=info, created=created)
