"""Uploads waiting for their content check (``upload_check``).

A large upload to a server's S3 store is assembled from its parts in the staging area and
must be hashed in full before it becomes a blob; that used to happen inside the request
that committed the version. Now the completion queues it here and a worker of any app
process checks it in the background (``cairn.service.upload_checks``).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "upload_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity", sa.String(128), nullable=False),
        sa.Column("algorithm", sa.String(16), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("staged_key", sa.String(1024), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("token", sa.String(32), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_upload_check")),
        sa.UniqueConstraint("staged_key", name=op.f("uq_upload_check_staged_key")),
    )
    op.create_index(op.f("ix_upload_check_digest"), "upload_check", ["digest"])
    op.create_index(op.f("ix_upload_check_state"), "upload_check", ["state"])


def downgrade() -> None:
    op.drop_index(op.f("ix_upload_check_state"), table_name="upload_check")
    op.drop_index(op.f("ix_upload_check_digest"), table_name="upload_check")
    op.drop_table("upload_check")
