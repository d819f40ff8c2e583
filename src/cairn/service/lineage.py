"""Lineage: which run logged a version, which runs used it, what a run logged and used.

A use recorded through a link is a use of the linked version itself, so ``used_by`` of a
source includes the runs that used it through its links (spec §4.14). Deleted versions are
left out of a run's lists. Lineage crosses entities (a team's run uses a version linked
into a registry), so every run and version of an answer is one the caller may read:
the others are left out, as if they did not exist.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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
from cairn.errors import NotFoundError
from cairn.protocol import Lineage, VersionInfo
from cairn.service.authz import READ, Gate
from cairn.service.lookup import collection_ref, require_run, require_version
from cairn.service.wire_models import run_info, version_infos

if TYPE_CHECKING:
    from cairn.service.caller import Caller
    from cairn.service.resources import Store


def lineage(store: Store, caller: Caller, version_id: str) -> Lineage:
    """The run that logged the version (None if none, or unreadable) and the runs that used
    it, of those the caller may read.

    Raises:
        CommError: the version does not exist, or the caller cannot read it.
    """
    with store.db.read() as session:
        version = require_version(session, version_id)
        gate = Gate(session, store, caller)
        gate.require_version(version, READ, version_id)
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
            if gate.can(READ, entity, project):
                logged_by = run_info(run, entity, project)
        used = session.execute(
            query.join(RunInput, RunInput.run_id == Run.id)
            .where(RunInput.version_id == version.id)
            .order_by(RunInput.id)
        ).all()
        return Lineage(
            logged_by=logged_by,
            used_by=[
                run_info(run, entity, project)
                for run, project, entity in used
                if gate.can(READ, entity, project)
            ],
        )


def run_versions(
    store: Store, caller: Caller, entity: str, project: str, run_id: str, used: bool
) -> list[VersionInfo]:
    """The committed versions a run logged (``used`` False) or used, oldest first, each
    seen through its source sequence; only those the caller may read.

    Raises:
        CommError: the run does not exist, or the caller cannot read its project.
    """
    with store.db.read() as session:
        gate = Gate(session, store, caller)
        if not gate.can(READ, entity, project):
            raise NotFoundError(f"run '{entity}/{project}/{run_id}' not found")
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
        versions = [
            v
            for v in session.scalars(query)
            if v.state == STATE_COMMITTED and gate.can_read_version(v.id)
        ]
        infos = []
        for version in versions:
            ref = collection_ref(session, session.get_one(Collection, version.collection_id))
            infos.extend(version_infos(session, ref, [(version.index, version)]))
        return infos
