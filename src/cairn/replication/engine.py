"""The copy engine: versions from a ``Source`` into a destination ``Backend``.

Three stages, each with its progress task: reading the source's selected collections and
their versions, copying the runs they name (loggers and users, first, so lineage can
point at them), and copying each version in order (one ``replicate_version`` call). What the
destination already holds is read first (its sync records for the source's ``origin``),
so a version is sent once, a run interrupted midway resumes where it stopped, and a
repeated run whose source has not changed sends no request that writes. ``dry_run`` reads
and reports and writes nothing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cairn.core.names import LATEST
from cairn.core.registry import REGISTRY_PREFIX
from cairn.core.ttl import TTL_DISABLED
from cairn.errors import AuthorizationError, NotFoundError
from cairn.progress import ProgressCallback, TaskCounter, silent
from cairn.protocol import (
    AliasConflict,
    CommitRequest,
    ReplicaLink,
    ReplicaRun,
    ReplicaVersion,
    VersionInfo,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from cairn.protocol import Backend, BlobRef
    from cairn.replication.records import CollectionRecord, RunRecord, RunRef, VersionRecord
    from cairn.replication.source import Source

MAX_LINKS = 1000
# The progress tasks, one per stage: they count collections, runs and versions (and the
# bytes sent with the versions).
READING = "Reading collections"
RUNS = "Copying runs"
VERSIONS = "Copying versions"


@dataclasses.dataclass(frozen=True)
class Options:
    """``entity_map``: source entity → destination entity (others keep their name);
    ``force_aliases``: move an alias another version holds at the destination;
    ``dry_run``: write nothing."""

    entity_map: Mapping[str, str] = dataclasses.field(default_factory=dict)
    force_aliases: bool = False
    dry_run: bool = False


@dataclasses.dataclass(frozen=True)
class Renumbered:
    """A version whose number at the destination is not its number at the source."""

    collection: str  # entity/project/name at the destination
    source_index: int
    index: int | None  # None in a dry run (the destination decides when it is written)


@dataclasses.dataclass
class Summary:
    """What a copy did (or, in a dry run, would do); every count is of this run only."""

    versions: int = 0  # versions created at the destination
    updated: int = 0  # versions already there whose aliases, tags or values were updated
    unchanged: int = 0  # versions already there, as the source has them
    collections: int = 0  # collections with a version created or updated
    runs: int = 0  # runs created or updated
    blobs_sent: int = 0
    bytes_sent: int = 0
    aliases_moved: int = 0
    conflicts: list[AliasConflict] = dataclasses.field(default_factory=list)
    renumbered: list[Renumbered] = dataclasses.field(default_factory=list)
    dry_run: bool = False

    def line(self, verb: str) -> str:
        """The one-line summary, e.g. ``synced 412 versions of 9 collections, 3.1 GB sent,
        18 aliases moved, 2 conflicts``."""
        from cairn.progress import format_bytes  # noqa: PLC0415 - keeps this module's imports small

        head = f"would have {verb}" if self.dry_run else verb
        text = (
            f"{head} {self.versions} versions of {self.collections} collections, "
            f"{format_bytes(self.bytes_sent)} sent, {self.aliases_moved} aliases moved, "
            f"{len(self.conflicts)} conflicts"
        )
        if self.updated:
            text += f", {self.updated} versions updated"
        return text

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _updated_values(record: VersionRecord, dest: VersionInfo) -> bool:
    """Whether the destination's copy lacks a tag or differs in description, metadata
    or TTL from the source."""
    ttl = None if dest.ttl_is_inherited else (dest.ttl_duration_seconds or TTL_DISABLED)
    return bool(
        set(record.tags) - set(dest.tags)
        or record.description != dest.description
        or record.metadata != dest.metadata
        or record.ttl_seconds != ttl
    )


class Engine:
    """Copies what ``source`` selects into ``dest`` (see module doc); one use per run."""

    def __init__(
        self,
        source: Source,
        dest: Backend,
        options: Options | None = None,
        progress: ProgressCallback = silent,
    ) -> None:
        self.source = source
        self.dest = dest
        self.options = options or Options()
        self.progress = progress
        self.summary = Summary(dry_run=self.options.dry_run)
        self._known: dict[tuple[str, str], dict[str, VersionInfo]] = {}
        self._touched: set[str] = set()
        self._peer = ""

    def _entity(self, entity: str) -> str:
        return self.options.entity_map.get(entity, entity)

    def _run_ref(self, ref: RunRef) -> tuple[str, str, str]:
        return (self._entity(ref[0]), ref[1], ref[2])

    def run(self) -> Summary:
        """Copy everything; returns the summary.

        Raises: as the destination's replication verbs (``Backend.replicate_version``):
        ``NotFoundError`` (a registry missing at the destination, checked for every
        version before anything is written), ``AuthorizationError``, ``ValueError``,
        ``CommError``; ``OSError`` for the local scratch folder.
        """
        origin = self.source.origin()
        self._peer = self.dest.store_id()
        collections, versions = self._read()
        self._check_registries(versions)
        self._copy_runs(versions)
        self._copy_versions(origin, versions)
        self._copy_collection_values(collections)
        self.summary.collections = len(self._touched)
        return self.summary

    def _read(self) -> tuple[list[CollectionRecord], list[VersionRecord]]:
        """The selected versions, collection by collection (the task counts collections),
        and the destination's sync records of their projects."""
        origin = self.source.origin()
        collections = list(self.source.collections())
        records: list[VersionRecord] = []
        counter = TaskCounter(READING, self.progress, len(collections), 0, unit="collections")
        for collection in collections:
            records.extend(self.source.versions(collection))
            self._replicas(origin, self._entity(collection.entity), collection.project)
            counter.add(1, 0)
        counter.finish()
        return collections, records

    def _replicas(self, origin: str, entity: str, project: str) -> dict[str, VersionInfo]:
        """The destination's copies of the source's versions in ``entity/project``."""
        key = (entity, project)
        known = self._known.get(key)
        if known is None:
            try:
                found = self.dest.replicas(origin, entity, project)
            except NotFoundError:
                found = []
            known = self._known[key] = {r.source_id: r.version for r in found}
        return known

    def _check_registries(self, versions: Sequence[VersionRecord]) -> None:
        """Every registry a version links into exists at the destination.

        Raises NotFoundError naming the first that does not (before anything is written).
        """
        names = sorted({link.registry for v in versions for link in v.links})
        for name in names:
            try:
                self.dest.get_registry(None, name)
            except NotFoundError:
                raise NotFoundError(
                    f"Registry '{name}' does not exist at the destination: create it there "
                    "first (nothing was copied)"
                ) from None

    def _copy_runs(self, versions: Sequence[VersionRecord]) -> None:
        refs: dict[RunRef, None] = {}
        for version in versions:
            if version.logged_by is not None:
                refs[version.logged_by] = None
            for ref in version.used_by:
                refs[ref] = None
        counter = TaskCounter(RUNS, self.progress, len(refs), 0, unit="runs")
        for ref in refs:
            record = self.source.run(ref)
            if record is not None and self._run_changed(record):
                if not self.options.dry_run:
                    self.dest.replicate_run(self._replica_run(record))
                self.summary.runs += 1
            counter.add(1, 0)
        counter.finish()

    def _replica_run(self, record: RunRecord) -> ReplicaRun:
        return ReplicaRun(
            entity=self._entity(record.entity),
            project=record.project,
            run_id=record.run_id,
            name=record.name,
            job_type=record.job_type,
            group=record.group,
            config=record.config,
            summary=record.summary,
            state=record.state,
            history=record.history,
        )

    def _run_changed(self, record: RunRecord) -> bool:
        """Whether the destination lacks the run or differs from it (read only)."""
        entity = self._entity(record.entity)
        try:
            there = self.dest.get_run(entity, record.project, record.run_id)
        except NotFoundError:
            return True
        last = record.history[-1].get("_step") if record.history else None
        return (
            there.config != record.config
            or there.summary != record.summary
            or there.last_step != last
            or there.state != record.state
        )

    def _copy_versions(self, origin: str, versions: Sequence[VersionRecord]) -> None:
        counter = TaskCounter(VERSIONS, self.progress, len(versions), 0, unit="versions")
        with tempfile.TemporaryDirectory(prefix="cairn-sync-") as scratch:
            for number, record in enumerate(versions):
                entity = self._entity(record.collection.entity)
                known = self._replicas(origin, entity, record.collection.project)
                there = known.get(record.source_id)
                if there is None or self._needs_update(record, there):
                    folder = Path(scratch) / str(number)
                    sent = self.summary.bytes_sent
                    self._copy(origin, record, there, folder)
                    counter.add(1, self.summary.bytes_sent - sent)
                else:
                    self.summary.unchanged += 1
                    counter.add(1, 0)
        counter.finish()

    def _copy_collection_values(self, collections: Sequence[CollectionRecord]) -> None:
        """Give each copied collection the source's description and tags (read first: a
        collection already alike is not written)."""
        for collection in collections:
            entity = self._entity(collection.entity)
            try:
                there = self.dest.get_collection(entity, collection.project, collection.name)
            except NotFoundError:
                continue  # nothing of it was copied (a dry run, or no committed version)
            if (there.description, sorted(there.tags)) == (
                collection.description,
                sorted(collection.tags),
            ):
                continue
            self._touched.add(f"{entity}/{collection.project}/{collection.name}")
            if not self.options.dry_run:
                self.dest.edit_collection(
                    entity,
                    collection.project,
                    collection.name,
                    collection.description,
                    list(collection.tags),
                )

    def _missing_aliases(self, record: VersionRecord, there: VersionInfo) -> list[str]:
        return [a for a in record.aliases if a != LATEST and a not in there.aliases]

    def _needs_update(self, record: VersionRecord, there: VersionInfo) -> bool:
        """Whether a version already copied lacks something the source has: a tag, a value,
        an alias (one another version holds counts only with ``force_aliases``; it is
        reported as a conflict otherwise), a registry link or a use (read only). A copy
        deleted at the destination is left deleted."""
        if there.state != "COMMITTED":
            return False
        if _updated_values(record, there):
            return True
        for alias in self._missing_aliases(record, there):
            holder = self._holder(there, alias)
            if holder is None or self.options.force_aliases:
                return True
            self.summary.conflicts.append(AliasConflict(_path(there), alias, holder.version_index))
        if record.links:
            linked = {
                (link.project, link.collection): set(link.aliases)
                for link in self.dest.list_links(there.id, MAX_LINKS)
            }
            for link in record.links:
                have = linked.get((REGISTRY_PREFIX + link.registry, link.collection))
                if have is None or set(link.aliases) - have - {LATEST}:
                    return True
        if record.used_by:
            users = {(r.entity, r.project, r.id) for r in self.dest.lineage(there.id).used_by}
            if {self._run_ref(ref) for ref in record.used_by} - users:
                return True
        return False

    def _holder(self, there: VersionInfo, alias: str) -> VersionInfo | None:
        try:
            return self.dest.resolve_version(there.entity, there.project, there.collection, alias)
        except NotFoundError:
            return None

    def _request(self, origin: str, record: VersionRecord, folder: Path) -> ReplicaVersion:
        collection = record.collection
        entity = self._entity(collection.entity)

        def fetch(missing: Sequence[BlobRef]) -> Mapping[tuple[str, str], Path]:
            return self.source.fetch_blobs(record, missing, folder)

        commit = CommitRequest(
            entity=entity,
            project=collection.project,
            collection=collection.name,
            type=collection.type,
            digest=record.digest,
            digest_algorithm=record.digest_algorithm,
            manifest_json=record.manifest,
            description=record.description,
            metadata=record.metadata,
            tags=record.tags,
            run_id=None if record.logged_by is None else record.logged_by[2],
            history_step=record.history_step,
            ttl_duration_seconds=record.ttl_seconds,
        )
        return ReplicaVersion(
            commit=commit,
            origin=origin,
            source_id=record.source_id,
            created_at=record.created_at,
            aliases=record.aliases,
            used_by=tuple(self._run_ref(ref) for ref in record.used_by),
            links=tuple(
                ReplicaLink(link.registry, link.collection, tuple(link.aliases))
                for link in record.links
            ),
            force_aliases=self.options.force_aliases,
            fetch=fetch,
        )

    def _copy(
        self, origin: str, record: VersionRecord, there: VersionInfo | None, folder: Path
    ) -> None:
        summary = self.summary
        path = f"{self._entity(record.collection.entity)}/{record.collection.project}/"
        path += record.collection.name
        self._touched.add(path)
        if self.options.dry_run:
            if there is None:
                summary.versions += 1
            else:
                summary.updated += 1
            return
        result = self.dest.replicate_version(self._request(origin, record, folder))
        summary.versions += result.created
        summary.updated += not result.created
        summary.blobs_sent += result.blobs_sent
        summary.bytes_sent += result.bytes_sent
        summary.aliases_moved += len(result.aliases_moved)
        summary.conflicts.extend(result.conflicts)
        if result.version.version_index != record.index and result.created:
            summary.renumbered.append(Renumbered(path, record.index, result.version.version_index))
        # A reader of the source may copy from it, but keeps no record there.
        with contextlib.suppress(AuthorizationError):
            self.source.record_copied(record, self._peer, result.version.id)


def _path(info: VersionInfo) -> str:
    return f"{info.entity}/{info.project}/{info.collection}"
