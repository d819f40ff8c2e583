"""Initial schema: organizations, entities, projects, types, collections, versions, runs.

Revision ID: 0001
Revises:
Create Date: 2024-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

_TS = sa.DateTime(timezone=True)


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "organization",
        _id(),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organization")),
        sa.UniqueConstraint("name", name=op.f("uq_organization_name")),
    )
    op.create_table(
        "entity",
        _id(),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_entity_organization_id_organization"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entity")),
        sa.UniqueConstraint("name", name=op.f("uq_entity_name")),
    )
    op.create_index(op.f("ix_entity_organization_id"), "entity", ["organization_id"])
    op.create_table(
        "project",
        _id(),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["entity_id"], ["entity.id"], name=op.f("fk_project_entity_id_entity")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project")),
        sa.UniqueConstraint("entity_id", "name", name=op.f("uq_project_entity_id_name")),
    )
    op.create_table(
        "artifact_type",
        _id(),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["project.id"], name=op.f("fk_artifact_type_project_id_project")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_artifact_type")),
        sa.UniqueConstraint("project_id", "name", name=op.f("uq_artifact_type_project_id_name")),
    )
    op.create_table(
        "collection",
        _id(),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("type_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("next_index", sa.Integer(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["project.id"], name=op.f("fk_collection_project_id_project")
        ),
        sa.ForeignKeyConstraint(
            ["type_id"], ["artifact_type.id"], name=op.f("fk_collection_type_id_artifact_type")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collection")),
        sa.UniqueConstraint("project_id", "name", name=op.f("uq_collection_project_id_name")),
    )
    op.create_index(op.f("ix_collection_type_id"), "collection", ["type_id"])
    op.create_table(
        "run",
        _id(),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(128), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("job_type", sa.String(128), nullable=True),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("finished_at", _TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["project_id"], ["project.id"], name=op.f("fk_run_project_id_project")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_run")),
        sa.UniqueConstraint("project_id", "run_id", name=op.f("uq_run_project_id_run_id")),
    )
    op.create_table(
        "version",
        _id(),
        sa.Column("collection_id", sa.Integer(), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("type_id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("digest_algorithm", sa.String(16), nullable=False),
        sa.Column("manifest_digest", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("file_count", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("ttl_duration_seconds", sa.BigInteger(), nullable=True),
        sa.Column("ttl_is_inherited", sa.Boolean(), nullable=False),
        sa.Column("history_step", sa.BigInteger(), nullable=True),
        sa.Column("commit_hash", sa.String(32), nullable=False),
        sa.Column("storage_region", sa.String(64), nullable=True),
        sa.Column("logged_by_run_id", sa.Integer(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("committed_at", _TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["collection_id"], ["collection.id"], name=op.f("fk_version_collection_id_collection")
        ),
        sa.ForeignKeyConstraint(
            ["type_id"], ["artifact_type.id"], name=op.f("fk_version_type_id_artifact_type")
        ),
        sa.ForeignKeyConstraint(
            ["logged_by_run_id"], ["run.id"], name=op.f("fk_version_logged_by_run_id_run")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_version")),
        sa.UniqueConstraint("collection_id", "index", name=op.f("uq_version_collection_id_index")),
    )
    op.create_index(op.f("ix_version_type_id"), "version", ["type_id"])
    op.create_index(op.f("ix_version_logged_by_run_id"), "version", ["logged_by_run_id"])
    op.create_table(
        "membership",
        _id(),
        sa.Column("collection_id", sa.Integer(), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["collection_id"],
            ["collection.id"],
            name=op.f("fk_membership_collection_id_collection"),
        ),
        sa.ForeignKeyConstraint(
            ["version_id"], ["version.id"], name=op.f("fk_membership_version_id_version")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_membership")),
        sa.UniqueConstraint(
            "collection_id", "index", name=op.f("uq_membership_collection_id_index")
        ),
        sa.UniqueConstraint(
            "collection_id", "version_id", name=op.f("uq_membership_collection_id_version_id")
        ),
    )
    op.create_index(op.f("ix_membership_version_id"), "membership", ["version_id"])
    op.create_table(
        "alias",
        _id(),
        sa.Column("collection_id", sa.Integer(), nullable=False),
        sa.Column("alias", sa.String(128), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["collection_id"], ["collection.id"], name=op.f("fk_alias_collection_id_collection")
        ),
        sa.ForeignKeyConstraint(
            ["version_id"], ["version.id"], name=op.f("fk_alias_version_id_version")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alias")),
        sa.UniqueConstraint("collection_id", "alias", name=op.f("uq_alias_collection_id_alias")),
    )
    op.create_index(op.f("ix_alias_version_id"), "alias", ["version_id"])
    op.create_table(
        "tag",
        _id(),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"], ["version.id"], name=op.f("fk_tag_version_id_version")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tag")),
        sa.UniqueConstraint("version_id", "name", name=op.f("uq_tag_version_id_name")),
    )
    op.create_table(
        "run_input",
        _id(),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["run.id"], name=op.f("fk_run_input_run_id_run")),
        sa.ForeignKeyConstraint(
            ["version_id"], ["version.id"], name=op.f("fk_run_input_version_id_version")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_run_input")),
        sa.UniqueConstraint("run_id", "version_id", name=op.f("uq_run_input_run_id_version_id")),
    )
    op.create_index(op.f("ix_run_input_version_id"), "run_input", ["version_id"])


def downgrade() -> None:
    for table in (
        "run_input",
        "tag",
        "alias",
        "membership",
        "version",
        "run",
        "collection",
        "artifact_type",
        "project",
        "entity",
        "organization",
    ):
        op.drop_table(table)
