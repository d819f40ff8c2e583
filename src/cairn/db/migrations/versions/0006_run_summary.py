"""A run's summary and last history step (``run.summary``, ``run.last_step``).

``run.summary`` holds what W&B calls the summary: the last value of each key the run
logged, unless the run set it otherwise; ``run.last_step`` the highest step of its
history, from which a resumed run continues. Existing runs get both from the history
they already have, so nothing logged before the upgrade is lost.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # Plain ADD COLUMN (no table rebuild: other tables hold foreign keys to ``run``).
    op.add_column("run", sa.Column("summary", sa.JSON(), nullable=False, server_default="{}"))
    op.add_column("run", sa.Column("last_step", sa.BigInteger(), nullable=True))
    _backfill(op.get_bind())


def _backfill(connection: sa.Connection) -> None:
    """Each run's summary and last step from its history rows, read in step order."""
    run = sa.table(
        "run",
        sa.column("id", sa.Integer()),
        sa.column("summary", sa.JSON()),
        sa.column("last_step", sa.BigInteger()),
    )
    history = sa.table(
        "run_history",
        sa.column("run_id", sa.Integer()),
        sa.column("step", sa.BigInteger()),
        sa.column("data", sa.JSON()),
    )
    summaries: dict[int, dict[str, Any]] = {}
    last: dict[int, int] = {}
    rows = connection.execute(
        sa.select(history.c.run_id, history.c.step, history.c.data).order_by(
            history.c.run_id, history.c.step
        )
    )
    for run_pk, step, data in rows:
        values = json.loads(data) if isinstance(data, str) else data
        summaries.setdefault(run_pk, {}).update({**(values or {}), "_step": step})
        last[run_pk] = step
    for run_pk, summary in summaries.items():
        connection.execute(
            sa.update(run).where(run.c.id == run_pk).values(summary=summary, last_step=last[run_pk])
        )


def downgrade() -> None:
    with op.batch_alter_table("run") as batch:
        batch.drop_column("last_step")
        batch.drop_column("summary")
