"""The Backend protocol: the coarse verbs the SDK needs, and the plain wire models they use.

The SDK opens a backend with ``open_backend(settings)``; ``cairn.connect`` registers the
implementations (embedded, remote) in the factory registry below, so the SDK never imports
them. Every verb is one user-visible step (never one call per file), and every model is plain
data, never an ORM row.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, runtime_checkable

from cairn.progress import ProgressCallback, silent
from cairn.settings import Settings

if TYPE_CHECKING:
    from array import array

    from cairn.core.manifest import Manifest, ManifestEntry
    from cairn.protocol_automations import AutomationsBackend

# ---------------------------------------------------------------- wire models


class BlobRef(NamedTuple):
    """Content address of one blob: the entry digest (base64) and its algorithm.

    A named tuple, like ``IngestedBlob``: one exists per file of a version in flight, and a
    tuple costs a third of a dataclass instance in memory and time.
    """

    digest: str
    algorithm: str  # "md5" or "xxh128"
    size: int


class SourceStats(NamedTuple):
    """The stat fields of a batch of files, taken as they were listed (before any is read),
    in the batch's order: ``fields`` holds each file's size, ``st_mtime_ns`` and
    ``st_ctime_ns`` in turn, ``inodes`` its inode (``os.stat``, following symlinks)."""

    fields: array[int]
    inodes: array[int]


class IngestedBlob(NamedTuple):
    """A file copied into a backend's blob area while hashed."""

    digest: str
    algorithm: str
    size: int
    # A file holding the bytes: the store's read-only loose blob, or, for a packed blob or a
    # file the stat cache knew, the source itself as given (packed bytes have no file of
    # their own).
    local_path: str | Path


@dataclasses.dataclass(frozen=True)
class RunInfo:
    """A run as stored. Values of ``config`` and ``summary`` are as ``cairn.core.run_values``
    stores them (non-finite floats as their names)."""

    id: str
    entity: str
    project: str
    name: str
    job_type: str | None
    config: dict[str, Any]
    state: str  # "running", "finished", "failed"
    created_at: str
    # the last value of each key the run logged, unless set otherwise (W&B's summary)
    summary: dict[str, Any] = dataclasses.field(default_factory=dict)
    last_step: int | None = None  # the highest step of the run's history; None before any
    finished_at: str | None = None
    # the store's number for the run's project (W&B's ``projectId``; None in the SDK)
    project_internal_id: int | None = None
    group: str | None = None  # W&B's run group (``wandb.init(group=...)``)
    created_by: str | None = None  # the user who created it; None when not known


@dataclasses.dataclass(frozen=True)
class RunEdit:
    """Changes to a run's config and summary, made together: the keys of ``config`` and
    ``summary`` are set (a top-level key's value replaces the stored one), the keys named in
    ``config_remove`` and ``summary_remove`` are removed (an absent key is no error)."""

    config: dict[str, Any] = dataclasses.field(default_factory=dict)
    config_remove: Sequence[str] = ()
    summary: dict[str, Any] = dataclasses.field(default_factory=dict)
    summary_remove: Sequence[str] = ()


@dataclasses.dataclass(frozen=True)
class HistoryQuery:
    """Which rows of a run's history to read, by step.

    ``keys``: only rows holding all of them, each cut down to ``_step`` and those keys
    (none, or an empty list: every row, whole).
    ``min_step`` (inclusive) and ``max_step`` (exclusive) bound the steps; ``limit`` takes
    the first rows only (a page); ``samples`` spreads at most that many rows evenly over
    what matched, first and last included (W&B's ``history(samples=...)``).
    """

    keys: Sequence[str] | None = None
    min_step: int = 0
    max_step: int | None = None
    limit: int | None = None
    samples: int | None = None


@dataclasses.dataclass(frozen=True)
class VersionInfo:
    """One artifact version as seen through one collection (its sequence or a portfolio)."""

    id: str  # W&B-style base64 id, e.g. "QXJ0aWZhY3Q6MTIz" == "Artifact:123"
    entity: str
    project: str
    collection: str
    version_index: int
    source_entity: str
    source_project: str
    source_collection: str
    source_version_index: int
    type: str
    digest: str
    digest_algorithm: str  # "MD5" or "XXH128"
    description: str | None
    metadata: dict[str, Any]
    aliases: list[str]  # user aliases and "latest" in this collection; never "vN"
    tags: list[str]
    state: str  # "COMMITTED", "DELETED"
    size: int
    file_count: int
    created_at: str  # ISO 8601, UTC, "Z"-suffixed
    updated_at: str
    commit_hash: str
    ttl_duration_seconds: int | None
    ttl_is_inherited: bool
    history_step: int | None
    logged_by_run_id: str | None
    storage_region: str | None = None
    linked_at: str | None = None  # when seen through a portfolio: when it was linked


@dataclasses.dataclass(frozen=True)
class CommitRequest:
    """Everything needed to commit a new version from a finished manifest."""

    entity: str
    project: str
    collection: str
    type: str
    digest: str
    digest_algorithm: str
    # The manifest file's bytes (size and file count are the service's to derive from it);
    # None in process, where ``manifest`` is serialised only if needed: ``manifest_bytes``.
    manifest_json: bytes | None
    description: str | None = None
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)
    aliases: Sequence[str] = ()  # validated; "latest" is added by the service
    tags: Sequence[str] = ()
    run_id: str | None = None
    history_step: int | None = None
    ttl_duration_seconds: int | None = None  # None: inherit
    storage_region: str | None = None
    # The manifest names only what changed since a base version (``base_id``, default the
    # collection's latest): the service merges the base's other entries into it.
    incremental: bool = False
    base_id: str | None = None
    # A part of a version several runs write (``LogRequest.part``); committing a request
    # with it (not as a part) finishes that version with everything its parts added up to.
    distributed_id: str | None = None
    # In process only, never sent: the manifest object ``manifest_json`` and ``digest`` were
    # made from, so the embedded backend need not parse and digest its own SDK's output.
    manifest: Manifest | None = dataclasses.field(default=None, compare=False, repr=False)

    def manifest_bytes(self) -> bytes:
        """``manifest_json``, or ``manifest`` serialised (once: a re-log of unchanged content
        commits nothing, and an embedded backend then never needs the bytes).

        Raises ``ValueError`` if the request has neither.
        """
        if self.manifest_json is not None:
            return self.manifest_json
        cached: bytes | None = self.__dict__.get("_manifest_bytes")
        if cached is None:
            if self.manifest is None:
                raise ValueError("A commit request needs its manifest or its manifest's bytes")
            cached = self.manifest.to_json_bytes()
            object.__setattr__(self, "_manifest_bytes", cached)  # frozen: a cache only
        return cached


@dataclasses.dataclass(frozen=True)
class LogRequest:
    """A draft to log (``Backend.log``): the version to commit, and where its blobs are.

    The local sources of the blobs are the ``local_path`` of the entries of
    ``commit.manifest`` (in process; a request of manifest bytes only has none, so its
    blobs must be stored already). ``part``: add the entries to the version several runs
    write under ``commit.distributed_id`` instead of committing (a later request with that
    id and ``part`` False finishes it).
    """

    commit: CommitRequest
    part: bool = False

    def _sources(self) -> dict[tuple[str, str], ManifestEntry]:
        """Each stored blob of the manifest once, ``(digest, algorithm)`` to an entry
        holding a local copy of it when one does (computed once)."""
        cached: dict[tuple[str, str], ManifestEntry] | None = self.__dict__.get("_cached_sources")
        if cached is not None:
            return cached
        manifest = self.commit.manifest
        if manifest is None:
            # Only a request of manifest bytes needs the parser: ``import cairn`` does not
            # load it (the SDK's requests carry the manifest object).
            from cairn.core.manifest import Manifest  # noqa: PLC0415 - see above

            manifest = Manifest.from_json(self.commit.manifest_bytes())
        sources: dict[tuple[str, str], ManifestEntry] = {}
        for entry in manifest.entries.values():
            if entry.ref is None:
                # ``entry.algorithm()``, inline: this loop runs once per file of the draft.
                key = (entry.digest, "xxh128" if entry.extra.get("alg") == "XXH128" else "md5")
                known = sources.get(key)
                if known is None or (known.local_path is None and entry.local_path is not None):
                    sources[key] = entry
        object.__setattr__(self, "_cached_sources", sources)  # frozen: a cache only
        return sources

    def blobs(self) -> list[BlobRef]:
        """Every stored blob of the manifest, once."""
        return [BlobRef(key[0], key[1], entry.size or 0) for key, entry in self._sources().items()]

    def uploads(self, missing: Sequence[BlobRef]) -> list[tuple[BlobRef, Path]]:
        """Each blob of ``missing`` with the local copy to upload it from.

        Raises ``ValueError`` naming a missing blob the draft has no local copy of.
        """
        if not missing:
            return []
        sources = self._sources()
        uploads: list[tuple[BlobRef, Path]] = []
        for blob in missing:
            entry = sources[(blob.digest, blob.algorithm)]
            if entry.local_path is None:
                raise ValueError(
                    f"Cannot log '{entry.path}': its content ({entry.digest}) is not in the "
                    "store and the artifact has no local copy of it"
                )
            uploads.append((blob, Path(entry.local_path)))
        return uploads

    def needs_blobs(self, latest: Callable[[], tuple[str, str] | None]) -> bool:
        """Whether blobs may need storing: not when the collection's latest version has
        this content (``latest()``: its ``(digest, algorithm)``, asked only if it matters),
        since its blobs are kept and the commit is a no-op; always for an incremental
        manifest or a distributed version's."""
        commit = self.commit
        if commit.incremental or commit.distributed_id:
            return True
        return latest() != (commit.digest, commit.digest_algorithm)


class Placement(NamedTuple):
    """A stored blob to write below a download root (``Backend.materialize``): its logical
    path there, and the entity whose store holds it (an entry of an artifact reference
    may be another entity's). A named tuple: one exists per file of a download."""

    path: str
    entity: str
    digest: str
    algorithm: str  # "md5" or "xxh128"
    size: int


@dataclasses.dataclass(frozen=True)
class CommitResult:
    version: VersionInfo
    created: bool  # False when the digest equalled the latest version's (a no-op)


@dataclasses.dataclass(frozen=True)
class CollectionInfo:
    id: str
    entity: str
    project: str
    name: str
    type: str
    description: str | None
    tags: list[str]
    aliases: list[str]
    is_sequence: bool
    created_at: str
    version_count: int


@dataclasses.dataclass(frozen=True)
class ProjectInfo:
    """A project the caller may read; ``version_count`` counts the committed versions and
    links of its collections (each link is a version of the collection it is linked into)."""

    entity: str
    name: str
    created_at: str
    version_count: int


@dataclasses.dataclass(frozen=True)
class TypeInfo:
    entity: str
    project: str
    name: str
    created_at: str | None = None


@dataclasses.dataclass(frozen=True)
class Page:
    """A page of items and the cursor to pass for the next one (None when exhausted)."""

    items: list[Any]
    next_cursor: str | None
    total: int


# ---- wire models of the artifact surface (issue 3): edits, links, registries, lineage, TTL


@dataclasses.dataclass(frozen=True)
class VersionEdit:
    """Changes to a logged version, as W&B sends them (``updateArtifact`` + alias diffs).

    Aliases are edited in the collection the version was fetched through (``entity``/
    ``project``/``collection``); description, metadata, tags and TTL belong to the version
    and are shared by all its links. ``ttl_duration_seconds``: None leaves it unchanged,
    -1 inherits the default, -2 disables it, a positive value sets it.
    """

    entity: str
    project: str
    collection: str
    description: str | None
    metadata: dict[str, Any]
    aliases_to_add: Sequence[str] = ()
    aliases_to_remove: Sequence[str] = ()
    tags_to_add: Sequence[str] = ()
    tags_to_remove: Sequence[str] = ()
    ttl_duration_seconds: int | None = None


@dataclasses.dataclass(frozen=True)
class RegistryInfo:
    """A registry: the project ``wandb-registry-<name>`` of the organization's entity."""

    id: str
    organization: str
    entity: str
    name: str  # without the prefix
    full_name: str  # "wandb-registry-<name>"
    description: str | None
    visibility: str  # "organization" | "restricted"
    allow_all_artifact_types: bool
    artifact_types: list[str]
    created_at: str
    updated_at: str


@dataclasses.dataclass(frozen=True)
class Lineage:
    """The run that logged a version (None when no run did) and the runs that used it."""

    logged_by: RunInfo | None
    used_by: list[RunInfo]


# ---- wire models of replication (issue 22): copying versions between stores


@dataclasses.dataclass(frozen=True)
class ReplicaLink:
    """A link of a copied version into a registry, by the registry's name (without the
    ``wandb-registry-`` prefix): the destination links it into its own organization's
    registry of that name."""

    registry: str
    collection: str
    aliases: Sequence[str] = ()


# Given the blobs a destination lacks, a local file holding each (by ``(digest,
# algorithm)``): the source fetches only those (in process only, never sent).
BlobFetcher = Callable[[Sequence[BlobRef]], Mapping[tuple[str, str], Path]]


@dataclasses.dataclass(frozen=True)
class ReplicaVersion:
    """A version copied from another store (``Backend.replicate_version``).

    ``commit`` is the version as a commit request (manifest bytes, type, description,
    metadata, tags, TTL: None inherits, ``core.ttl.TTL_DISABLED`` disables; ``run_id`` the
    run that logged it, already copied); its ``aliases`` are ignored: ``aliases`` are
    applied by the conflict rule (an alias another version holds on the destination stays
    there unless ``force_aliases``). ``origin`` is the source store's id and ``source_id``
    the version's id there: the pair is the sync record that makes a copy happen once.
    ``created_at`` (ISO 8601) is kept. ``used_by``: the runs (``entity``, ``project``,
    ``run_id``, already copied) that used it. ``fetch`` gives local copies of the blobs the
    destination lacks.
    """

    commit: CommitRequest
    origin: str
    source_id: str
    created_at: str
    aliases: Sequence[str] = ()
    used_by: Sequence[tuple[str, str, str]] = ()
    links: Sequence[ReplicaLink] = ()
    force_aliases: bool = False
    fetch: BlobFetcher | None = dataclasses.field(default=None, compare=False, repr=False)

    def blobs(self) -> list[BlobRef]:
        """Every stored (non-reference) blob of the manifest, once."""
        return LogRequest(self.commit).blobs()

    def uploads(self, missing: Sequence[BlobRef]) -> list[tuple[BlobRef, Path]]:
        """Each blob of ``missing`` with the local copy ``fetch`` gave for it.

        Raises ``ValueError`` when a blob is missing and the request cannot fetch it.
        """
        if not missing:
            return []
        got = self.fetch(missing) if self.fetch is not None else {}
        uploads: list[tuple[BlobRef, Path]] = []
        for blob in missing:
            path = got.get((blob.digest, blob.algorithm))
            if path is None:
                raise ValueError(
                    f"Cannot copy version {self.source_id}: its blob {blob.digest} is in "
                    "neither store"
                )
            uploads.append((blob, path))
        return uploads


@dataclasses.dataclass(frozen=True)
class AliasConflict:
    """An alias a copied version has at its source that another version holds at the
    destination (left there, unless the copy forced aliases)."""

    collection: str  # entity/project/name at the destination
    alias: str
    held_by_index: int


@dataclasses.dataclass(frozen=True)
class ReplicaResult:
    """What ``Backend.replicate_version`` did: the copy as the destination sees it,
    whether it was created now, the aliases it gained (links' aliases included), the
    alias conflicts left, and the blobs sent (count, bytes)."""

    version: VersionInfo
    created: bool
    aliases_moved: list[str]
    conflicts: list[AliasConflict]
    blobs_sent: int = 0
    bytes_sent: int = 0


@dataclasses.dataclass(frozen=True)
class ReplicaRecord:
    """A version of a store that is a copy of ``source_id`` of the store ``origin``."""

    origin: str
    source_id: str
    version: VersionInfo


@dataclasses.dataclass(frozen=True)
class ReplicaRun:
    """A run copied from another store (``Backend.replicate_run``): created if missing,
    its config and summary set, the history rows after its last step added, its state
    kept."""

    entity: str
    project: str
    run_id: str
    name: str
    job_type: str | None
    group: str | None
    config: dict[str, Any]
    summary: dict[str, Any]
    state: str
    history: Sequence[dict[str, Any]] = ()  # rows with their ``_step``, by step


# ---------------------------------------------------------------- the protocol


@runtime_checkable
class Backend(Protocol):
    """What the SDK may ask of a store. Embedded and remote backends behave identically.

    Errors: an unknown entity/project/collection/version/run raises
    ``cairn.errors.CommError`` naming what was not found; invalid input raises
    ``ValueError`` before anything is written.
    """

    settings: Settings

    # runs
    def create_run(
        self,
        entity: str,
        project: str,
        run_id: str,
        name: str | None,
        job_type: str | None,
        config: dict[str, Any],
        group: str | None = None,
    ) -> RunInfo: ...
    def finish_run(self, entity: str, project: str, run_id: str, exit_code: int) -> None: ...
    def get_run(self, entity: str, project: str, run_id: str) -> RunInfo: ...
    def edit_run(self, entity: str, project: str, run_id: str, edit: RunEdit) -> RunInfo:
        """Apply ``edit`` to the run's config and summary in one transaction; returns the run.
        Raises ``ValueError``/``TypeError`` for values that cannot be stored (nothing
        changed)."""
        ...

    def list_runs(
        self,
        entity: str,
        project: str,
        order: str,
        cursor: str | None,
        per_page: int,
        filters: Mapping[str, Any] | None = None,
    ) -> Page:
        """A page of the project's runs (``RunInfo``) in ``order``: ``[+|-]created_at`` (the
        default), ``name``, ``display_name``, ``state``, ``job_type``, ``config.<key>`` or
        ``summary_metrics.<key>`` (runs without the key last). ``filters``: W&B's
        MongoDB-style query (``cairn.core.run_filters``); the page, cursor and total count
        only the runs that meet it. Raises ``CommError`` when the project does not exist,
        ``ValueError`` for an order it does not know or a filter it refuses."""
        ...

    # bytes in
    def ingest_file(self, source: Path, algorithm: str) -> IngestedBlob:
        """Copy ``source`` into the backend's blob area while hashing it (one read, one write)."""
        ...

    def ingest_files(
        self,
        sources: Sequence[str | Path],
        algorithm: str,
        on_progress: Callable[[int, int, int, int], None] | None = None,
        stats: SourceStats | None = None,
    ) -> list[IngestedBlob]:
        """``ingest_file`` for a whole folder in one call (results in ``sources`` order;
        plain strings spare a caller with 100,000 paths as many ``Path`` objects);
        the backend may skip files it knows unchanged (by ``stats`` if the caller took
        them while listing the folder, else its own) and pack small blobs.
        ``on_progress(files_done, files_total, bytes_done, bytes_total)`` is called from
        the calling thread."""
        ...

    def log(self, request: LogRequest, progress: ProgressCallback = silent) -> CommitResult | None:
        """Log a draft in one call: the backend stores the blobs of ``request.commit``'s
        manifest it lacks (from the entries' local copies; ``progress`` hears of the task
        ``Uploading``, if anything is uploaded) and commits the version once; nothing is
        uploaded when the collection's latest version has the same digest (a no-op, unless
        incremental or distributed). With ``request.part`` the entries are only added to
        the version of ``commit.distributed_id`` and None is returned.

        Raises:
            ValueError: invalid input, or a missing blob without a local copy (named).
            CorruptionError: a local copy changed since it was added.
            OSError: a local copy cannot be read.
            CommError: the commit is refused (nothing committed).
        """
        ...

    def materialize(
        self,
        root: Path,
        files: Sequence[Placement],
        *,
        link: bool = False,
        allow_missing: bool = False,
        warn_skips: bool = True,
        progress: ProgressCallback = silent,
    ) -> None:
        """Write each stored blob of ``files`` to its path below ``root``, checked against
        its digest, by the rules of ``cairn.storage.writing`` (no write through a symlink,
        temporary file then rename, a file already holding the digest kept). A new or
        empty ``root`` is written whole into a staging folder and renamed into place.
        ``link`` hard-links (else reflinks) the blobs a local store keeps loose, and makes
        every file it writes read-only. ``warn_skips``: a destination that is a directory
        or below a file is skipped with a warning (else raised); ``allow_missing``: a blob
        not found is a warning too. ``progress`` hears of the task ``Downloading``.

        Raises:
            ValueError: a symlink on a destination's path (named), an invalid path.
            CorruptionError: stored bytes do not match their digest.
            CommError: a blob is not stored (or the server cannot be reached).
            NotADirectoryError, IsADirectoryError: unless ``warn_skips``.
            OSError: a destination cannot be written.
        """
        ...

    def resolve_version(
        self, entity: str, project: str, collection: str, selector: str
    ) -> VersionInfo:
        """``selector`` is an alias (``latest``, user aliases) or ``vN``."""
        ...

    def get_version(self, version_id: str) -> VersionInfo: ...
    def read_manifest(self, version_id: str) -> bytes: ...
    def list_versions(
        self, entity: str, project: str, collection: str, cursor: str | None, per_page: int
    ) -> Page: ...
    def list_collections(
        self, entity: str, project: str, type_name: str | None
    ) -> list[CollectionInfo]: ...
    def get_collection(self, entity: str, project: str, name: str) -> CollectionInfo: ...
    def list_types(self, entity: str, project: str) -> list[TypeInfo]: ...
    def list_projects(self, entity: str | None, limit: int) -> list[ProjectInfo]:
        """Up to ``limit`` (1..500) projects the caller may read, of ``entity`` only when
        given, by entity then name. Raises ``ValueError`` for a limit out of range."""
        ...

    def record_use(self, entity: str, project: str, run_id: str, version_id: str) -> None: ...

    # ---- the artifact surface (issue 3): edits, links, deletion, lineage, registries, TTL
    def edit_version(self, version_id: str, edit: VersionEdit) -> VersionInfo:
        """Apply ``edit`` in one transaction; returns the version seen through the edit's
        collection. Raises ``ValueError`` for invalid values (nothing changed)."""
        ...

    def delete_version(self, version_id: str, delete_aliases: bool) -> None:
        """Soft-delete a source version (and so its links). Raises ``CommError`` while it
        has aliases and ``delete_aliases`` is False."""
        ...

    def link_version(
        self, version_id: str, entity: str, project: str, collection: str, aliases: Sequence[str]
    ) -> VersionInfo:
        """Link a version into the portfolio ``entity/project/collection`` (created if
        needed); returns the link (its own index and aliases)."""
        ...

    def unlink_version(self, version_id: str, entity: str, project: str, collection: str) -> None:
        """Remove the version's membership (and aliases) in a portfolio; nothing else."""
        ...

    def list_links(self, version_id: str, limit: int) -> list[VersionInfo]:
        """The version as seen through each portfolio it is linked into (at most ``limit``)."""
        ...

    def edit_collection(
        self,
        entity: str,
        project: str,
        name: str,
        description: str | None,
        tags: Sequence[str],
        new_name: str | None = None,
        new_type: str | None = None,
    ) -> CollectionInfo:
        """Replace description and tags; rename (``new_name``) and retype a sequence
        (``new_type``) with all its versions."""
        ...

    def delete_collection(self, entity: str, project: str, name: str) -> None: ...
    def lineage(self, version_id: str) -> Lineage: ...
    def run_versions(self, entity: str, project: str, run_id: str, used: bool) -> list[VersionInfo]:
        """Versions the run logged (``used`` False) or used (``used`` True), oldest first."""
        ...

    def log_history(
        self, entity: str, project: str, run_id: str, step: int | None, data: dict[str, Any]
    ) -> int | None:
        """Write the history row ``data`` at ``step`` (None: the step after the last; a row
        already at that step is merged into) and set the summary's value of each of its
        keys; returns the step used, or None when ``step`` is below the run's last step
        (ignored, as W&B does)."""
        ...

    def read_history(
        self, entity: str, project: str, run_id: str, query: HistoryQuery | None = None
    ) -> list[dict[str, Any]]:
        """The run's history rows that ``query`` selects (default: all), by step, each with
        its ``_step``."""
        ...

    def create_registry(
        self,
        organization: str | None,
        name: str,
        visibility: str,
        description: str | None,
        artifact_types: Sequence[str] | None,
    ) -> RegistryInfo: ...
    def get_registry(self, organization: str | None, name: str) -> RegistryInfo: ...
    def list_registries(self, organization: str | None) -> list[RegistryInfo]: ...
    def edit_registry(
        self,
        organization: str | None,
        name: str,
        description: str | None,
        visibility: str,
        artifact_types: Sequence[str] | None,
    ) -> RegistryInfo:
        """``artifact_types`` None allows all types; a list restricts (types are add-only)."""
        ...

    def delete_registry(self, organization: str | None, name: str) -> None: ...
    def set_default_ttl(self, entity: str, project: str | None, seconds: int | None) -> None:
        """Set (None: clear) the TTL inherited by versions of an entity or one project."""
        ...

    def get_default_ttl(self, entity: str, project: str | None) -> int | None: ...

    # ---- replication (issue 22): copying versions between stores
    def store_id(self) -> str:
        """The store's stable id: the ``origin`` of the versions copied from it."""
        ...

    def replicas(self, origin: str, entity: str, project: str) -> list[ReplicaRecord]:
        """The versions of ``entity/project`` that are copies of versions of ``origin``
        (their sync records). Raises ``CommError`` when the project cannot be read."""
        ...

    def replicate_version(
        self, request: ReplicaVersion, progress: ProgressCallback = silent
    ) -> ReplicaResult:
        """Copy one version (see ``ReplicaVersion``): store the blobs the store lacks (from
        ``request.fetch``; ``progress`` hears of the task ``Uploading``), then create the
        version once per sync record (numbered after the collection's latest, so it keeps
        its number when the collection holds exactly the versions before it), keep its
        ``created_at``, apply aliases by the conflict rule, tags, links and uses. A repeated
        request changes nothing.

        Raises:
            ValueError: invalid input (as ``log``).
            NotFoundError: a registry of ``links`` or a run does not exist here (before
                anything is written).
            AuthorizationError: the caller may not write the project or a registry.
            CommError: the commit is refused.
        """
        ...

    def replicate_run(self, run: ReplicaRun) -> RunInfo:
        """Copy one run (see ``ReplicaRun``). Raises ``ValueError`` for values that cannot
        be stored, ``AuthorizationError`` when the caller may not write the project."""
        ...

    def record_sent(self, peer: str, version_id: str, peer_version_id: str) -> None:
        """Keep the sync record of a version of this store copied to ``peer`` (the other
        store's id) as ``peer_version_id``; idempotent."""
        ...

    def automations(self) -> AutomationsBackend:
        """Webhook integrations, automations and deliveries (``cairn.protocol_automations``)."""
        ...

    def close(self) -> None: ...


BackendFactory = Callable[[Settings], Backend]

_factories: dict[str, BackendFactory] = {}


def register_backend(mode: str, factory: BackendFactory) -> None:
    """Called by ``cairn.connect``: make ``mode`` ("embedded", "server") openable."""
    _factories[mode] = factory


def open_backend(settings: Settings) -> Backend:
    """Open the backend the settings select (``settings.mode``)."""
    try:
        factory = _factories[settings.mode]
    except KeyError:
        raise RuntimeError(
            f"No backend registered for mode {settings.mode!r}; import cairn to register them"
        ) from None
    return factory(settings)
