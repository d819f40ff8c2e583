"""A run's history (``Run.log``): one row of values per step, and the summary it leaves.

The SDK decides W&B's step semantics (``commit=False`` accumulates, a step only grows) and
writes each finished row here with its step; this module stores it and keeps what a row
implies in the same transaction: the summary's value of each of the row's keys (W&B's
default summary is the last value logged) and the run's ``last_step``. A row for a step
that already has one is merged into it; a step below the run's last one is ignored (W&B
warns and drops it), which the caller learns from a None answer. A version records
``history_step``, the run's step when it was logged (spec §4.11), from ``next_step``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from cairn.db.models import RunHistory, utcnow
from cairn.errors import NotFoundError
from cairn.protocol import HistoryQuery
from cairn.service import run_fields
from cairn.service.authz import READ, WRITE, Gate
from cairn.service.limits import checked_step
from cairn.service.lookup import require_run

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from sqlalchemy.orm import Session

    from cairn.service.caller import Caller
    from cairn.service.resources import Store

STEP = "_step"


def last_step(session: Session, run_pk: int) -> int | None:
    """The highest step logged by the run, or None."""
    value = session.scalar(select(func.max(RunHistory.step)).where(RunHistory.run_id == run_pk))
    return None if value is None else int(value)


def next_step(session: Session, run_pk: int) -> int | None:
    """The run's current step for ``history_step`` (None while nothing was logged, as the
    W&B core sends a step of 0 as null)."""
    last = last_step(session, run_pk)
    return None if last is None else last + 1


def _check_step(step: int | None) -> None:
    if step is not None:
        checked_step(step)  # 0 to 2^63-1: a step the database holds


def log_history(
    store: Store,
    caller: Caller,
    entity: str,
    project: str,
    run_id: str,
    step: int | None,
    data: dict[str, Any],
) -> int | None:
    """Write the row ``data`` at ``step`` (see module doc); returns the step used or None
    if ignored. The row's ``_step`` is the step, whatever ``data`` says.

    Raises:
        TypeError / ValueError: ``data`` is not a dict of JSON values with string keys, is
            over the limits (``run_fields``), or ``step`` is not an integer from 0 to
            2^63-1.
        CommError: the run does not exist, or the caller cannot read its project;
            AuthorizationError: the caller may not write to it.
    """
    _check_step(step)
    values = run_fields.stored(data, "history row", store.limits)
    values.pop(STEP, None)
    with store.db.write() as session:
        Gate(session, store, caller).require(WRITE, entity, project)
        run = require_run(session, entity, project, run_id)
        last = run.last_step
        if step is None:
            step = 0 if last is None else last + 1
        elif last is not None and step < last:
            return None
        row = session.scalars(
            select(RunHistory).where(RunHistory.run_id == run.id, RunHistory.step == step)
        ).one_or_none()
        if row is None:
            session.add(RunHistory(run_id=run.id, step=step, data=values, created_at=utcnow()))
        else:
            row.data = {**row.data, **values}
        run.summary = {**(run.summary or {}), **values, STEP: step}
        run_fields.check_size(run.summary, "summary", store.limits)
        run.last_step = step
        return step


def read_history(
    store: Store,
    caller: Caller,
    entity: str,
    project: str,
    run_id: str,
    query: HistoryQuery | None = None,
) -> list[dict[str, Any]]:
    """The rows ``query`` selects (``HistoryQuery``; default all), by step, each with
    ``_step``; at most ``store.limits.max_page`` rows when ``query.limit`` is given.

    Raises:
        ValueError: a negative step bound, or a ``limit`` or ``samples`` below 1.
        CommError: the run does not exist, or the caller cannot read its project.
    """
    query = query or HistoryQuery()
    _check_query(query)
    limit = None if query.limit is None else min(query.limit, store.limits.max_page)
    keys = list(query.keys) if query.keys else None
    with store.db.read() as session:
        if not Gate(session, store, caller).can(READ, entity, project):
            raise NotFoundError(f"run '{entity}/{project}/{run_id}' not found")
        run = require_run(session, entity, project, run_id)
        selected = select(RunHistory.step, RunHistory.data).where(
            RunHistory.run_id == run.id, RunHistory.step >= query.min_step
        )
        if query.max_step is not None:
            selected = selected.where(RunHistory.step < query.max_step)
        if limit is not None and keys is None:
            selected = selected.limit(limit)
        found = session.execute(selected.order_by(RunHistory.step))
        rows = _matching(((row.step, row.data) for row in found), keys, limit)
    return rows if query.samples is None else sample(rows, query.samples)


def _check_query(query: HistoryQuery) -> None:
    if query.min_step < 0 or (query.max_step is not None and query.max_step < 0):
        raise ValueError("History steps are non-negative")
    for name, value in (("limit", query.limit), ("samples", query.samples)):
        if value is not None and value < 1:
            raise ValueError(f"{name} must be at least 1, got {value}")


def _matching(
    found: Iterable[tuple[int, dict[str, Any]]], keys: list[str] | None, limit: int | None
) -> list[dict[str, Any]]:
    """Rows with ``_step`` first; with ``keys``, those holding all keys, cut down to them."""
    rows: list[dict[str, Any]] = []
    for step, data in found:
        if keys is None:
            rows.append({STEP: step, **data})
        elif all(key in data or key == STEP for key in keys):
            rows.append({STEP: step, **{key: data[key] for key in keys if key != STEP}})
        if limit is not None and len(rows) >= limit:
            break
    return rows


def sample(rows: Sequence[dict[str, Any]], samples: int) -> list[dict[str, Any]]:
    """At most ``samples`` of ``rows``, evenly spread, the first and the last included."""
    if len(rows) <= samples:
        return list(rows)
    if samples == 1:
        return [rows[-1]]
    last = len(rows) - 1
    return [rows[round(i * last / (samples - 1))] for i in range(samples)]


def row_count(store: Store, caller: Caller, entity: str, project: str, run_id: str) -> int:
    """How many rows the run's history holds (W&B's ``historyLineCount``).

    Raises: CommError (the run does not exist, or the caller cannot read its project).
    """
    with store.db.read() as session:
        if not Gate(session, store, caller).can(READ, entity, project):
            raise NotFoundError(f"run '{entity}/{project}/{run_id}' not found")
        run = require_run(session, entity, project, run_id)
        count = session.scalar(select(func.count()).where(RunHistory.run_id == run.id))
        return int(count or 0)


def tail(
    store: Store, caller: Caller, entity: str, project: str, run_id: str, rows: int
) -> list[dict[str, Any]]:
    """The run's last ``rows`` history rows (at most ``store.limits.max_page``), by step,
    each with ``_step``: where a resumed run goes on from (W&B's ``historyTail``).

    Raises: ValueError (``rows`` below 1), CommError (as ``row_count``).
    """
    if rows < 1:
        raise ValueError(f"rows must be at least 1, got {rows}")
    with store.db.read() as session:
        if not Gate(session, store, caller).can(READ, entity, project):
            raise NotFoundError(f"run '{entity}/{project}/{run_id}' not found")
        run = require_run(session, entity, project, run_id)
        found = session.execute(
            select(RunHistory.step, RunHistory.data)
            .where(RunHistory.run_id == run.id)
            .order_by(RunHistory.step.desc())
            .limit(min(rows, store.limits.max_page))
        ).all()
    return [{STEP: step, **data} for step, data in reversed(found)]
