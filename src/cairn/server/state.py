"""What one server process holds: its configuration, the database and the blob stores.

Blobs are deduplicated only within an entity (DESIGN §4): each entity has its own
content-addressed area of the blob store (``cairn.storage.server_store``: a directory, or
an S3 bucket for ``store_url="s3://bucket/prefix"``), so a caller can never obtain another
entity's bytes by naming their digest. Everything else lives in the database (with an
S3 store, also the record of the blobs stored there, ``cairn.service.blob_registry``),
so app processes hold no state of their own and can be run side by side.
"""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

from cairn.db.engine import Database, create_db_engine
from cairn.db.migrate import upgrade_to_head
from cairn.service.blob_registry import BlobRegistry
from cairn.service.limits import DEFAULT_LIMITS, Limits
from cairn.service.store import Store
from cairn.storage.server_store import DirectoryServerStore, ServerStore


@dataclasses.dataclass(frozen=True)
class ServerConfig:
    """``db_url``: SQLAlchemy URL; ``store_dir``: the directory blob store, unless
    ``store_url`` names an S3 bucket (``s3://bucket/prefix``, at ``s3_endpoint_url``);
    ``secret``: the key signing transfer URLs (shared by all app processes of one server).
    Blobs of ``multipart_threshold`` bytes or more go up in parts of ``part_size``.
    ``limits``: what one request may cost (body size, GraphQL depth and cost, pages, rate
    per key), the only place the server takes such numbers from."""

    db_url: str
    store_dir: Path
    secret: bytes
    organization: str = "cairn"
    public_url: str | None = None  # base of signed URLs; default: the request's own base
    url_ttl_seconds: int = 900
    store_url: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    multipart_threshold: int = 2 * 1024**3
    part_size: int = 64 * 1024**2
    limits: Limits = DEFAULT_LIMITS

    @property
    def max_body_bytes(self) -> int:
        """``limits.max_body_bytes``: the largest JSON or batch request body (413 over it)."""
        return self.limits.max_body_bytes


class ServerState:
    """The shared database and the per-entity blob stores of one app (thread-safe)."""

    def __init__(self, config: ServerConfig) -> None:
        """Open the database and apply migrations.

        Raises: sqlalchemy errors (database unusable); StoreError (store not writable or
        bucket unreachable); MissingExtraError (S3 without boto3); ValueError (bad URL).
        """
        self.config = config
        engine = create_db_engine(config.db_url)
        upgrade_to_head(engine)
        self.db = Database(engine)
        try:
            self.blob_store = _open_blob_store(config, BlobRegistry(self.db))
        except BaseException:
            self.db.dispose()
            raise
        self._stores: dict[str, Store] = {}
        self._lock = threading.Lock()
        self.store = self.for_entity(config.organization)

    def for_entity(self, entity: str) -> Store:
        """The service ``Store`` whose blob area is ``entity``'s.

        Raises: CommError for a name that cannot be a directory (it cannot exist either).
        """
        blobs = self.blob_store.area(entity)
        with self._lock:
            store = self._stores.get(entity)
            if store is None:
                store = Store(db=self.db, blobs=blobs, organization=self.config.organization)
                self._stores[entity] = store
            return store

    def close(self) -> None:
        self.db.dispose()


def _open_blob_store(config: ServerConfig, record: BlobRegistry) -> ServerStore:
    """The directory store, or the S3 store recording its blobs in the database."""
    if config.store_url is None:
        return DirectoryServerStore(Path(config.store_dir))
    from cairn.storage.s3_server_store import S3ServerStore

    return S3ServerStore(config.store_url, config.s3_endpoint_url, config.s3_region, record)
