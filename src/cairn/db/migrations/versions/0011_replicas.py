"""Sync records of copied versions (``cairn sync``, ``cairn mirror``, imports:
``cairn.service.replication``).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "replica",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("peer", sa.String(128), nullable=False),
        sa.Column("peer_version_id", sa.String(128), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"], ["version.id"], name=op.f("fk_replica_version_id_version")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_replica")),
        sa.UniqueConstraint(
            "direction",
            "peer",
            "peer_version_id",
            name=op.f("uq_replica_direction_peer_peer_version_id"),
        ),
    )
    op.create_index(op.f("ix_replica_version_id"), "replica", ["version_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_replica_version_id"), table_name="replica")
    op.drop_table("replica")
