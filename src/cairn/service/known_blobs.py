"""Which blobs are known to be stored, without looking again: the store's generation.

Checking that 20,000 blobs are stored costs more than re-versioning an unchanged folder
should. The garbage collector is the only code that deletes blobs, and it bumps the
store's GC epoch before it does (``gc``); the blob directory's inode changes if the
directory itself is replaced. So blobs seen stored are still stored while this
*generation* is unchanged: the stat cache's folder snapshots record it, and an
``EmbeddedBackend`` remembers what it ingested under it (``KnownBlobs``). A collection in
progress meanwhile is caught by the commit, which checks again under its lock when the
epoch moved.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

from cairn.service import facts

if TYPE_CHECKING:
    from cairn.service.resources import Store


def generation(store: Store, epoch: int | None = None) -> str:
    """A token that changes whenever a blob of ``store`` may have been deleted since
    (``epoch``: the GC epoch the caller already read, else it is read here).

    Raises:
        OSError: the blob directory cannot be stat'ed.
    """
    if epoch is None:
        with store.db.read() as session:
            epoch = facts.gc_epoch(session)
    return f"{os.stat(store.local_blobs().root).st_ino}:{epoch}"


class KnownBlobs:
    """Blobs seen stored in one generation; noting blobs of a newer one forgets the rest.
    Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._generation = ""
        # Digest lists are indexed into sets on first use: noting a folder stays cheap.
        self._pending: list[tuple[str, list[str]]] = []
        self._digests: dict[str, set[str]] = {}

    def note(self, current: str, algorithm: str, digests: list[str]) -> None:
        """Remember the blobs ``digests`` of ``algorithm`` as stored in generation
        ``current``."""
        with self._lock:
            if self._generation != current:
                self._generation, self._pending, self._digests = current, [], {}
            self._pending.append((algorithm, digests))

    def known(self, current: str) -> dict[str, set[str]]:
        """The digests, by algorithm, known stored if ``current`` is still their generation
        (else none). The caller must not change the result."""
        with self._lock:
            if self._generation != current:
                return {}
            while self._pending:
                algorithm, digests = self._pending.pop()
                self._digests.setdefault(algorithm, set()).update(digests)
            return self._digests
