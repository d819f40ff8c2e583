"""Drafts of the official client that outlive one request: which version a draft became
(``draft_commit``), and versions written in parts by several runs (``distributed_draft``).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "draft_commit",
        sa.Column("draft_key", sa.String(200), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"], ["version.id"], name=op.f("fk_draft_commit_version_id_version")
        ),
        sa.PrimaryKeyConstraint("draft_key", name=op.f("pk_draft_commit")),
    )
    op.create_table(
        "distributed_draft",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("collection", sa.String(128), nullable=False),
        sa.Column("distributed_id", sa.String(128), nullable=False),
        sa.Column("manifest_digest", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["project.id"], name=op.f("fk_distributed_draft_project_id_project")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_distributed_draft")),
        sa.UniqueConstraint(
            "project_id",
            "collection",
            "distributed_id",
            name=op.f("uq_distributed_draft_project_id_collection_distributed_id"),
        ),
    )


def downgrade() -> None:
    op.drop_table("distributed_draft")
    op.drop_table("draft_commit")
