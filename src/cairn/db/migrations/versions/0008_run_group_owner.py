"""Who created a run (``run.created_by``, a user name; None for runs made before this
revision and for the embedded store's one local user) and the group it belongs to
(``run.group_name``, W&B's ``wandb.init(group=...)``).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # Plain ADD COLUMN (no table rebuild: other tables hold foreign keys to ``run``).
    op.add_column("run", sa.Column("created_by", sa.String(128), nullable=True))
    op.add_column("run", sa.Column("group_name", sa.String(128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("run") as batch:
        batch.drop_column("group_name")
        batch.drop_column("created_by")
