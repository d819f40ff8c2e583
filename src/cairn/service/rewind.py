"""Rewinding a run (W&B's ``wandb.init(resume_from="<run>?_step=N")``): its history is cut
back to step ``N`` (the rows after it dropped) so that logging goes on after ``N``, and its
summary is made again from the rows that are left (the last value of each key), as W&B
recomputes it.

W&B keeps the cut rows in an archived copy of the run; Cairn drops them (the rewind is
the run owner's explicit request, and needs the ``write`` role).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select

from cairn.db.models import RunHistory
from cairn.service import run_fields
from cairn.service.authz import WRITE, Gate
from cairn.service.history import STEP
from cairn.service.lookup import require_run
from cairn.service.wire_models import run_info

if TYPE_CHECKING:
    from cairn.protocol import RunInfo
    from cairn.service.caller import Caller
    from cairn.service.resources import Store


def _step(metric: str, value: float) -> int:
    """The step to rewind to. Raises: ValueError (another metric than ``_step``, or not a
    whole non-negative number)."""
    if metric != STEP:
        raise ValueError(f"A run is rewound by {STEP} only, not {metric!r}")
    if isinstance(value, bool) or not math.isfinite(value) or value < 0 or value % 1:
        raise ValueError(f"{STEP} to rewind to must be a whole number >= 0, got {value!r}")
    return int(value)


def rewind_run(
    store: Store,
    caller: Caller,
    entity: str,
    project: str,
    run_id: str,
    metric: str,
    value: float,
) -> RunInfo:
    """Cut the run's history back to step ``value`` of ``metric`` (``_step``; the rows
    after it are dropped); the summary is recomputed from what is left, the config kept.

    Raises:
        ValueError: see ``_step``.
        CommError: the run does not exist, or the caller cannot read its project;
            AuthorizationError: the caller may read but not write it.
    """
    step = _step(metric, value)
    with store.db.write() as session:
        Gate(session, store, caller).require(WRITE, entity, project)
        run = require_run(session, entity, project, run_id)
        session.execute(
            delete(RunHistory).where(RunHistory.run_id == run.id, RunHistory.step > step)
        )
        summary: dict[str, Any] = {}
        last: int | None = None
        rows = session.execute(
            select(RunHistory.step, RunHistory.data)
            .where(RunHistory.run_id == run.id)
            .order_by(RunHistory.step)
        )
        for kept, data in rows:
            summary.update(data)
            last = kept
        if last is not None:
            summary[STEP] = last
        run_fields.check_size(summary, "summary", store.limits)
        run.summary = summary
        run.last_step = last
        session.flush()
        return run_info(run, entity, project)
