"""What one server process holds: its configuration, the database and the blob stores.

Blobs are deduplicated only within an entity (DESIGN §4): each entity has its own
content-addressed directory ``<store>/entities/<entity>``, so a caller can never obtain
another entity's bytes by naming their digest. Everything else lives in the database,
so app processes hold no state of their own and can be run side by side.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from pathlib import Path

from cairn.db.engine import Database, create_db_engine
from cairn.db.migrate import upgrade_to_head
from cairn.errors import CommError
from cairn.service.store import Store
from cairn.storage.blobstore import LocalBlobStore

_SAFE_DIR = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


@dataclasses.dataclass(frozen=True)
class ServerConfig:
    """``db_url``: SQLAlchemy URL; ``store_dir``: the directory blob store; ``secret``:
    the key signing transfer URLs (shared by all app processes of one server)."""

    db_url: str
    store_dir: Path
    secret: bytes
    organization: str = "cairn"
    public_url: str | None = None  # base of signed URLs; default: the request's own base
    url_ttl_seconds: int = 900
    max_body_bytes: int = 64 * 1024 * 1024


class ServerState:
    """The shared database and the per-entity blob stores of one app (thread-safe)."""

    def __init__(self, config: ServerConfig) -> None:
        """Open the database and apply migrations.

        Raises: sqlalchemy errors (database unusable); StoreError (store not writable).
        """
        self.config = config
        engine = create_db_engine(config.db_url)
        upgrade_to_head(engine)
        self.db = Database(engine)
        self._root = Path(config.store_dir).absolute()
        self._root.mkdir(parents=True, exist_ok=True)
        self._stores: dict[str, Store] = {}
        self._lock = threading.Lock()
        self.store = self.for_entity(config.organization)

    def for_entity(self, entity: str) -> Store:
        """The service ``Store`` whose blob area is ``entity``'s.

        Raises: CommError for a name that cannot be a directory (it cannot exist either).
        """
        if not _SAFE_DIR.fullmatch(entity):
            raise CommError(f"'{entity}' not found")
        with self._lock:
            store = self._stores.get(entity)
            if store is None:
                blobs = LocalBlobStore(self._root / "entities" / entity)
                store = Store(db=self.db, blobs=blobs, organization=self.config.organization)
                self._stores[entity] = store
            return store

    def close(self) -> None:
        self.db.dispose()
