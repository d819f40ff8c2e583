"""Deleting versions and links (spec §4.13): soft deletion, alias rules, ``latest`` repair.

A deleted version keeps its row (state ``DELETED``) and its memberships, so its indices are
never reused; it disappears from every selector and listing, and its links with it. Its
bytes are freed later by the garbage collector (``service.gc``) once nothing live needs
them. Deleting a version that holds aliases is refused unless ``delete_aliases`` is given,
as W&B's server does. When a removed alias was ``latest``, ``latest`` moves to the newest
remaining member of that collection, so ``name:latest`` keeps resolving.

Every change of a collection's aliases holds that collection's row locked (PostgreSQL
``FOR UPDATE``; SQLite's write lock covers it), as a commit does: with several app
processes, a sweep or a deletion repairing ``latest`` while a commit moves it, or two
edits moving one alias, happen one after the other instead of both inserting the alias
(a unique violation) or one losing it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from cairn.db.models import (
    STATE_COMMITTED,
    STATE_DELETED,
    Alias,
    Collection,
    Membership,
    Version,
    utcnow,
)
from cairn.errors import CommError, NotFoundError
from cairn.service.authz import WRITE, Gate
from cairn.service.lookup import require_version

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.orm import Session

    from cairn.service.caller import Caller
    from cairn.service.resources import Store

LATEST = "latest"


def restore_latest(session: Session, collection_ids: set[int]) -> None:
    """Give ``latest`` to the newest committed member of each collection that lost it."""
    session.flush()
    for collection_id in collection_ids:
        has_latest = session.scalars(
            select(Alias.id).where(Alias.collection_id == collection_id, Alias.alias == LATEST)
        ).first()
        if has_latest is not None:
            continue
        newest = session.scalars(
            select(Membership.version_id)
            .join(Version, Membership.version_id == Version.id)
            .where(Membership.collection_id == collection_id, Version.state == STATE_COMMITTED)
            .order_by(Membership.index.desc())
            .limit(1)
        ).first()
        if newest is not None:
            session.add(
                Alias(
                    collection_id=collection_id,
                    alias=LATEST,
                    version_id=newest,
                    created_at=utcnow(),
                )
            )


def lock_collections(session: Session, version_ids: Sequence[int]) -> None:
    """Lock, in id order (so two transactions never wait for each other in a cycle), every
    collection the versions are members of, until the transaction ends."""
    if not version_ids:
        return
    members = select(Membership.collection_id).where(Membership.version_id.in_(version_ids))
    session.execute(
        select(Collection.id)
        .where(Collection.id.in_(members))
        .order_by(Collection.id)
        .with_for_update()
    ).all()


def retire_version(session: Session, version: Version) -> None:
    """Mark ``version`` deleted and drop its aliases everywhere (``latest`` is repaired),
    holding its collections locked; nothing if another transaction deleted it first."""
    lock_collections(session, [version.id])
    session.refresh(version)
    if version.state == STATE_DELETED:
        return
    aliases = list(session.scalars(select(Alias).where(Alias.version_id == version.id)))
    touched = {alias.collection_id for alias in aliases if alias.alias == LATEST}
    for alias in aliases:
        session.delete(alias)
    version.state = STATE_DELETED
    version.updated_at = utcnow()
    restore_latest(session, touched)


def delete_version(store: Store, caller: Caller, version_id: str, delete_aliases: bool) -> None:
    """Soft-delete a source version and, with it, its links (``write`` on its source project).

    Raises:
        CommError: the version does not exist (or is already deleted, or the caller cannot
            read it); it has aliases and ``delete_aliases`` is False (the message lists
            them; nothing is changed).
        AuthorizationError: the caller may read it but not write to its source project.
    """
    with store.db.write() as session:
        version = require_version(session, version_id)
        Gate(session, store, caller).require_version(version, WRITE, version_id)
        lock_collections(session, [version.id])
        session.refresh(version)
        if version.state == STATE_DELETED:
            raise NotFoundError(f"artifact '{version_id}' not found")
        held = list(session.scalars(select(Alias.alias).where(Alias.version_id == version.id)))
        if held and not delete_aliases:
            raise CommError(
                f"Cannot delete artifact '{version_id}': it has aliases "
                f"({', '.join(sorted(set(held)))}); pass delete_aliases=True to delete them too"
            )
        retire_version(session, version)
