"""The bytes of a version's files, for a caller who may read the version.

A page that shows or sends a file of a version asks here for the version's ``FileBytes``:
the caller's right to read the version is checked first, and the bytes come from the
version's own blob area (its source entity's, on a server). The digests asked for are
those of the version's manifest, which the caller could read.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from cairn.core.manifest import Manifest
from cairn.errors import NotFoundError
from cairn.service.authz import READ, Gate
from cairn.service.lookup import require_version, source_entity
from cairn.service.resources import MANIFEST_ALGORITHM, Store

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from cairn.service.caller import Caller
    from cairn.storage.blobstores.interface import BlobArea


@dataclasses.dataclass(frozen=True)
class FileBytes:
    """Where the files of one version (checked readable) are read from."""

    area: BlobArea

    def loose_path(self, digest: str, algorithm: str) -> Path | None:
        """The read-only file of a blob on this machine, or None (packed, or in a bucket).

        Raises: ValueError for a digest that is not valid for its algorithm.
        """
        return self.area.local_path(digest, algorithm)

    def stream(self, digest: str, algorithm: str) -> Iterator[bytes]:
        """The bytes of a blob in chunks (for one that has no ``loose_path``).

        Raises (at once): KeyError / FileNotFoundError (not stored), botocore errors.
        """
        return self.area.iter_bytes(digest, algorithm)

    def read(self, digest: str, algorithm: str, limit: int | None = None) -> bytes:
        """The blob's bytes (its first ``limit`` bytes when given), reading no further.

        Raises: FileNotFoundError / KeyError (not stored), OSError.
        """
        loose = self.loose_path(digest, algorithm)
        if loose is not None:
            with open(loose, "rb") as handle:
                return handle.read() if limit is None else handle.read(limit)
        read = bytearray()
        for chunk in self.stream(digest, algorithm):
            read += chunk
            if limit is not None and len(read) >= limit:
                break
        return bytes(read if limit is None else read[:limit])


def entry_bytes(
    store: Store, caller: Caller, version_id: str, digest: str, algorithm: str
) -> FileBytes:
    """Read access to the file of version ``version_id`` whose content is ``digest``, for
    a client that names a file by its digest (the official client's fallback download):
    the version's manifest must hold such a stored entry.

    Raises: CommError ("not found": the version is unknown or unreadable, or holds no
    stored entry with that digest).
    """
    with store.db.read() as session:
        version = require_version(session, version_id)
        Gate(session, store, caller).require_version(version, READ, version_id)
        entity = source_entity(session, version)
        manifest_digest = version.manifest_digest
    area = store.blobs_of(entity)
    manifest = Manifest.from_json(area.read_bytes(manifest_digest, MANIFEST_ALGORITHM))
    held = any(
        entry.ref is None and entry.digest == digest and entry.algorithm() == algorithm
        for entry in manifest.entries.values()
    )
    if not held:
        raise NotFoundError(f"no file with digest {digest} in artifact '{version_id}'")
    return FileBytes(area)


def file_bytes(store: Store, caller: Caller, version_id: str) -> FileBytes:
    """Read access to the files of version ``version_id``.

    Raises: CommError ("artifact '<id>' not found": unknown, or the caller cannot read it).
    """
    with store.db.read() as session:
        version = require_version(session, version_id)
        Gate(session, store, caller).require_version(version, READ, version_id)
        entity = source_entity(session, version)
    return FileBytes(store.blobs_of(entity))
