"""A server's record of the blobs its S3 store holds (``stored_blob``).

Answering "which of these blobs does the entity lack?" from the bucket costs S3 requests
per blob; the server records every blob it stores there, so that question is answered
from this table. A blob stored before this table existed is simply not recorded: it is
reported missing and uploaded again (same bytes) or checked against the bucket at commit.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "stored_blob",
        sa.Column("entity", sa.String(128), nullable=False),
        sa.Column("algorithm", sa.String(16), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("entity", "algorithm", "digest", name=op.f("pk_stored_blob")),
    )


def downgrade() -> None:
    op.drop_table("stored_blob")
