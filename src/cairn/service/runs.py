"""Run use cases: create (or resume) a run, finish it, read it, and record what it used.

Runs are the lineage anchors: a version remembers the run that logged it, and
``record_use`` adds an edge from a run to each version it consumed (once per pair).
Creating, finishing and recording need the caller's ``write`` role on the run's project,
reading it ``read``; a run is never created in a registry project (``refuse_direct_log``).
"""

from __future__ import annotations

from typing import Any

from cairn.core.names import validate_entity_name, validate_project_name
from cairn.db import repositories as repo
from cairn.db.models import (
    NAME_LENGTH,
    RUN_FAILED,
    RUN_FINISHED,
    RUN_RUNNING,
    Run,
    RunInput,
    utcnow,
)
from cairn.errors import NotFoundError
from cairn.protocol import RunInfo
from cairn.service.authz import READ, WRITE, Gate
from cairn.service.caller import Caller
from cairn.service.lookup import require_run, require_version
from cairn.service.registries import refuse_direct_log
from cairn.service.store import Store
from cairn.service.views import run_info


def _check_run_id(run_id: str) -> None:
    if not run_id or len(run_id) > NAME_LENGTH or any(c in "/:" or c.isspace() for c in run_id):
        raise ValueError(
            f"Invalid run id {run_id!r}: it must be 1 to {NAME_LENGTH} characters without "
            "'/', ':' or whitespace"
        )


def create_run(
    store: Store,
    caller: Caller,
    entity: str,
    project: str,
    run_id: str,
    name: str | None,
    job_type: str | None,
    config: dict[str, Any],
) -> RunInfo:
    """Create run ``run_id`` in ``entity/project`` (both created on first use), or resume it.

    A new run is named ``name`` (default: its id). Resuming an existing run marks it
    running again and updates its name, job type and config where new values are given.

    Raises:
        ValueError: invalid entity, project or run id.
        NotFoundError / AuthorizationError: the caller may not write to the project, or it
            is a registry project.
    """
    validate_entity_name(entity)
    validate_project_name(project)
    _check_run_id(run_id)
    if name is not None and len(name) > NAME_LENGTH:
        raise ValueError(f"Run name is longer than {NAME_LENGTH} characters: {name!r}")
    with store.db.write() as session:
        gate = Gate(session, store, caller)
        refuse_direct_log(gate, entity, project)
        gate.require(WRITE, entity, project)
        project_row = repo.get_or_create_project(session, store.organization, entity, project)
        run = repo.find_run(session, project_row.id, run_id)
        if run is None:
            run = Run(
                project_id=project_row.id,
                run_id=run_id,
                name=name or run_id,
                job_type=job_type,
                config=dict(config),
                state=RUN_RUNNING,
                created_at=utcnow(),
            )
            session.add(run)
        else:
            run.state = RUN_RUNNING
            run.exit_code = None
            run.finished_at = None
            if name:
                run.name = name
            if job_type is not None:
                run.job_type = job_type
            if config:
                run.config = {**run.config, **config}
        session.flush()
        return run_info(run, entity, project)


def finish_run(
    store: Store, caller: Caller, entity: str, project: str, run_id: str, exit_code: int
) -> None:
    """Mark a run finished (exit code 0) or failed (any other code).

    Raises:
        CommError: ``"run '<entity>/<project>/<run_id>' not found"``; AuthorizationError
            (the caller may read but not write the project).
    """
    with store.db.write() as session:
        Gate(session, store, caller).require(WRITE, entity, project)
        run = require_run(session, entity, project, run_id)
        run.state = RUN_FINISHED if exit_code == 0 else RUN_FAILED
        run.exit_code = exit_code
        run.finished_at = utcnow()


def get_run(store: Store, caller: Caller, entity: str, project: str, run_id: str) -> RunInfo:
    """The run ``entity/project/run_id``.

    Raises:
        CommError: ``"run '<entity>/<project>/<run_id>' not found"`` (also when the caller
            cannot read the project).
    """
    with store.db.read() as session:
        if not Gate(session, store, caller).can(READ, entity, project):
            raise NotFoundError(f"run '{entity}/{project}/{run_id}' not found")
        return run_info(require_run(session, entity, project, run_id), entity, project)


def require_writable(store: Store, caller: Caller, entity: str, project: str) -> None:
    """Check that the caller may create runs and send run files in ``entity/project``.

    Raises: NotFoundError (the caller cannot read the project), AuthorizationError (it
    may read but not write).
    """
    with store.db.read() as session:
        Gate(session, store, caller).require(WRITE, entity, project)


def writable_run(store: Store, caller: Caller, entity: str, project: str, run_id: str) -> RunInfo:
    """The run ``entity/project/run_id``, if the caller may write to it (send its files).

    Raises:
        CommError: ``"run '<entity>/<project>/<run_id>' not found"`` (also when the caller
            cannot read the project); AuthorizationError (it may read but not write).
    """
    with store.db.read() as session:
        Gate(session, store, caller).require(WRITE, entity, project)
        return run_info(require_run(session, entity, project, run_id), entity, project)


def record_use(
    store: Store, caller: Caller, entity: str, project: str, run_id: str, version_id: str
) -> None:
    """Record that the run used the version (idempotent).

    Raises:
        CommError: the run or the version does not exist, or the caller cannot read them;
            AuthorizationError: the caller may not write to the run's project.
    """
    with store.db.write() as session:
        gate = Gate(session, store, caller)
        gate.require(WRITE, entity, project)
        run = require_run(session, entity, project, run_id)
        version = require_version(session, version_id)
        gate.require_version(version, READ, version_id)
        if repo.find_run_input(session, run.id, version.id) is None:
            session.add(RunInput(run_id=run.id, version_id=version.id, created_at=utcnow()))
