"""Server-side web UI sessions (``ui_session``), so that signing out ends a session.

A session cookie used to name only the API key; a copy of it kept working after sign-out
until it expired. Now the cookie carries a random token whose hash is a row here: signing
out, or revoking the key, deletes the row.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "ui_session",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_ui_session")),
    )
    op.create_index(op.f("ix_ui_session_key_id"), "ui_session", ["key_id"])
    op.create_index(op.f("ix_ui_session_expires_at"), "ui_session", ["expires_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_ui_session_expires_at"), table_name="ui_session")
    op.drop_index(op.f("ix_ui_session_key_id"), table_name="ui_session")
    op.drop_table("ui_session")
