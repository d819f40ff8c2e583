"""The state a service call works on: a database, a blob store and the organization name.

``open_store`` opens the embedded store of a ``Settings`` (``$CAIRN_DIR/cairn.db`` and
``$CAIRN_DIR/blobs``), creating and migrating it on first use. It refuses a directory it
cannot use with a ``StoreError`` naming it, and never falls back to another place.
"""

from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING

from sqlalchemy.exc import SQLAlchemyError

from cairn.db.engine import Database, create_db_engine, sqlite_url
from cairn.db.migrate import upgrade_to_head
from cairn.errors import StoreError
from cairn.service.limits import DEFAULT_LIMITS, Limits
from cairn.service.observer import NO_OBSERVER, Observer
from cairn.service.webhook_targets import DEFAULT_POLICY, WebhookPolicy, check_allow
from cairn.settings import DEFAULT_CHUNK_THRESHOLD
from cairn.storage.local.blobs import LocalBlobStore

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from cairn.service.rate_limit import RateLimiter
    from cairn.settings import Settings
    from cairn.storage.blobstores.interface import BlobArea, ServerStore

DB_FILE = "cairn.db"
BLOBS_DIR = "blobs"
# Manifests are stored as blobs addressed by the MD5 of their bytes.
MANIFEST_ALGORITHM = "md5"


@dataclasses.dataclass(frozen=True)
class Store:
    """Everything a use case needs; shared by all calls of one backend.

    ``blobs`` is the embedded store's one blob store, or on a server the organization's
    area; the embedded store also passes it as ``local``, the ``LocalBlobStore`` that the
    use cases working on its files (ingest, fsck, gc) get from ``local_blobs()``. A server
    also has ``server_blobs``, whose per-entity areas (``blobs_of``) the use cases reach
    only after authorizing the caller for that entity, so no request makes lasting state
    for an entity it may not use.
    ``limits`` are what a request and a version may cost (``cairn.service.limits``);
    ``rate_limiter`` counts each API key's requests when the server limits their rate;
    ``observer`` hears of commits, refusals for rate and authenticated keys (a server's
    metrics; nothing in the embedded store); ``webhooks`` is how automations send
    their webhooks (``cairn.service.webhook_targets``); ``notify`` is called after a
    transaction recorded webhook deliveries (``cairn.service.outbox``);
    ``chunk_threshold``: files from this size are worth storing as chunks (a server cuts
    those uploaded whole in the background, ``server_chunking``; 0: never).
    """

    db: Database
    blobs: BlobArea
    organization: str
    limits: Limits = DEFAULT_LIMITS
    server_blobs: ServerStore | None = None
    local: LocalBlobStore | None = None
    rate_limiter: RateLimiter | None = None
    observer: Observer = NO_OBSERVER
    webhooks: WebhookPolicy = DEFAULT_POLICY
    notify: Callable[[], None] | None = None
    chunk_threshold: int = DEFAULT_CHUNK_THRESHOLD

    def blobs_of(self, entity: str) -> BlobArea:
        """The blob area of ``entity``: on a server its own, else the one store.

        Raises: CommError (on a server, a name that cannot be an entity's).
        """
        if self.server_blobs is None:
            return self.blobs
        return self.server_blobs.area(entity)

    def local_blobs(self) -> LocalBlobStore:
        """The embedded store's blobs. Raises: StoreError (a server's store: not local)."""
        if self.local is None:
            raise StoreError("this operation needs a directory blob store")
        return self.local

    def close(self) -> None:
        """Release the database connections."""
        self.db.dispose()


def _prepare_dir(cairn_dir: Path) -> None:
    """Create ``cairn_dir`` if needed and check it is a writable directory."""
    try:
        cairn_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(
            f"Cannot use Cairn directory '{cairn_dir}': {exc.strerror or exc}",
            context={"cairn_dir": str(cairn_dir)},
        ) from exc
    if not cairn_dir.is_dir():
        raise StoreError(
            f"Cannot use Cairn directory '{cairn_dir}': it is not a directory",
            context={"cairn_dir": str(cairn_dir)},
        )
    if not os.access(cairn_dir, os.W_OK | os.X_OK):
        raise StoreError(
            f"Cannot use Cairn directory '{cairn_dir}': it is not writable",
            context={"cairn_dir": str(cairn_dir)},
        )


def open_store(settings: Settings) -> Store:
    """Open (creating and migrating if needed) the embedded store under ``settings.cairn_dir``.

    Raises:
        StoreError: the directory, its database or its blob area cannot be used; the
            message names the path.
    """
    cairn_dir = settings.cairn_dir
    _prepare_dir(cairn_dir)
    blobs = LocalBlobStore(cairn_dir / BLOBS_DIR, chunk_threshold=settings.chunk_threshold)
    db_path = cairn_dir / DB_FILE
    engine = create_db_engine(sqlite_url(db_path))
    try:
        upgrade_to_head(engine)
    except SQLAlchemyError as exc:
        engine.dispose()
        raise StoreError(
            f"Cannot open the Cairn database '{db_path}': {exc.__cause__ or exc}",
            context={"cairn_dir": str(cairn_dir)},
        ) from exc
    policy = WebhookPolicy(
        allow=check_allow(settings.webhook_allow),
        timeout_seconds=settings.webhook_timeout_seconds,
        backoff_seconds=settings.webhook_backoff_seconds,
    )
    return Store(
        db=Database(engine),
        blobs=blobs,
        organization=settings.organization,
        local=blobs,
        webhooks=policy,
    )
