"""Logging a draft: validate everything, upload the blobs the store lacks, commit once.

This is the body of ``Artifact._log`` (called by ``Run.log_artifact``). Order matters for
the "bad input changes nothing" rule: names, type, aliases, tags and metadata are checked
before any byte is sent; blobs are uploaded before the single ``commit_version`` call, so a
failure midway leaves no version (blobs already stored are harmless: they are content
addressed and collected by GC when unreferenced).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from cairn.core.digest import MD5, XXH128
from cairn.core.manifest import Manifest, ManifestEntry
from cairn.core.metadata import validate_metadata
from cairn.core.names import (
    validate_artifact_name,
    validate_artifact_type,
    validate_stored_aliases,
    validate_stored_tags,
)
from cairn.progress import ProgressCallback, ProgressEvent, silent
from cairn.protocol import Backend, BlobBatchUpload, BlobRef, CommitRequest, CommitResult
from cairn.sdk._aliases import warn_ignored_aliases

UPLOAD_WORKERS = 8


@dataclasses.dataclass(frozen=True)
class Draft:
    """What a draft contributes to its commit."""

    name: str
    type: str
    description: str | None
    metadata: object
    digest_algorithm: str  # "MD5" | "XXH128"
    entry_algorithm: str  # "md5" | "xxh128"
    storage_region: str | None
    incremental: bool
    ttl_duration_seconds: int | None = None  # wire form (spec §4.12); None: inherit


@dataclasses.dataclass(frozen=True)
class Validated:
    aliases: list[str]
    tags: list[str]
    metadata: dict[str, Any]


def validate(draft: Draft, aliases: Sequence[str] | None, tags: Sequence[str] | None) -> Validated:
    """Check the draft and the log arguments with the rules the store applies to them (the
    functions of ``cairn.core``), so that bad input is refused with its message before
    anything is sent or written.

    Aliases are the requested ones as a set (spec §4.9: the order is lost), sorted; the
    store adds ``latest`` to every new version itself. Raises ``ValueError``/``TypeError``
    with the messages of spec §3.
    """
    validate_artifact_name(draft.name)
    validate_artifact_type(draft.type, draft.name)
    checked_aliases = validate_stored_aliases(aliases)
    checked_tags = validate_stored_tags(tags)
    metadata = validate_metadata(draft.metadata)
    return Validated(sorted(set(checked_aliases)), checked_tags, metadata)


def is_latest(backend: Backend, entity: str, project: str, draft: Draft, digest: str) -> bool:
    """Whether the collection's latest version already has this content (``digest``, in
    the draft's algorithm). Its blobs are then stored (a committed version's blobs are
    kept), so nothing needs uploading and the commit is a no-op.
    """
    return backend.latest_digest(entity, project, draft.name) == (digest, draft.digest_algorithm)


def upload_missing(
    backend: Backend,
    entity: str,
    entries: Sequence[ManifestEntry],
    progress: ProgressCallback = silent,
) -> None:
    """Ask once which blobs the store lacks, then upload each from an entry's local copy
    (all at once when the backend can: ``BlobBatchUpload``).

    ``progress`` hears of each uploaded file (task ``Uploading``).

    Raises:
        ValueError: a missing blob has no local copy to upload (named).
        CorruptionError: a local copy changed since it was added (immutable policy).
        OSError: a local copy cannot be read.
    """
    sources: dict[tuple[str, str], ManifestEntry] = {}  # each blob once, with a local copy
    for entry in entries:
        if entry.ref is None:
            # ``entry.algorithm()``, inline: this loop runs once per file of the draft.
            key = (entry.digest, XXH128 if entry.extra.get("alg") == "XXH128" else MD5)
            known = sources.get(key)
            if known is None or (known.local_path is None and entry.local_path is not None):
                sources[key] = entry
    missing = backend.missing_blobs(
        entity, [BlobRef(key[0], key[1], entry.size or 0) for key, entry in sources.items()]
    )
    uploads: list[tuple[BlobRef, Path]] = []
    for blob in missing:
        entry = sources[(blob.digest, blob.algorithm)]
        if entry.local_path is None:
            raise ValueError(
                f"Cannot log '{entry.path}': its content ({entry.digest}) is not in the store "
                "and the artifact has no local copy of it"
            )
        uploads.append((blob, Path(entry.local_path)))
    if not uploads:
        return
    started = time.monotonic()
    count = len(uploads)
    total_bytes = sum(blob.size for blob, _ in uploads)
    done_files = done_bytes = 0

    def report(files: int, size: int) -> None:
        nonlocal done_files, done_bytes
        done_files += files
        done_bytes += size
        progress(
            ProgressEvent("Uploading", done_files, count, done_bytes, total_bytes, started=started)
        )

    if isinstance(backend, BlobBatchUpload):
        backend.put_blobs(
            entity, uploads, lambda blobs: report(len(blobs), sum(blob.size for blob in blobs))
        )
    else:
        with ThreadPoolExecutor(max_workers=max(1, min(UPLOAD_WORKERS, count))) as pool:
            futures = [(b, pool.submit(backend.put_blob, entity, b, p)) for b, p in uploads]
            for blob, future in futures:
                future.result()
                report(1, blob.size)
    progress(
        ProgressEvent(
            "Uploading", done_files, count, done_bytes, total_bytes, True, started=started
        )
    )


def commit(
    backend: Backend,
    draft: Draft,
    manifest: Manifest,
    checked: Validated,
    *,
    entity: str,
    project: str,
    run_id: str | None,
    digest: str,
    distributed_id: str | None = None,
) -> CommitResult:
    """Commit ``manifest`` (artifact digest ``digest``) as the next version of
    ``draft.name`` (one backend call); with ``distributed_id``, the version the parts of
    that id added up to, with ``manifest``'s entries too."""
    result = backend.commit_version(
        request(
            draft, manifest, checked, entity, project, run_id, digest, distributed_id=distributed_id
        )
    )
    warn_ignored_aliases(checked.aliases, result.version.aliases)
    return result


def request(
    draft: Draft,
    manifest: Manifest,
    checked: Validated,
    entity: str,
    project: str,
    run_id: str | None,
    digest: str,
    *,
    distributed_id: str | None = None,
) -> CommitRequest:
    """The commit (or the part of a distributed version) of ``manifest``."""
    return CommitRequest(
        entity=entity,
        project=project,
        collection=draft.name,
        type=draft.type,
        digest=digest,
        digest_algorithm=draft.digest_algorithm,
        manifest_json=None,  # serialised by the backend if it needs the bytes
        description=draft.description,
        metadata=checked.metadata,
        aliases=checked.aliases,
        tags=checked.tags,
        run_id=run_id,
        storage_region=draft.storage_region,
        ttl_duration_seconds=draft.ttl_duration_seconds,
        incremental=draft.incremental,
        manifest=manifest,
        distributed_id=distributed_id,
    )
