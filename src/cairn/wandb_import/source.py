"""``WandbSource``: a W&B project as a replication ``Source`` (``cairn.replication``).

The exporter's ``list`` run is read once, on first use: the collections, their versions
oldest first and the runs they name. Blobs are fetched on demand, only those the
destination lacks, by one long-lived ``fetch`` run of the exporter, and each is checked
against its digest before the engine sees it. W&B ids are the sync record's source ids,
under the origin ``wandb:<base url>``, so a repeated import finds what an earlier one
copied.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from cairn.core.digest import b64, b64_to_hex, new_hasher
from cairn.core.registry import is_registry_project, registry_name
from cairn.core.ttl import TTL_DISABLED
from cairn.errors import CorruptionError
from cairn.progress import ProgressCallback, TaskCounter, silent
from cairn.protocol import ReplicaLink
from cairn.replication.records import CollectionRecord, RunRecord, VersionRecord
from cairn.wandb_import.export_records import (
    ExportedCollection,
    ExportedRun,
    ExportedVersion,
    RunRef,
)
from cairn.wandb_import.runner import Exporter

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence
    from pathlib import Path

    from cairn.protocol import BlobRef
    from cairn.replication.records import RunRef as RunKey
    from cairn.wandb_import.runner import WandbProject

_CHUNK = 1 << 20


def _key(ref: RunRef) -> RunKey:
    return (ref.entity, ref.project, ref.id)


def _ttl(value: int | str | None) -> int | None:
    """W&B's TTL as a record's: inherit → None, no TTL → TTL_DISABLED, seconds kept."""
    if value == "inherit":
        return None
    if value is None:
        return TTL_DISABLED
    return int(value)


def _manifest_bytes(manifest: dict[str, Any]) -> bytes:
    """The manifest as W&B stores it, without the entries' ``birthArtifactID`` (an id of
    the W&B server's, meaningless at the destination); references stay references."""
    contents = {
        path: {k: v for k, v in entry.items() if k != "birthArtifactID"}
        if isinstance(entry, dict)
        else entry
        for path, entry in (manifest.get("contents") or {}).items()
    }
    return json.dumps({**manifest, "contents": contents}, separators=(",", ":")).encode()


def _file_digest(path: Path, algorithm: str) -> str:
    hasher = new_hasher(algorithm)
    with path.open("rb") as data:
        while chunk := data.read(_CHUNK):
            hasher.update(chunk)
    return b64(hasher.digest())


class WandbSource:
    """The collections of one W&B project (optionally only ``names`` and ``types``); a
    context manager that stops its exporter subprocesses."""

    def __init__(
        self,
        project: WandbProject,
        names: Sequence[str] = (),
        types: Sequence[str] = (),
        progress: ProgressCallback = silent,
    ) -> None:
        self.project = project
        self.progress = progress
        self.names = tuple(names)
        self.types = tuple(types)
        self.wandb_version = ""
        self._collections: list[CollectionRecord] | None = None
        self._versions: dict[str, list[VersionRecord]] = {}
        self._runs: dict[RunKey, RunRecord] = {}
        self._fetcher: Exporter | None = None

    def __enter__(self) -> WandbSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._fetcher is not None:
            self._fetcher.close()
            self._fetcher = None

    def origin(self) -> str:
        return f"wandb:{self.project.base_url.rstrip('/')}"

    def _load(self) -> list[CollectionRecord]:
        """Run the exporter's ``list`` once (see the module doc)."""
        if self._collections is not None:
            return self._collections
        args: list[str] = []
        for name in self.names:
            args += ["--name", name]
        for kind in self.types:
            args += ["--type", kind]
        collections: dict[str, CollectionRecord] = {}
        counter = TaskCounter("Listing W&B versions", self.progress, 0, 0)
        with Exporter(self.project, "list", args) as exporter:
            for record in exporter.records():
                if isinstance(record, ExportedCollection):
                    collections[record.name] = self._collection(record)
                    self._versions[record.name] = []
                elif isinstance(record, ExportedRun):
                    self._runs[_key(record.ref)] = self._run(record)
                elif isinstance(record, ExportedVersion):
                    self._versions[record.collection].append(
                        self._version(collections[record.collection], record)
                    )
                    counter.add(1, 0)
            self.wandb_version = exporter.wandb_version
        counter.finish()
        self._collections = list(collections.values())
        return self._collections

    def _collection(self, record: ExportedCollection) -> CollectionRecord:
        return CollectionRecord(
            entity=self.project.entity,
            project=self.project.project,
            name=record.name,
            type=record.type,
            description=record.description,
            tags=record.tags,
        )

    @staticmethod
    def _run(record: ExportedRun) -> RunRecord:
        return RunRecord(
            entity=record.ref.entity,
            project=record.ref.project,
            run_id=record.ref.id,
            name=record.name,
            job_type=record.job_type,
            config=record.config,
            summary=record.summary,
            state=record.state or "finished",
            created_at=record.created_at,
            history=record.history or (),
        )

    @staticmethod
    def _version(collection: CollectionRecord, record: ExportedVersion) -> VersionRecord:
        links = tuple(
            ReplicaLink(registry_name(link.project), link.collection, link.aliases)
            for link in record.links
            if is_registry_project(link.project)
        )
        return VersionRecord(
            source_id=record.id,
            collection=collection,
            index=record.index,
            digest=record.digest,
            digest_algorithm=record.digest_algorithm,
            manifest=_manifest_bytes(record.manifest),
            created_at=record.created_at,
            aliases=record.aliases,
            tags=record.tags,
            metadata=record.metadata,
            description=record.description,
            ttl_seconds=_ttl(record.ttl),
            logged_by=None if record.logged_by is None else _key(record.logged_by),
            used_by=tuple(_key(ref) for ref in record.used_by),
            links=links,
        )

    def collections(self) -> Iterator[CollectionRecord]:
        yield from self._load()

    def versions(self, collection: CollectionRecord) -> Iterator[VersionRecord]:
        self._load()
        yield from self._versions.get(collection.name, ())

    def run(self, ref: RunKey) -> RunRecord | None:
        self._load()
        return self._runs.get(ref)

    def fetch_blobs(
        self, version: VersionRecord, blobs: Sequence[BlobRef], folder: Path
    ) -> Mapping[tuple[str, str], Path]:
        """Downloaded by the exporter into ``folder`` and checked against their digests.

        Raises: CorruptionError (a blob the manifest does not hold as a stored file, or a
        download whose digest differs), and what the exporter raises (``Exporter``).
        """
        contents = json.loads(version.manifest).get("contents", {})
        path_of: dict[str, str] = {}
        for path, entry in contents.items():
            if isinstance(entry, dict) and not entry.get("ref"):
                path_of.setdefault(str(entry.get("digest")), path)
        missing = [b.digest for b in blobs if b.digest not in path_of]
        if missing:
            raise CorruptionError(f"{version.collection.path}: no stored entry has {missing[0]}")
        if self._fetcher is None:
            self._fetcher = Exporter(self.project, "fetch")
        collection = version.collection
        artifact = f"{collection.entity}/{collection.project}/{collection.name}:v{version.index}"
        self._fetcher.fetch(artifact, sorted({path_of[b.digest] for b in blobs}), folder)
        found: dict[tuple[str, str], Path] = {}
        for blob in blobs:
            path = folder / b64_to_hex(blob.digest)
            if not path.is_file() or _file_digest(path, blob.algorithm) != blob.digest:
                raise CorruptionError(
                    f"{artifact}: the W&B server sent {path_of[blob.digest]} with another digest"
                )
            found[(blob.digest, blob.algorithm)] = path
        return found

    def record_copied(self, version: VersionRecord, peer: str, peer_version_id: str) -> None:
        """W&B keeps no record of where its versions were copied: the destination's is
        the sync record."""
