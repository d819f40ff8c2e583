"""``upsert_artifact`` and ``finish_artifact``: one version written by several runs.

Each run adds its files under a ``distributed_id`` (wandb's default: the run's group)
with ``upsert_artifact``; one of them commits the version with ``finish_artifact``. The
parts are gathered by the store (``Backend.log`` of a ``LogRequest`` with ``part``), so
runs on other machines may add them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from cairn.core.names import validate_aliases

if TYPE_CHECKING:
    import os
    from collections.abc import Iterable, Sequence

    from cairn.sdk.artifact import Artifact


class RunLike(Protocol):
    """What the methods use of a ``Run``."""

    group: str | None

    @property
    def entity(self) -> str: ...

    @property
    def project(self) -> str: ...

    @property
    def id(self) -> str: ...

    def _require_running(self, method: str) -> None: ...

    def _prepare_artifact(
        self,
        artifact_or_path: Artifact | str | os.PathLike[str],
        name: str | None,
        type_: str | None,
    ) -> Artifact: ...

    def _log_prepared(
        self,
        artifact: Artifact,
        aliases: Sequence[str],
        tags: Sequence[str] | None,
        distributed_id: str | None = None,
        finish: bool = True,
    ) -> Artifact: ...

    def _log_part(
        self,
        artifact_or_path: Artifact | str | os.PathLike[str],
        name: str | None,
        type_: str | None,
        aliases: str | Iterable[str] | None,
        distributed_id: str | None,
        finish: bool,
    ) -> Artifact: ...


class PartMethods:
    """The distributed-artifact methods, mixed into ``Run``."""

    def upsert_artifact(
        self: RunLike,
        artifact_or_path: Artifact | str | os.PathLike[str],
        name: str | None = None,
        type: str | None = None,
        aliases: str | Iterable[str] | None = None,
        distributed_id: str | None = None,
    ) -> Artifact:
        """Add an artifact's files to the version several runs write together under
        ``distributed_id`` (default: this run's group), as in wandb; nothing is committed
        until one of them calls ``finish_artifact`` with that id. The artifact stays
        unlogged and can no longer change.

        Raises: TypeError (no ``distributed_id`` and no group), and what ``log_artifact``
        raises.
        """
        return self._log_part(artifact_or_path, name, type, aliases, distributed_id, False)

    def finish_artifact(
        self: RunLike,
        artifact_or_path: Artifact | str | os.PathLike[str],
        name: str | None = None,
        type: str | None = None,
        aliases: str | Iterable[str] | None = None,
        distributed_id: str | None = None,
    ) -> Artifact:
        """Commit the version the runs of ``distributed_id`` (default: this run's group)
        wrote with ``upsert_artifact``, with this artifact's own files too, its name, type,
        description, metadata and ``aliases``, as one version.

        Raises: TypeError (no ``distributed_id`` and no group), ``cairn.errors.NotFoundError``
        (no part was added and the artifact is empty), and what ``log_artifact`` raises.
        """
        return self._log_part(artifact_or_path, name, type, aliases, distributed_id, True)

    def _log_part(
        self: RunLike,
        artifact_or_path: Artifact | str | os.PathLike[str],
        name: str | None,
        type_: str | None,
        aliases: str | Iterable[str] | None,
        distributed_id: str | None,
        finish: bool,
    ) -> Artifact:
        self._require_running("finish_artifact" if finish else "upsert_artifact")
        if distributed_id is None and not self.group:
            raise TypeError(
                "Cannot upsert artifact unless run is in a group or distributed_id is provided"
            )
        alias_list = validate_aliases(aliases)
        artifact = self._prepare_artifact(artifact_or_path, name, type_)
        return self._log_prepared(
            artifact, alias_list, None, distributed_id=distributed_id or self.group, finish=finish
        )
