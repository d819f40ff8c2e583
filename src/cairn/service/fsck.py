"""Check a store's integrity: every committed version can be read back in full.

``check_store`` reports, without changing anything: committed versions whose manifest
blob is missing or unreadable, stored (non-reference) entries whose blob is missing or
whose digest is malformed, and, with ``read_data``, every blob whose bytes no longer hash
to its name. A file stored as chunks is present when its chunk list is whole and all its
chunks are stored; with ``read_data`` each chunk is checked against its BLAKE3 name (a bad
one is named, ``b3/..``) and each chunked file is reassembled and its digest checked. The
CLI prints the report; nothing here repairs.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from cairn.core.digest import b64, hex_to_b64
from cairn.core.manifest import Manifest
from cairn.db import repositories as repo
from cairn.errors import CorruptionError
from cairn.service.resources import MANIFEST_ALGORITHM, Store, open_store
from cairn.storage.chunking import CHUNK_ALGORITHM, chunk_key

if TYPE_CHECKING:
    from pathlib import Path

    from cairn.settings import Settings
    from cairn.storage.local.blobs import LocalBlobStore


@dataclasses.dataclass
class FsckReport:
    """What ``check_store`` found; ``ok`` when ``problems`` is empty."""

    problems: list[str] = dataclasses.field(default_factory=list)
    versions_checked: int = 0
    entries_checked: int = 0
    blobs_verified: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        """One line: what was checked and whether problems were found."""
        checked = f"checked {self.versions_checked} versions, {self.entries_checked} entries"
        if self.blobs_verified:
            checked += f", re-hashed {self.blobs_verified} blobs"
        if self.ok:
            return f"{checked}: no problems"
        return f"{checked}: {len(self.problems)} problem(s)"


def _check_versions(store: Store, report: FsckReport) -> None:
    with store.db.read() as session:
        versions = repo.committed_manifests(session)
    present: dict[tuple[str, str], bool] = {}
    for collection, index, manifest_digest in versions:
        name = f"{collection}:v{index}"
        report.versions_checked += 1
        try:
            data = store.local_blobs().read_bytes(manifest_digest, MANIFEST_ALGORITHM)
        except FileNotFoundError:
            report.problems.append(f"{name}: manifest blob {manifest_digest} is missing")
            continue
        except (OSError, ValueError) as exc:
            report.problems.append(f"{name}: manifest blob {manifest_digest} unreadable: {exc}")
            continue
        try:
            manifest = Manifest.from_json(data)
        except ValueError as exc:
            report.problems.append(f"{name}: manifest {manifest_digest} cannot be parsed: {exc}")
            continue
        for path, entry in manifest.entries.items():
            if entry.ref is not None:
                continue
            report.entries_checked += 1
            key = (entry.algorithm(), entry.digest)
            if key not in present:
                try:
                    present[key] = store.local_blobs().has(entry.digest, entry.algorithm())
                except ValueError:
                    report.problems.append(
                        f"{name}: entry '{path}' has an invalid digest {entry.digest!r}"
                    )
                    continue
            if not present[key]:
                report.problems.append(
                    f"{name}: blob {entry.algorithm()} {entry.digest} of '{path}' is missing"
                    + _chunked_why(store, entry.digest, entry.algorithm())
                )


def _chunked_why(store: Store, digest: str, algorithm: str) -> str:
    """Why a missing blob that has a chunk list is missing: a torn list, or which chunks."""
    chunks = store.local_blobs().chunks
    if not chunks.list_path(digest, algorithm).is_file():
        return ""
    refs = chunks.chunks_of(digest, algorithm)
    if not refs:
        return " (its chunk list is torn)"
    packs = chunks.packs
    gone = [
        chunk_key(r.digest) for r in refs if packs.lookup(CHUNK_ALGORITHM, b64(r.digest)) is None
    ]
    return f" (chunk(s) {', '.join(gone[:5])} missing)" if gone else ""


def _verify_blobs(store: Store, report: FsckReport) -> None:
    blobs = store.local_blobs()
    for algorithm, hex_digest, path in blobs.iter_blobs():
        report.blobs_verified += 1
        if path.is_relative_to(blobs.chunks.dir):
            _verify_chunked(blobs, algorithm, hex_digest, path, report)
            continue
        try:
            intact = blobs.verify(hex_to_b64(hex_digest), algorithm)
        except OSError as exc:
            report.problems.append(f"blob {path} cannot be read: {exc}")
            continue
        if intact:
            continue
        if algorithm == CHUNK_ALGORITHM:
            name = chunk_key(bytes.fromhex(hex_digest))
            report.problems.append(
                f"chunk {name} in {path} is corrupt: its content does not match its name"
            )
        else:
            report.problems.append(f"blob {path} is corrupt: its content does not match its name")


def _verify_chunked(
    blobs: LocalBlobStore, algorithm: str, hex_digest: str, path: Path, report: FsckReport
) -> None:
    """Reassemble one chunked file and check it, naming the chunk that is wrong."""
    try:
        blobs.chunks.verify(hex_to_b64(hex_digest), algorithm)
    except FileNotFoundError:
        report.problems.append(f"chunk list {path} is torn or truncated")
    except CorruptionError as exc:
        report.problems.append(f"chunked blob {algorithm}/{hex_digest}: {exc}")
    except OSError as exc:
        report.problems.append(f"chunked blob {path} cannot be read: {exc}")


def check_store(settings: Settings, read_data: bool) -> FsckReport:
    """Check the embedded store of ``settings``; with ``read_data``, rehash every blob.

    Raises:
        StoreError: the store directory or its database cannot be opened.
    """
    store = open_store(settings)
    try:
        report = FsckReport()
        _check_versions(store, report)
        if read_data:
            _verify_blobs(store, report)
        return report
    finally:
        store.close()
