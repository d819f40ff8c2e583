"""Lineage: which run logged a version, which runs used it, what a run logged and used.

A use recorded through a link is a use of the linked version itself, so ``used_by`` of a
source includes the runs that used it through its links (spec §4.14). Deleted versions are
left out of a run's lists.
"""

from __future__ import annotations

from sqlalchemy import select

from cairn.db.models import (
    STATE_COMMITTED,
    Collection,
    Entity,
    Project,
    Run,
    RunInput,
    Version,
)
from cairn.protocol import Lineage, VersionInfo
from cairn.service.lookup import collection_ref, require_run, require_version
from cairn.service.store import Store
from cairn.service.views import run_info, version_infos


def lineage(store: Store, version_id: str) -> Lineage:
    """The run that logged the version (None if none) and the runs that used it.

    Raises:
        CommError: the version does not exist.
    """
    with store.db.read() as session:
        version = require_version(session, version_id)
        query = (
            select(Run, Project.name, Entity.name)
            .join(Project, Run.project_id == Project.id)
            .join(Entity, Project.entity_id == Entity.id)
        )
        logged_by = None
        if version.logged_by_run_id is not None:
            run, project, entity = session.execute(
                query.where(Run.id == version.logged_by_run_id)
            ).one()
            logged_by = run_info(run, entity, project)
        used = session.execute(
            query.join(RunInput, RunInput.run_id == Run.id)
            .where(RunInput.version_id == version.id)
            .order_by(RunInput.id)
        ).all()
        return Lineage(
            logged_by=logged_by,
            used_by=[run_info(run, entity, project) for run, project, entity in used],
        )


def run_versions(
    store: Store, entity: str, project: str, run_id: str, used: bool
) -> list[VersionInfo]:
    """The committed versions a run logged (``used`` False) or used, oldest first, each
    seen through its source sequence.

    Raises:
        CommError: the run does not exist.
    """
    with store.db.read() as session:
        run = require_run(session, entity, project, run_id)
        if used:
            query = (
                select(Version)
                .join(RunInput, RunInput.version_id == Version.id)
                .where(RunInput.run_id == run.id)
                .order_by(RunInput.id)
            )
        else:
            query = select(Version).where(Version.logged_by_run_id == run.id).order_by(Version.id)
        versions = [v for v in session.scalars(query) if v.state == STATE_COMMITTED]
        infos = []
        for version in versions:
            ref = collection_ref(session, session.get_one(Collection, version.collection_id))
            infos.extend(version_infos(session, ref, [(version.index, version)]))
        return infos
