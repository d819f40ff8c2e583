"""Listing projects with their version counts: what ``cairn ls`` shows with no argument.

Which projects a caller may read is ``browse.list_projects``'s answer (the gate decides);
this adds, in one grouped query, how many committed versions and links each one holds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, select

from cairn.db.models import STATE_COMMITTED, Collection, Entity, Membership, Project, Version
from cairn.protocol import ProjectInfo
from cairn.service.browse import MAX_PAGE, list_projects

if TYPE_CHECKING:
    from cairn.service.caller import Caller
    from cairn.service.resources import Store


def project_infos(
    store: Store, caller: Caller, entity: str | None, limit: int
) -> list[ProjectInfo]:
    """Up to ``limit`` projects the caller may read (of ``entity`` only, when given), by
    entity then name, each with its count of committed versions and links.

    Raises:
        ValueError: ``limit`` is not within 1..500.
    """
    if not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"Invalid limit {limit}: expected 1..{MAX_PAGE}")
    rows = list_projects(store, caller, entity, limit)
    query = (
        select(Entity.name, Project.name, func.count())
        .select_from(Membership)
        .join(Version, Membership.version_id == Version.id)
        .join(Collection, Membership.collection_id == Collection.id)
        .join(Project, Collection.project_id == Project.id)
        .join(Entity, Project.entity_id == Entity.id)
        .where(Version.state == STATE_COMMITTED)
        .group_by(Entity.name, Project.name)
    )
    if entity is not None:
        query = query.where(Entity.name == entity)
    with store.db.read() as session:
        counts = {(e, p): int(n) for e, p, n in session.execute(query)}
    return [
        ProjectInfo(
            row.entity, row.project, row.created_at, counts.get((row.entity, row.project), 0)
        )
        for row in rows
    ]
