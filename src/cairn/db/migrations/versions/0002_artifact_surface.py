"""Artifact surface: default TTLs, collection tags, registries, run history, store state.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

_TS = sa.DateTime(timezone=True)


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer(), nullable=False)


def upgrade() -> None:
    op.add_column("entity", sa.Column("default_ttl_seconds", sa.BigInteger(), nullable=True))
    op.add_column("project", sa.Column("default_ttl_seconds", sa.BigInteger(), nullable=True))
    op.create_table(
        "collection_tag",
        _id(),
        sa.Column("collection_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["collection_id"],
            ["collection.id"],
            name=op.f("fk_collection_tag_collection_id_collection"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collection_tag")),
        sa.UniqueConstraint(
            "collection_id", "name", name=op.f("uq_collection_tag_collection_id_name")
        ),
    )
    op.create_table(
        "registry",
        _id(),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("visibility", sa.String(16), nullable=False),
        sa.Column("allow_all_types", sa.Boolean(), nullable=False),
        sa.Column("artifact_types", sa.JSON(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["project.id"], name=op.f("fk_registry_project_id_project")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry")),
        sa.UniqueConstraint("project_id", name=op.f("uq_registry_project_id")),
    )
    op.create_table(
        "run_history",
        _id(),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["run.id"], name=op.f("fk_run_history_run_id_run")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_run_history")),
        sa.UniqueConstraint("run_id", "step", name=op.f("uq_run_history_run_id_step")),
    )
    op.create_table(
        "store_state",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("value", sa.String(256), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_store_state")),
    )


def downgrade() -> None:
    for table in ("store_state", "run_history", "registry", "collection_tag"):
        op.drop_table(table)
    with op.batch_alter_table("project") as batch:
        batch.drop_column("default_ttl_seconds")
    with op.batch_alter_table("entity") as batch:
        batch.drop_column("default_ttl_seconds")
