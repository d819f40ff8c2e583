"""What the use cases report about their work to whoever runs them (metrics, logs).

The service must not depend on the server (DESIGN §2), yet the server counts commits,
refusals for rate and which key a request was made with. So a ``Store`` carries an
``Observer``: the use cases call it at the few points worth counting, the server fills it
with its metrics (``cairn.server.metrics``), and the embedded store keeps the one that
does nothing. An observer must be cheap and must not raise: it is called on the request
path, inside no transaction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Sequence


class Observer(Protocol):
    """The events the use cases report."""

    def authenticated(self, key_id: str) -> None:
        """A request was identified as made with the API key whose public id is ``key_id``."""

    def rate_limited(self) -> None:
        """A request was refused because its key sent more than its rate."""

    def committed(self, seconds: float, created: bool) -> None:
        """A version was committed in ``seconds`` (``created``: a new version, else the
        digest no-op that re-uses the latest one)."""

    def large_files(self, entity: str, files: Sequence[tuple[str, int]]) -> None:
        """A new version of ``entity`` names these ``(base64 MD5, size)`` files of at
        least the store's ``chunk_threshold`` bytes (a server cuts those stored whole into
        chunks in the background: ``cairn.service.server_chunking``)."""


class NoObserver:
    """The observer that ignores everything (the embedded store's)."""

    def authenticated(self, key_id: str) -> None:
        pass

    def rate_limited(self) -> None:
        pass

    def committed(self, seconds: float, created: bool) -> None:
        pass

    def large_files(self, entity: str, files: Sequence[tuple[str, int]]) -> None:
        pass


NO_OBSERVER: Observer = NoObserver()
