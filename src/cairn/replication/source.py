"""Where copied versions come from: the ``Source`` protocol, and ``BackendSource``, a
source over any ``Backend`` (the embedded store for ``cairn sync``, a Cairn server for
``cairn mirror``).

A source yields records (``records.py``) and fetches a version's blobs on demand, only
those the destination lacks, as local files; reference entries stay references (they are
entries of the manifest, never fetched).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Protocol

from cairn.core.digest import blob_key
from cairn.core.registry import is_registry_project, registry_name
from cairn.core.ttl import TTL_DISABLED
from cairn.errors import NotFoundError
from cairn.protocol import BlobRef, Placement, ReplicaLink
from cairn.replication.records import CollectionRecord, RunRecord, VersionRecord

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence
    from pathlib import Path

    from cairn.protocol import Backend, VersionInfo
    from cairn.replication.records import RunRef

PAGE = 500
MAX_LINKS = 1000


@dataclasses.dataclass(frozen=True)
class Selection:
    """What to copy: everything (all None), an entity, a project, or one collection.

    ``parse("a/b/c")`` is entity a, project b, collection c; ``parse("b")`` is project b of
    any entity; ``parse("a/b")`` project b of entity a.
    """

    entity: str | None = None
    project: str | None = None
    name: str | None = None

    @classmethod
    def parse(cls, text: str | None) -> Selection:
        """Raises ``ValueError`` for more than three parts or an empty one."""
        if not text:
            return cls()
        parts = text.split("/")
        if len(parts) > 3 or not all(parts):  # entity/project/name
            raise ValueError(f"Invalid selection {text!r}: expected [[entity/]project[/name]]")
        if len(parts) == 1:
            return cls(project=parts[0])
        return cls(*parts)


class Source(Protocol):
    """A store versions are copied from (see module doc)."""

    def origin(self) -> str:
        """The source's stable id (the sync record's ``origin`` at the destination)."""
        ...

    def collections(self) -> Iterator[CollectionRecord]:
        """The selected sequences."""
        ...

    def versions(self, collection: CollectionRecord) -> Iterator[VersionRecord]:
        """The committed versions of ``collection``, oldest first."""
        ...

    def run(self, ref: RunRef) -> RunRecord | None:
        """A run a version names, with its history; None when the source has no such run."""
        ...

    def fetch_blobs(
        self, version: VersionRecord, blobs: Sequence[BlobRef], folder: Path
    ) -> Mapping[tuple[str, str], Path]:
        """A local file below ``folder`` holding each of ``blobs`` of ``version``, by
        ``(digest, algorithm)``, each checked against its digest."""
        ...

    def record_copied(self, version: VersionRecord, peer: str, peer_version_id: str) -> None:
        """Keep the source's side of the sync record (a no-op where the source cannot)."""
        ...


def _ttl(info: VersionInfo) -> int | None:
    if info.ttl_is_inherited:
        return None
    return TTL_DISABLED if info.ttl_duration_seconds is None else info.ttl_duration_seconds


class BackendSource:
    """A ``Source`` over a ``Backend``: its projects and sequences that ``selection``
    names (registry projects are reached through the links of their versions, never
    copied as projects)."""

    def __init__(self, backend: Backend, selection: Selection) -> None:
        self.backend = backend
        self.selection = selection

    def origin(self) -> str:
        return self.backend.store_id()

    def collections(self) -> Iterator[CollectionRecord]:
        wanted = self.selection
        for project in self.backend.list_projects(wanted.entity, 500):
            if is_registry_project(project.name):
                continue
            if wanted.project is not None and project.name != wanted.project:
                continue
            for info in self.backend.list_collections(project.entity, project.name, None):
                if not info.is_sequence or (wanted.name is not None and info.name != wanted.name):
                    continue
                yield CollectionRecord(
                    info.entity, info.project, info.name, info.type,
                    info.description, tuple(info.tags),
                )  # fmt: skip

    def versions(self, collection: CollectionRecord) -> Iterator[VersionRecord]:
        infos: list[VersionInfo] = []
        cursor: str | None = None
        while True:
            page = self.backend.list_versions(
                collection.entity, collection.project, collection.name, cursor, PAGE
            )
            infos.extend(page.items)
            cursor = page.next_cursor
            if cursor is None:
                break
        for info in sorted(infos, key=lambda v: v.version_index):
            if info.state == "COMMITTED":
                yield self._record(collection, info)

    def _record(self, collection: CollectionRecord, info: VersionInfo) -> VersionRecord:
        lineage = self.backend.lineage(info.id)
        links = tuple(
            ReplicaLink(registry_name(link.project), link.collection, tuple(link.aliases))
            for link in self.backend.list_links(info.id, MAX_LINKS)
            if is_registry_project(link.project)
        )
        logged_by = lineage.logged_by
        return VersionRecord(
            source_id=info.id,
            collection=collection,
            index=info.version_index,
            digest=info.digest,
            digest_algorithm=info.digest_algorithm,
            manifest=self.backend.read_manifest(info.id),
            created_at=info.created_at,
            aliases=tuple(info.aliases),
            tags=tuple(info.tags),
            metadata=info.metadata,
            description=info.description,
            ttl_seconds=_ttl(info),
            history_step=info.history_step,
            logged_by=None
            if logged_by is None
            else (logged_by.entity, logged_by.project, logged_by.id),
            used_by=tuple((run.entity, run.project, run.id) for run in lineage.used_by),
            links=links,
        )

    def run(self, ref: RunRef) -> RunRecord | None:
        entity, project, run_id = ref
        try:
            info = self.backend.get_run(entity, project, run_id)
        except NotFoundError:
            return None
        history = self.backend.read_history(entity, project, run_id)
        return RunRecord(
            entity=entity,
            project=project,
            run_id=run_id,
            name=info.name,
            job_type=info.job_type,
            group=info.group,
            config=info.config,
            summary=info.summary,
            state=info.state,
            created_at=info.created_at,
            history=tuple(history),
        )

    def fetch_blobs(
        self, version: VersionRecord, blobs: Sequence[BlobRef], folder: Path
    ) -> Mapping[tuple[str, str], Path]:
        """Written by the backend's ``materialize`` (checked against their digests; an
        embedded store hard-links its loose blobs) at their content addresses below
        ``folder``."""
        entity = version.collection.entity
        placements = [
            Placement(blob_key(b.digest, b.algorithm), entity, b.digest, b.algorithm, b.size)
            for b in blobs
        ]
        self.backend.materialize(folder, placements, link=True, warn_skips=False)
        return {(p.digest, p.algorithm): folder / p.path for p in placements}

    def record_copied(self, version: VersionRecord, peer: str, peer_version_id: str) -> None:
        self.backend.record_sent(peer, version.source_id, peer_version_id)
