"""Server accounts: entity kinds, roles per entity and per registry, API keys.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

_TS = sa.DateTime(timezone=True)


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer(), nullable=False)


def _role_table(table: str, target: str, target_table: str) -> None:
    op.create_table(
        table,
        _id(),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column(target, sa.Integer(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["entity.id"], name=op.f(f"fk_{table}_user_id_entity")
        ),
        sa.ForeignKeyConstraint(
            [target], [f"{target_table}.id"], name=op.f(f"fk_{table}_{target}_{target_table}")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        sa.UniqueConstraint("user_id", target, name=op.f(f"uq_{table}_user_id_{target}")),
    )
    op.create_index(op.f(f"ix_{table}_{target}"), table, [target], unique=False)


def upgrade() -> None:
    with op.batch_alter_table("entity") as batch:
        batch.add_column(sa.Column("kind", sa.String(16), nullable=True))
    _role_table("entity_role", "entity_id", "entity")
    _role_table("registry_role", "registry_id", "registry")
    op.create_table(
        "api_key",
        _id(),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("salt", sa.String(64), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("last_used_at", _TS, nullable=True),
        sa.Column("revoked_at", _TS, nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["entity.id"], name=op.f("fk_api_key_user_id_entity")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_key")),
        sa.UniqueConstraint("key_id", name=op.f("uq_api_key_key_id")),
    )
    op.create_index(op.f("ix_api_key_user_id"), "api_key", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_api_key_user_id"), table_name="api_key")
    op.drop_table("api_key")
    for table, target in (("registry_role", "registry_id"), ("entity_role", "entity_id")):
        op.drop_index(op.f(f"ix_{table}_{target}"), table_name=table)
        op.drop_table(table)
    with op.batch_alter_table("entity") as batch:
        batch.drop_column("kind")
