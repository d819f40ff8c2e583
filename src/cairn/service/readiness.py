"""Whether a server can serve now: its database and its blob store answer (``/ready``).

A load balancer or an orchestrator asks this of every app process and sends it requests
only while both answer. The reasons a part is down (connection errors, which may name
hosts and ports) are logged here and never returned, since anyone may ask.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING

from sqlalchemy import text

if TYPE_CHECKING:
    from cairn.service.resources import Store

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Readiness:
    """Whether the database and the blob store answered."""

    database: bool
    store: bool

    @property
    def ready(self) -> bool:
        return self.database and self.store


def readiness(store: Store) -> Readiness:
    """Ask the database (``SELECT 1``) and the blob store (``ServerStore.ping``; the
    embedded store has no separate one) whether they answer. Raises: nothing."""
    try:
        with store.db.read() as session:
            session.execute(text("SELECT 1"))
        database = True
    except Exception as exc:
        log.warning("not ready: the database does not answer: %s", exc)
        database = False
    try:
        if store.server_blobs is not None:
            store.server_blobs.ping()
        blobs = True
    except Exception as exc:
        log.warning("not ready: the blob store does not answer: %s", exc)
        blobs = False
    return Readiness(database=database, store=blobs)
