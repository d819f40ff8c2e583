"""A run's minimal history (``Run.log``): the values logged at each step.

It exists so that a version records ``history_step``, the run's step when it was logged
(spec §4.11), and so that ``Api().run(path).history()`` can read the values back. A call
without a step logs at the step after the last one; a call with a step at or above the
last one merges into that step; a step below the last one is ignored (W&B warns and drops
it), which the caller learns from a None answer.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cairn.db.models import RunHistory, utcnow
from cairn.errors import NotFoundError
from cairn.service.authz import READ, WRITE, Gate
from cairn.service.caller import Caller
from cairn.service.lookup import require_run
from cairn.service.store import Store


def last_step(session: Session, run_pk: int) -> int | None:
    """The highest step logged by the run, or None."""
    value = session.scalar(select(func.max(RunHistory.step)).where(RunHistory.run_id == run_pk))
    return None if value is None else int(value)


def next_step(session: Session, run_pk: int) -> int | None:
    """The run's current step for ``history_step`` (None while nothing was logged, as the
    W&B core sends a step of 0 as null)."""
    last = last_step(session, run_pk)
    return None if last is None else last + 1


def _json_safe(data: dict[str, Any]) -> dict[str, Any]:
    """Keep JSON-able values; others become their ``str`` (NaN and inf are kept as strings)."""
    result: dict[str, Any] = json.loads(json.dumps(data, default=str, allow_nan=True))
    return result


def log_history(
    store: Store,
    caller: Caller,
    entity: str,
    project: str,
    run_id: str,
    step: int | None,
    data: dict[str, Any],
) -> int | None:
    """Record ``data`` at ``step`` (see module doc); returns the step used or None if ignored.

    Raises:
        ValueError: ``data`` is not a dict with string keys, or ``step`` is negative.
        CommError: the run does not exist, or the caller cannot read its project;
            AuthorizationError: the caller may not write to it.
    """
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise ValueError("Run.log expects a dict with string keys")
    if step is not None and (isinstance(step, bool) or not isinstance(step, int) or step < 0):
        raise ValueError(f"step must be a non-negative integer, got {step!r}")
    values = _json_safe(data)
    with store.db.write() as session:
        Gate(session, store, caller).require(WRITE, entity, project)
        run = require_run(session, entity, project, run_id)
        last = last_step(session, run.id)
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
        return step


def read_history(
    store: Store, caller: Caller, entity: str, project: str, run_id: str
) -> list[dict[str, Any]]:
    """Every row of the run's history by step, each with ``_step``.

    Raises:
        CommError: the run does not exist, or the caller cannot read its project.
    """
    with store.db.read() as session:
        if not Gate(session, store, caller).can(READ, entity, project):
            raise NotFoundError(f"run '{entity}/{project}/{run_id}' not found")
        run = require_run(session, entity, project, run_id)
        rows = session.scalars(
            select(RunHistory).where(RunHistory.run_id == run.id).order_by(RunHistory.step)
        )
        return [{"_step": row.step, **row.data} for row in rows]
