"""What one server process holds: its configuration, the database and the blob stores.

Blobs are deduplicated only within an entity (DESIGN §4): each entity has its own
content-addressed area of the blob store (``cairn.storage.blobstores``: a directory, or an S3
bucket for ``store_url="s3://bucket/prefix"``), so a caller can never obtain another
entity's bytes by naming their digest. Everything else lives in the database (with an
S3 store, also the record of the blobs stored there, ``cairn.service.blob_registry``),
so app processes hold no state of their own and can be run side by side.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from cairn.db.engine import Database, create_db_engine
from cairn.db.migrate import upgrade_to_head
from cairn.server.background_chunker import BackgroundChunker
from cairn.server.instrument import StoreObserver
from cairn.server.metrics import Metrics
from cairn.server.metrics_access import DEFAULT_METRICS_ALLOW, parse_allow
from cairn.service.blob_registry import BlobRegistry
from cairn.service.limits import DEFAULT_LIMITS, Limits
from cairn.service.rate_limit import limiter_for
from cairn.service.resources import Store
from cairn.service.ttl import SWEEP_INTERVAL_SECONDS
from cairn.service.webhook_targets import WebhookPolicy, check_allow
from cairn.storage.blobstores.directory import DirectoryServerStore
from cairn.storage.blobstores.s3 import S3ServerStore

if TYPE_CHECKING:
    from cairn.storage.blobstores.interface import ServerStore


@dataclasses.dataclass(frozen=True)
class ServerConfig:
    """``db_url``: SQLAlchemy URL; ``store_dir``: the directory blob store, unless
    ``store_url`` names an S3 bucket (``s3://bucket/prefix``, at ``s3_endpoint_url``);
    ``secret``: the key signing transfer URLs (shared by all app processes of one server).
    Blobs of ``multipart_threshold`` bytes or more go up in parts of ``part_size``.
    ``limits``: what a request and a version may cost (``cairn.service.limits``).
    ``ttl_sweep_interval_seconds``: how often the app deletes expired versions
    (``cairn.server.ttl_sweeper``); 0 never. ``metrics_allow``: the addresses, networks
    or host names served ``/metrics`` (``cairn.server.metrics_access``); ``log_format``:
    ``text`` (uvicorn's lines) or ``json`` (one object per request, ``cairn.server.logs``).
    ``webhook_*``: the hosts and networks automations' webhooks may reach beyond public
    https addresses, the timeout of one attempt, the first retry delay
    (``cairn.service.webhook_targets``)."""

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
    ttl_sweep_interval_seconds: float = SWEEP_INTERVAL_SECONDS
    metrics_allow: tuple[str, ...] = DEFAULT_METRICS_ALLOW
    log_format: str = "text"
    webhook_allow: tuple[str, ...] = ()
    webhook_timeout_seconds: float = 10.0
    webhook_backoff_seconds: float = 30.0


class ServerState:
    """The shared database and blob store of one app (thread-safe): ``store`` is what
    every service call gets; it reaches an entity's blob area only for a caller it has
    authorized for that entity. ``metrics`` are the app's, filled by its store's observer,
    its requests and its TTL sweeps."""

    def __init__(self, config: ServerConfig) -> None:
        """Open the database and apply migrations.

        Raises: sqlalchemy errors (database unusable); StoreError (store not writable or
        bucket unreachable); MissingExtraError (S3 without boto3); ValueError (bad URL,
        an unusable ``metrics_allow`` entry, or a log format other than text or json).
        """
        if config.log_format not in ("text", "json"):
            raise ValueError(f"Invalid log format {config.log_format!r}: expected text or json")
        self.config = config
        self.metrics_allow = parse_allow(config.metrics_allow)
        self.metrics = Metrics()
        self.chunker = BackgroundChunker()
        engine = create_db_engine(config.db_url)
        upgrade_to_head(engine)
        self.db = Database(engine)
        try:
            self.blob_store = _open_blob_store(config, BlobRegistry(self.db))
        except BaseException:
            self.db.dispose()
            raise
        self.store = Store(
            db=self.db,
            blobs=self.blob_store.area(config.organization),
            organization=config.organization,
            limits=config.limits,
            server_blobs=self.blob_store,
            rate_limiter=limiter_for(config.limits),
            observer=StoreObserver(self.metrics, self.chunker),
            webhooks=WebhookPolicy(
                allow=check_allow(config.webhook_allow),
                timeout_seconds=config.webhook_timeout_seconds,
                backoff_seconds=config.webhook_backoff_seconds,
            ),
        )

    def close(self) -> None:
        self.db.dispose()


def _open_blob_store(config: ServerConfig, record: BlobRegistry) -> ServerStore:
    """The directory store, or the S3 store recording its blobs in the database."""
    if config.store_url is None:
        return DirectoryServerStore(Path(config.store_dir))
    return S3ServerStore(config.store_url, config.s3_endpoint_url, config.s3_region, record)
