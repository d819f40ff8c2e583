"""The relational model of a Cairn store (DESIGN §3), as typed SQLAlchemy 2 ORM classes.

Only portable column types are used (no SQLite- or PostgreSQL-only SQL), so the same
models serve the embedded SQLite store and a server's PostgreSQL. Unique constraints are
the backstop behind the service's locking: a version index, an alias or a membership can
never be taken twice in one collection, whatever a buggy writer does.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Explicit constraint names keep migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

COLLECTION_SEQUENCE = "sequence"
COLLECTION_PORTFOLIO = "portfolio"

STATE_PENDING = "PENDING"
STATE_COMMITTED = "COMMITTED"
STATE_DELETED = "DELETED"

RUN_RUNNING = "running"
RUN_FINISHED = "finished"
RUN_FAILED = "failed"

NAME_LENGTH = 128


def utcnow() -> dt.datetime:
    """The current time, timezone-aware in UTC (what every timestamp column receives)."""
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Organization(Base):
    """The top of the tree; the embedded store has exactly one (``settings.organization``)."""

    __tablename__ = "organization"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class Entity(Base):
    """A user or team; entity names are global, as in W&B."""

    __tablename__ = "entity"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    # TTL inherited by versions of this entity's projects that have no project default.
    default_ttl_seconds: Mapped[int | None] = mapped_column(BigInteger)
    # Server accounts: "user", "team" or "organization"; None for the embedded store's
    # entities, which are created on first use and have no owner.
    kind: Mapped[str | None] = mapped_column(String(16))


class Project(Base):
    __tablename__ = "project"
    __table_args__ = (UniqueConstraint("entity_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity_id: Mapped[int] = mapped_column(ForeignKey("entity.id"))
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    # TTL inherited by this project's versions whose TTL is "inherit" (None: the entity's).
    default_ttl_seconds: Mapped[int | None] = mapped_column(BigInteger)


class ArtifactType(Base):
    """An artifact type, scoped to a project as in W&B."""

    __tablename__ = "artifact_type"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"))
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class Collection(Base):
    """A sequence (where versions are born) or a portfolio (where they are linked).

    ``next_index`` is the index the next membership gets; it only grows, so indices are
    never reused. Writers lock this row before reading it.
    """

    __tablename__ = "collection"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"))
    type_id: Mapped[int] = mapped_column(ForeignKey("artifact_type.id"), index=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    kind: Mapped[str] = mapped_column(String(16))
    description: Mapped[str | None] = mapped_column(Text)
    next_index: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class Run(Base):
    """One run: its identity, config and state, and what its history left behind: the
    ``summary`` (the last value of each logged key unless set otherwise) and the highest
    history step written (``last_step``, None before the first row)."""

    __tablename__ = "run"
    __table_args__ = (UniqueConstraint("project_id", "run_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"))
    run_id: Mapped[str] = mapped_column(String(NAME_LENGTH))
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    job_type: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")
    last_step: Mapped[int | None] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(16))
    exit_code: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # the user who created it (None: before revision 0008, or the embedded store's user)
    created_by: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    group_name: Mapped[str | None] = mapped_column(String(NAME_LENGTH))


class Version(Base):
    """One artifact version, born at ``index`` of its source sequence ``collection_id``.

    The manifest itself is a blob (md5 of its bytes in ``manifest_digest``); the row holds
    only what listing and resolving need.
    """

    __tablename__ = "version"
    __table_args__ = (UniqueConstraint("collection_id", "index"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    collection_id: Mapped[int] = mapped_column(ForeignKey("collection.id"))
    index: Mapped[int] = mapped_column(Integer)
    type_id: Mapped[int] = mapped_column(ForeignKey("artifact_type.id"), index=True)
    digest: Mapped[str] = mapped_column(String(64))
    digest_algorithm: Mapped[str] = mapped_column(String(16))
    manifest_digest: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    file_count: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))
    description: Mapped[str | None] = mapped_column(Text)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSON)
    ttl_duration_seconds: Mapped[int | None] = mapped_column(BigInteger)
    ttl_is_inherited: Mapped[bool] = mapped_column(Boolean)
    history_step: Mapped[int | None] = mapped_column(BigInteger)
    commit_hash: Mapped[str] = mapped_column(String(32))
    storage_region: Mapped[str | None] = mapped_column(String(64))
    logged_by_run_id: Mapped[int | None] = mapped_column(ForeignKey("run.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    committed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class Membership(Base):
    """A version's place in a collection: one for its birth, one per link."""

    __tablename__ = "membership"
    __table_args__ = (
        UniqueConstraint("collection_id", "index"),
        UniqueConstraint("collection_id", "version_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    collection_id: Mapped[int] = mapped_column(ForeignKey("collection.id"))
    index: Mapped[int] = mapped_column(Integer)
    version_id: Mapped[int] = mapped_column(ForeignKey("version.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class Alias(Base):
    """A named pointer to one version, unique within its collection (``vN`` is never stored)."""

    __tablename__ = "alias"
    __table_args__ = (UniqueConstraint("collection_id", "alias"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    collection_id: Mapped[int] = mapped_column(ForeignKey("collection.id"))
    alias: Mapped[str] = mapped_column(String(NAME_LENGTH))
    version_id: Mapped[int] = mapped_column(ForeignKey("version.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class Tag(Base):
    """A label on a version, shared by all collections the version is a member of."""

    __tablename__ = "tag"
    __table_args__ = (UniqueConstraint("version_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("version.id"))
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class RunInput(Base):
    """A run used a version (``use_artifact``)."""

    __tablename__ = "run_input"
    __table_args__ = (UniqueConstraint("run_id", "version_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("run.id"))
    version_id: Mapped[int] = mapped_column(ForeignKey("version.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class CollectionTag(Base):
    """A label on a collection (edited through ``ArtifactCollection.tags`` + ``save()``)."""

    __tablename__ = "collection_tag"
    __table_args__ = (UniqueConstraint("collection_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    collection_id: Mapped[int] = mapped_column(ForeignKey("collection.id"))
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class Registry(Base):
    """The settings of a registry: its project is ``wandb-registry-<name>`` of the
    organization's entity (DESIGN §3); collections in it are portfolios."""

    __tablename__ = "registry"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    visibility: Mapped[str] = mapped_column(String(16))
    allow_all_types: Mapped[bool] = mapped_column(Boolean)
    artifact_types: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class RunHistory(Base):
    """One step of a run's history (``Run.log``): the values logged at that step."""

    __tablename__ = "run_history"
    __table_args__ = (UniqueConstraint("run_id", "step"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("run.id"))
    step: Mapped[int] = mapped_column(BigInteger)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class Replica(Base):
    """A sync record (``service.replication``): a version of this store that is a copy of
    version ``peer_version_id`` of the store ``peer`` (``direction`` "in"), or that was
    copied to ``peer`` as ``peer_version_id`` ("out")."""

    __tablename__ = "replica"
    __table_args__ = (UniqueConstraint("direction", "peer", "peer_version_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    direction: Mapped[str] = mapped_column(String(3))
    peer: Mapped[str] = mapped_column(String(NAME_LENGTH))
    peer_version_id: Mapped[str] = mapped_column(String(NAME_LENGTH))
    version_id: Mapped[int] = mapped_column(ForeignKey("version.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class StoreState(Base):
    """Small named facts about the store itself (last TTL sweep, GC epoch)."""

    __tablename__ = "store_state"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(256))


class EntityRole(Base):
    """A user's role (admin, member, viewer) in an entity (a team, the organization, or
    the user's own entity). A role in the organization's entity makes a server admin."""

    __tablename__ = "entity_role"
    __table_args__ = (UniqueConstraint("user_id", "entity_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("entity.id"))
    entity_id: Mapped[int] = mapped_column(ForeignKey("entity.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class RegistryRole(Base):
    """A user's role (admin, member, viewer) in one registry."""

    __tablename__ = "registry_role"
    __table_args__ = (UniqueConstraint("user_id", "registry_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("entity.id"))
    registry_id: Mapped[int] = mapped_column(ForeignKey("registry.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class ApiKey(Base):
    """An API key of a user: only a salted HMAC of its secret is stored (never the key).

    ``key_id`` is the public part of the key, used to find the row; ``revoked_at`` set
    means the key no longer authenticates.
    """

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(32), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("entity.id"), index=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    salt: Mapped[str] = mapped_column(String(64))
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class StoredBlob(Base):
    """A blob a server stored in its S3 store, for ``entity`` (``cairn.service.blob_registry``).

    Rows are only ever added when the bytes are in the bucket under their final key, and
    removed by the garbage collector with the blobs it deletes (``cairn.service.server_gc``);
    the server answers presence questions from them instead of asking the bucket.
    """

    __tablename__ = "stored_blob"

    entity: Mapped[str] = mapped_column(String(NAME_LENGTH), primary_key=True)
    algorithm: Mapped[str] = mapped_column(String(16), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class UploadCheck(Base):
    """An upload assembled in a server's S3 staging area (``staged_key``) whose content is
    still to be verified against ``digest`` before it becomes a blob of ``entity``
    (``cairn.service.upload_checks``). ``state`` is ``queued`` until a worker has checked
    it (the row is then deleted) or ``failed`` (the bytes did not match; the object is
    gone). A worker holds a queued row while ``lease_until`` is ahead and ``token`` is
    its own, so one process checks each upload."""

    __tablename__ = "upload_check"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity: Mapped[str] = mapped_column(String(NAME_LENGTH))
    algorithm: Mapped[str] = mapped_column(String(16))
    digest: Mapped[str] = mapped_column(String(64), index=True)
    staged_key: Mapped[str] = mapped_column(String(1024), unique=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    token: Mapped[str | None] = mapped_column(String(32))
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class UiSession(Base):
    """A signed-in web UI session: the SHA-256 of its random token (the cookie carries the
    token, signed), the key it was opened with, and when it ends. Signing out deletes the
    row; revoking the key deletes all of its sessions."""

    __tablename__ = "ui_session"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(32), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)


class DraftCommit(Base):
    """Which version a draft of the official client's three-step log became (``draft_key``:
    ``<entity>:<hex md5 of the draft>``), so ``commitArtifact`` finds it even when the
    version's digest is not the draft's (an incremental or distributed version)."""

    __tablename__ = "draft_commit"

    draft_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("version.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class DistributedDraft(Base):
    """A version written by several runs (``upsert_artifact`` with a ``distributed_id``)
    before one of them finishes it: the manifest its parts add up to so far (a blob; None
    before the first part arrives)."""

    __tablename__ = "distributed_draft"
    __table_args__ = (UniqueConstraint("project_id", "collection", "distributed_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"))
    collection: Mapped[str] = mapped_column(String(NAME_LENGTH))
    distributed_id: Mapped[str] = mapped_column(String(NAME_LENGTH))
    manifest_digest: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class WebhookIntegration(Base):
    """Where an entity's automations may send webhooks: a URL and the secret that signs
    the bodies (``cairn.service.automations``); the secret is never shown again."""

    __tablename__ = "webhook_integration"
    __table_args__ = (UniqueConstraint("entity_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity_id: Mapped[int] = mapped_column(ForeignKey("entity.id"))
    name: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class Automation(Base):
    """An event in a scope (a project or a collection), a filter, and an action: send the
    payload template, filled, to ``integration_id`` (or nothing, ``NO_OP``)."""

    __tablename__ = "automation"
    __table_args__ = (UniqueConstraint("entity_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity_id: Mapped[int] = mapped_column(ForeignKey("entity.id"))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean)
    event_type: Mapped[str] = mapped_column(String(32))
    scope_type: Mapped[str] = mapped_column(String(32))
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    collection_id: Mapped[int | None] = mapped_column(ForeignKey("collection.id"), index=True)
    filter: Mapped[dict[str, Any]] = mapped_column(JSON)
    action_type: Mapped[str] = mapped_column(String(32))
    integration_id: Mapped[int | None] = mapped_column(ForeignKey("webhook_integration.id"))
    payload: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class AutomationEvent(Base):
    """The outbox: one event (version created, linked, aliased, tagged...) recorded in the
    transaction of the change that caused it, with the values its payloads use."""

    __tablename__ = "automation_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    event_type: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class WebhookDelivery(Base):
    """One event sent by one automation: its signed body, ``pending`` until a receiver
    accepts it (``delivered``) or its give-up time passes (``failed``). A worker holds it
    while ``lease_until`` is ahead and ``token`` is its own."""

    __tablename__ = "webhook_delivery"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("automation_event.id"), index=True)
    automation_id: Mapped[int] = mapped_column(ForeignKey("automation.id"), index=True)
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    give_up_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    token: Mapped[str | None] = mapped_column(String(32))
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class WebhookAttempt(Base):
    """One try of a delivery: when, how long, the answer (status and first bytes) or why
    there was none."""

    __tablename__ = "webhook_attempt"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_delivery.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    duration_ms: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer)
    response_head: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
