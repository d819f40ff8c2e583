"""Run use cases: create (or resume) a run, edit its config and summary, finish it, read
and list runs, and record what a run used.

Runs are the lineage anchors: a version remembers the run that logged it, and
``record_use`` adds an edge from a run to each version it consumed (once per pair).
Creating, editing, finishing and recording need the caller's ``write`` role on the run's
project, reading and listing ``read``; a run is never created in a registry project
(``refuse_direct_log``). Config and summary values are checked by ``run_fields``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, func, select

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
from cairn.protocol import Page, RunEdit, RunInfo
from cairn.service import run_fields, run_filters
from cairn.service.authz import READ, WRITE, Gate
from cairn.service.limits import checked_exit_code
from cairn.service.lookup import require_run, require_version
from cairn.service.registries import refuse_direct_log
from cairn.service.run_order import Order, parse_order, sort_runs
from cairn.service.wire_models import run_info

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from sqlalchemy.orm import Session

    from cairn.service.caller import Caller
    from cairn.service.resources import Store

# Runs read at a time while a filter is tested on each (their config and summary with them).
_STREAM_ROWS = 500


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
    group: str | None = None,
) -> RunInfo:
    """Create run ``run_id`` in ``entity/project`` (both created on first use), or resume it.

    A new run is named ``name`` (default: its id) and records the caller as its creator.
    Resuming an existing run marks it running again and updates its name, job type, group
    and config where new values are given.

    Raises:
        ValueError: invalid entity, project or run id; a config over the limits.
        TypeError: a config that is not a dict of JSON values.
        NotFoundError / AuthorizationError: the caller may not write to the project, or it
            is a registry project.
    """
    validate_entity_name(entity)
    validate_project_name(project)
    _check_run_id(run_id)
    for what, text in (("name", name), ("group", group)):
        if text is not None and (len(text) > NAME_LENGTH or "\x00" in text):
            raise ValueError(f"Run {what} is not text of at most {NAME_LENGTH} characters")
    config = run_fields.stored(config, "config", store.limits)
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
                created_by=caller.name or None,
                group_name=group,
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
            if group is not None:
                run.group_name = group
            if config:
                run.config = {**run.config, **config}
                run_fields.check_size(run.config, "config", store.limits)
        session.flush()
        return run_info(run, entity, project)


def edit_run(
    store: Store, caller: Caller, entity: str, project: str, run_id: str, edit: RunEdit
) -> RunInfo:
    """Set and remove keys of the run's config and summary (see ``RunEdit``), together.

    A running or finished run may be edited alike, as W&B's public API edits runs.

    Raises:
        TypeError / ValueError: values or key lists that cannot be stored, or a config or
            summary over the limits once edited (nothing is changed).
        CommError: ``"run '<entity>/<project>/<run_id>' not found"`` (also when the caller
            cannot read the project); AuthorizationError (it may read but not write).
    """
    limits = store.limits
    config = run_fields.stored(edit.config, "config", limits)
    summary = run_fields.stored(edit.summary, "summary", limits)
    config_remove = run_fields.keys(edit.config_remove, "config", limits)
    summary_remove = run_fields.keys(edit.summary_remove, "summary", limits)
    with store.db.write() as session:
        Gate(session, store, caller).require(WRITE, entity, project)
        run = require_run(session, entity, project, run_id)
        if config or config_remove:
            run.config = _edited(run.config, config, config_remove)
            run_fields.check_size(run.config, "config", limits)
        if summary or summary_remove:
            run.summary = _edited(run.summary, summary, summary_remove)
            run_fields.check_size(run.summary, "summary", limits)
        session.flush()
        return run_info(run, entity, project)


def _edited(values: dict[str, Any], new: dict[str, Any], remove: list[str]) -> dict[str, Any]:
    """A new dict (so the ORM sees the change): ``values`` without ``remove``, then ``new``."""
    drop = set(remove)
    return {**{key: value for key, value in (values or {}).items() if key not in drop}, **new}


def finish_run(
    store: Store, caller: Caller, entity: str, project: str, run_id: str, exit_code: int
) -> None:
    """Mark a run finished (exit code 0) or failed (any other code).

    Raises:
        ValueError: ``exit_code`` is not a signed 32-bit integer (``limits``).
        CommError: ``"run '<entity>/<project>/<run_id>' not found"``; AuthorizationError
            (the caller may read but not write the project).
    """
    exit_code = checked_exit_code(exit_code)
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


def list_runs(
    store: Store,
    caller: Caller,
    entity: str,
    project: str,
    order: str,
    cursor: str | None,
    per_page: int,
    filters: Mapping[str, Any] | None = None,
) -> Page:
    """A page of the project's runs (``RunInfo``) in ``order`` (``cairn.service.run_order``);
    pass ``next_cursor`` back for the next page. A page holds at most
    ``store.limits.max_page`` runs.

    ``filters`` (W&B's MongoDB-style queries, ``cairn.core.run_filters``) keeps the runs
    that meet it: the page, ``next_cursor`` and ``total`` then count only those. It is
    checked before anything is read (``cairn.service.run_filters``).

    Raises:
        CommError: ``"project '<entity>/<project>' not found"`` (also when the caller cannot
            read it).
        ValueError: an unknown order, ``per_page`` below 1, a cursor this function did
            not return, or a filter ``run_filters.checked_filter`` refuses.
    """
    parsed = parse_order(order)
    if per_page < 1:
        raise ValueError(f"per_page must be at least 1, got {per_page}")
    per_page = min(per_page, store.limits.max_page)
    offset = 0
    if cursor is not None:
        if not (cursor.isascii() and cursor.isdigit()):
            raise ValueError(f"Invalid cursor: {cursor!r}")
        offset = int(cursor)
    matcher = run_filters.checked_filter(filters, caller, store.limits)
    with store.db.read() as session:
        project_row = repo.find_project(session, entity, project)
        if project_row is None or not Gate(session, store, caller).can(READ, entity, project):
            raise NotFoundError(f"project '{entity}/{project}' not found")
        in_project = Run.project_id == project_row.id
        query = select(Run).where(in_project)
        if matcher is not None:
            lookup = run_filters.stored_run(entity, project)
            found, total = _filtered(
                session,
                query,
                parsed,
                lambda run: matcher.matches(lookup(run)),
                offset,
                per_page,
            )
        elif parsed.column is not None:
            total = session.scalar(select(func.count()).select_from(Run).where(in_project)) or 0
            column = parsed.column.desc() if parsed.descending else parsed.column.asc()
            found = list(
                session.scalars(query.order_by(column, Run.id).offset(offset).limit(per_page))
            )
        else:
            every = list(session.scalars(query.order_by(Run.created_at, Run.id)))
            total = len(every)
            found = sort_runs(every, parsed)[offset : offset + per_page]
        following = offset + len(found)
        return Page(
            items=[run_info(run, entity, project) for run in found],
            next_cursor=str(following) if following < total else None,
            total=total,
        )


def _filtered(
    session: Session,
    query: Select[Run],
    order: Order,
    keep: Callable[[Run], bool],
    offset: int,
    per_page: int,
) -> tuple[list[Run], int]:
    """The page at ``offset`` of the runs ``query`` selects that ``keep`` keeps, in
    ``order``, and how many it keeps in all. A column order streams the runs (only the
    page is kept); a config or summary order sorts the kept ones."""
    if order.column is None:
        kept = [run for run in session.scalars(query.order_by(Run.created_at, Run.id)) if keep(run)]
        return sort_runs(kept, order)[offset : offset + per_page], len(kept)
    column = order.column.desc() if order.descending else order.column.asc()
    streamed = query.order_by(column, Run.id).execution_options(yield_per=_STREAM_ROWS)
    found: list[Run] = []
    total = 0
    for run in session.scalars(streamed):
        if keep(run):
            if offset <= total < offset + per_page:
                found.append(run)
            total += 1
    return found, total


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
