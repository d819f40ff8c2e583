"""Request and response bodies of the REST API that protocol.py's dataclasses cannot be.

Responses that are protocol wire models (``VersionInfo``, ``RunInfo``, ...) are served
as those very dataclasses, so the HTTP contract cannot drift from the Backend protocol.
Request bodies are strict pydantic models: unknown fields are refused.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from cairn.protocol import RunInfo, VersionInfo

NAME = Field(min_length=1, max_length=256)


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail


class Health(BaseModel):
    status: str


class Ready(BaseModel):
    """``status`` ok or unavailable; each part ok or unreachable."""

    status: str
    database: str
    store: str


class WhoAmI(BaseModel):
    user: str
    is_admin: bool
    key_id: str
    organization: str


# runs


class RunCreate(Body):
    run_id: str = NAME
    name: str | None = None
    job_type: str | None = None
    config: dict[str, Any] = Field(default_factory=dict)
    group: str | None = None


class RunFinish(Body):
    exit_code: int


class RecordUse(Body):
    version_id: str = NAME


class RunEditBody(Body):
    config: dict[str, Any] = Field(default_factory=dict)
    config_remove: list[str] = Field(default_factory=list)
    summary: dict[str, Any] = Field(default_factory=dict)
    summary_remove: list[str] = Field(default_factory=list)


class RunPage(BaseModel):
    items: list[RunInfo]
    next_cursor: str | None
    total: int


class HistoryAppend(Body):
    step: int | None = None
    data: dict[str, Any]


class HistoryStep(BaseModel):
    step: int | None


# blobs


class Blob(Body):
    digest: str = Field(min_length=1, max_length=64)
    algorithm: str = Field(pattern="^(md5|xxh128)$")
    size: int = Field(ge=0)


class BlobList(Body):
    blobs: list[Blob] = Field(max_length=100_000)


class SignedUrl(BaseModel):
    """A transfer URL for one blob. Send ``headers`` with the request. ``multipart``: the
    blob is too large for one request; ``url`` is empty, upload it in parts instead
    (``POST .../blobs/multipart``)."""

    digest: str
    algorithm: str
    size: int
    url: str
    expires_at: int
    headers: dict[str, str] = Field(default_factory=dict)
    multipart: bool = False


class SignedUrls(BaseModel):
    urls: list[SignedUrl]


class PartUrl(BaseModel):
    number: int
    size: int
    url: str
    headers: dict[str, str] = Field(default_factory=dict)
    done: bool


class MultipartStart(BaseModel):
    """A multipart upload (new or resumed): PUT each part not yet ``done`` to its URL,
    then ``POST .../blobs/multipart/complete``."""

    upload_id: str
    part_size: int
    parts: list[PartUrl]
    expires_at: int


class MultipartComplete(Blob):
    upload_id: str = Field(min_length=1, max_length=1024)


# versions


class Commit(Body):
    project: str = NAME
    collection: str = NAME
    type: str = NAME
    digest: str = NAME
    digest_algorithm: str = NAME
    manifest_json: str
    # Accepted from clients that send them, and ignored: the server counts from the manifest.
    size: int | None = Field(default=None, ge=0)
    file_count: int | None = Field(default=None, ge=0)
    description: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    aliases: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    run_id: str | None = None
    history_step: int | None = None
    ttl_duration_seconds: int | None = None
    storage_region: str | None = None
    # The manifest names what changed since ``base_id`` (default: the latest version).
    incremental: bool = False
    base_id: str | None = None
    # A part of (or, committed, the end of) a version several runs write.
    distributed_id: str | None = Field(default=None, min_length=1, max_length=128)


class CommitOut(BaseModel):
    version: VersionInfo
    created: bool


class VersionPage(BaseModel):
    items: list[VersionInfo]
    next_cursor: str | None
    total: int


class Edit(Body):
    entity: str = NAME
    project: str = NAME
    collection: str = NAME
    description: str | None
    metadata: dict[str, Any]
    aliases_to_add: list[str] = Field(default_factory=list)
    aliases_to_remove: list[str] = Field(default_factory=list)
    tags_to_add: list[str] = Field(default_factory=list)
    tags_to_remove: list[str] = Field(default_factory=list)
    ttl_duration_seconds: int | None = None


class Link(Body):
    entity: str = NAME
    project: str = NAME
    collection: str = NAME
    aliases: list[str] = Field(default_factory=list)


class CollectionEdit(Body):
    description: str | None
    tags: list[str]
    name: str | None = None  # a new name
    type: str | None = None  # a new type (a sequence and all its versions)


class RegistryCreate(Body):
    name: str = NAME
    visibility: str = "organization"
    description: str | None = None
    artifact_types: list[str] | None = None


class RegistryEdit(Body):
    description: str | None
    visibility: str
    artifact_types: list[str] | None


class DefaultTtl(Body):
    seconds: int | None


# accounts


class UserCreate(Body):
    name: str = NAME
    admin: bool = False


class TeamCreate(Body):
    name: str = NAME
    admin: str | None = None


class RoleSet(Body):
    role: str = NAME


class KeyCreate(Body):
    name: str = Field(default="default", min_length=1, max_length=128)


class NewKeyOut(BaseModel):
    api_key: str
    key_id: str
    user: str
    name: str


class ChunkIds(Body):
    """Chunk ids: 64 lowercase hex digits each (the BLAKE3 digest of the chunk's bytes)."""

    chunks: list[str] = Field(max_length=100_000)


class ChunkItem(Body):
    id: str = Field(min_length=64, max_length=64)
    size: int = Field(ge=0)


class ChunkBatch(Body):
    """The listing line of a chunk batch upload."""

    chunks: list[ChunkItem] = Field(max_length=100_000)
