"""Where the web UI reads from, and what the current visitor may see and change.

One UI serves two places: ``cairn server`` (many users, each signed in with an API key,
every read checked with ``service.authz`` so unreadable things are "not found", as in
the API) and ``cairn ui`` over the embedded store (one person on loopback: no sign-in,
everything readable and editable). ``UiSource`` hides which; ``Access`` answers the
permission questions for one request.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path

from cairn.errors import CommError
from cairn.server.ui.manifests import ManifestCache
from cairn.service.authz import READ, WRITE, Principal, authorize, authorize_version
from cairn.service.store import Store
from cairn.storage.blobstore import LocalBlobStore
from cairn.storage.s3_server_store import S3Area


@dataclasses.dataclass
class UiSource:
    """``store``: the store of the organization (database, authz); ``store_for(entity)``:
    the store whose blob area is that entity's; ``secret``: signs cookies; ``signin``:
    whether visitors must sign in (the server) or not (``cairn ui``)."""

    store: Store
    store_for: Callable[[str], Store]
    secret: bytes
    signin: bool
    manifests: ManifestCache = dataclasses.field(default_factory=ManifestCache)

    def loose_blob(self, entity: str, digest: str, algorithm: str) -> Path | None:
        """The read-only file of a blob in a directory store, or None (packed, or S3).

        Raises: ValueError for a digest that is not valid for its algorithm.
        """
        blobs = self.store_for(entity).blobs
        if not isinstance(blobs, LocalBlobStore):
            return None
        path = blobs.path_for(digest, algorithm)
        return path if path.is_file() else None

    def blob_stream(self, entity: str, digest: str, algorithm: str) -> Iterator[bytes] | None:
        """The bytes of a blob in an S3 store, streamed in chunks; None for other stores
        (their blobs are loose files, or small packed ones read whole).

        Raises: KeyError (not stored), botocore errors.
        """
        blobs = self.store_for(entity).blobs
        if not isinstance(blobs, S3Area):
            return None
        return blobs.iter_bytes(digest, algorithm)


@dataclasses.dataclass(frozen=True)
class Access:
    """The visitor of one request: ``principal`` is None for ``cairn ui`` (may do all)."""

    source: UiSource
    principal: Principal | None

    @property
    def store(self) -> Store:
        return self.source.store

    def require_read(self, entity: str, project: str | None = None) -> None:
        """Raises: NotFoundError when the visitor may not read it (or it does not exist)."""
        if self.principal is not None:
            authorize(self.store, self.principal, entity, READ, project)

    def can_read(self, entity: str, project: str | None = None) -> bool:
        try:
            self.require_read(entity, project)
        except CommError:
            return False
        return True

    def can_write(self, entity: str, project: str) -> bool:
        if self.principal is None:
            return True
        try:
            authorize(self.store, self.principal, entity, WRITE, project)
        except CommError:
            return False
        return True

    def require_write(self, entity: str, project: str) -> None:
        """Raises: NotFoundError (not readable), AuthorizationError (read-only role)."""
        if self.principal is not None:
            authorize(self.store, self.principal, entity, WRITE, project)

    def require_version(self, version_id: str) -> None:
        """Raises: NotFoundError when the visitor may not read the version."""
        if self.principal is not None:
            authorize_version(self.store, self.principal, version_id, READ)
