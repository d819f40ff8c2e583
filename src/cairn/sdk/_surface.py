"""The logged-artifact surface beyond reading: edits and ``save()``, TTL, links, deletion,
lineage (spec §4.8, §4.11–4.14).

``ArtifactSurface`` sits between ``ArtifactBase`` (state and read-only properties) and
``Artifact`` (drafts, adding, logging, downloading). Every operation is one backend call:
``save()`` on a logged artifact sends the diff of aliases and tags and the new
description, metadata and TTL (``edit_version``); ``link`` / ``unlink`` / ``delete`` map to
``link_version`` / ``unlink_version`` / ``delete_version``; ``logged_by`` / ``used_by`` read
``lineage``. ``save()`` on a draft logs it through the current run, or through a run of job
type ``auto`` opened and finished for the purpose, as W&B does.
"""

from __future__ import annotations

import enum
import warnings
from datetime import timedelta
from typing import TYPE_CHECKING, Self
from urllib.parse import quote, urljoin

from cairn.core.registry import REGISTRY_PREFIX
from cairn.core.ttl import TTL_DISABLED, TTL_INHERIT
from cairn.errors import ArtifactNotLoggedError
from cairn.protocol import Backend, VersionEdit, VersionInfo
from cairn.sdk._aliases import warn_ignored_aliases
from cairn.sdk._base import ArtifactBase
from cairn.sdk._guards import ensure_logged

if TYPE_CHECKING:
    from cairn.sdk.public_run import PublicRun
    from cairn.settings import Settings

MAX_LINKED = 500


class ArtifactTTL(enum.Enum):
    """``ArtifactTTL.INHERIT``: take the TTL from the project's or entity's default.

    The string ``"inherit"`` is accepted wherever ``ArtifactTTL.INHERIT`` is.
    """

    INHERIT = "inherit"


class ArtifactSurface(ArtifactBase):
    """Edits, TTL, links, deletion and lineage of ``cairn.sdk.artifact.Artifact``."""

    _ttl_changed: bool = False
    _linked_at: str | None = None

    def _hydrate(self, info: VersionInfo, backend: Backend) -> None:
        super()._hydrate(info, backend)
        self._ttl_changed = False
        self._linked_at = info.linked_at

    @property
    @ensure_logged
    def linked_at(self) -> str | None:
        """When the version was linked into the collection it was fetched through (ISO
        8601); None when that collection is its own sequence."""
        return self._linked_at

    # ------------------------------------------------------------ TTL

    @property
    def ttl(self) -> timedelta | None:
        """Time to live; ``None`` when the version never expires.

        Raises ``ArtifactNotLoggedError('Artifact.ttl')`` while the TTL is inherited and
        not known yet (a draft, or a change not saved).
        """
        if self._ttl_is_inherited and (self.is_draft() or self._ttl_changed):
            raise ArtifactNotLoggedError("Artifact.ttl", self)
        seconds = self._ttl_duration_seconds
        return timedelta(seconds=seconds) if seconds is not None and seconds > 0 else None

    @ttl.setter
    def ttl(self, ttl: timedelta | ArtifactTTL | str | None) -> None:
        """Set the TTL (saved by ``save()``, or sent when the draft is logged).

        Raises:
            ValueError: a non-positive duration, an unknown value, type ``wandb-history``,
                or a link artifact.
        """
        if self._type == "wandb-history":
            raise ValueError("Cannot set artifact TTL for type wandb-history")
        if self.is_link:
            raise ValueError(
                "Cannot set TTL for link artifact. Unlink the artifact first then set the TTL "
                "for the source artifact"
            )
        if ttl is None:
            self._ttl_duration_seconds, self._ttl_is_inherited = None, False
        elif ttl is ArtifactTTL.INHERIT or ttl == ArtifactTTL.INHERIT.value:
            self._ttl_duration_seconds, self._ttl_is_inherited = None, True
        elif isinstance(ttl, timedelta):
            seconds = int(ttl.total_seconds())
            if seconds <= 0:
                raise ValueError(f"Artifact TTL Duration has to be positive. ttl: {seconds}")
            self._ttl_duration_seconds, self._ttl_is_inherited = seconds, False
        else:
            raise ValueError(
                f"Invalid TTL {ttl!r}: expected a timedelta, None or ArtifactTTL.INHERIT"
            )
        self._ttl_changed = True

    def _ttl_wire(self) -> int | None:
        """The TTL to send: None when unchanged, -1 inherit, -2 disabled, else seconds."""
        if not self._ttl_changed:
            return None
        if self._ttl_is_inherited:
            return TTL_INHERIT
        return self._ttl_duration_seconds or TTL_DISABLED

    # ------------------------------------------------------------ saving

    def save(self, project: str | None = None, settings: Settings | None = None) -> None:
        """Persist the artifact: log a draft, or save the edits of a logged artifact.

        A draft is logged by the current run, else by a run of job type ``auto`` in
        ``project`` (default: the artifact's or the settings' project), finished at once.
        On a logged artifact the description, metadata, aliases (in the collection it was
        fetched through), tags and TTL are saved in one call and ``updated_at`` moves.

        Raises:
            ValueError, TypeError: invalid values (nothing is changed).
            CommError: the version no longer exists.
        """
        if self.is_draft():
            self._log_outside(project, settings)
            return
        backend = self._logged_backend()
        collection = self.name.split(":")[0]
        current = backend.resolve_version(self.entity, self.project, collection, self.version)
        wanted_aliases = list(dict.fromkeys(self._aliases))
        wanted_tags = list(dict.fromkeys(self._tags))
        edit = VersionEdit(
            entity=self.entity,
            project=self.project,
            collection=collection,
            description=self._description,
            metadata=self._metadata,
            aliases_to_add=[a for a in wanted_aliases if a not in current.aliases],
            aliases_to_remove=[a for a in current.aliases if a not in wanted_aliases],
            tags_to_add=[t for t in wanted_tags if t not in current.tags],
            tags_to_remove=[t for t in current.tags if t not in wanted_tags],
            ttl_duration_seconds=self._ttl_wire(),
        )
        saved = backend.edit_version(self.id or "", edit)
        warn_ignored_aliases(edit.aliases_to_add, saved.aliases)
        self._hydrate(saved, backend)

    def _log_outside(self, project: str | None, settings: Settings | None) -> None:
        from cairn.sdk.run import current_run, init

        run = current_run()
        if run is not None:
            run.log_artifact(self)  # type: ignore[arg-type]
            return
        with init(
            job_type="auto",
            entity=self._entity,
            project=project or self._project,
            settings=settings,
        ) as auto_run:
            auto_run.log_artifact(self)  # type: ignore[arg-type]

    def wait(self, timeout: int | None = None) -> Self:
        """Return once the version is committed (logging is synchronous in Cairn).

        Raises ``ArtifactNotLoggedError('Artifact.wait')`` on a draft never logged.
        """
        del timeout
        if self.is_draft():
            raise ArtifactNotLoggedError("Artifact.wait", self)
        return self

    # ------------------------------------------------------------ links

    @property
    @ensure_logged
    def linked_artifacts(self) -> list[Self]:
        """The version as seen through each collection it is linked into (at most 500);
        empty for a link artifact."""
        if self.is_link:
            return []
        backend = self._logged_backend()
        return [self._twin(info) for info in backend.list_links(self.id or "", MAX_LINKED)]

    @property
    @ensure_logged
    def source_artifact(self) -> Self:
        """The version seen through the collection it was born in (itself if not a link).

        Raises ``ValueError`` when the source cannot be fetched.
        """
        if not self.is_link:
            return self
        from cairn.errors import CommError

        try:
            return self._twin(self._logged_backend().get_version(self.id or ""))
        except CommError:
            raise ValueError(
                f"Unable to fetch source artifact for linked artifact {self.name}"
            ) from None

    def _twin(self, info: VersionInfo) -> Self:
        twin = type(self).__new__(type(self))
        twin._init_state(info.collection, info.type, info.digest_algorithm)
        twin._hydrate(info, self._logged_backend())
        return twin

    def link(self, target_path: str, aliases: list[str] | None = None) -> Self:
        """Link this version into ``target_path`` (``[prefix/][project/]collection``); a
        registry path is ``wandb-registry-<name>/<collection>`` (prefix: organization).

        A draft is saved first; linking a link links its source. Returns the link.

        Raises:
            ValueError: invalid path or aliases, a collection that is not a portfolio, a
                type the registry does not accept.
            CommError: the registry or the version does not exist.
        """
        if self.is_draft():
            self.save()
        if self.is_link:
            warnings.warn(
                f"Artifact {self.name} is a link; linking its source artifact instead.",
                UserWarning,
                stacklevel=2,
            )
            return self.source_artifact.link(target_path, aliases)
        backend = self._logged_backend()
        parts = target_path.split("/")
        if not target_path or len(parts) > 3 or not all(parts):
            raise ValueError(
                f"Invalid target path {target_path!r}: expected [prefix/][project/]collection"
            )
        collection, _, alias = parts[-1].partition(":")
        extra = [alias] if alias else []
        project = parts[-2] if len(parts) >= 2 else backend.settings.project
        if project.startswith(REGISTRY_PREFIX):
            entity = parts[0] if len(parts) == 3 else backend.settings.organization
        else:
            entity = parts[0] if len(parts) == 3 else self.source_entity
        info = backend.link_version(
            self.id or "", entity, project, collection, [*(aliases or []), *extra]
        )
        return self._twin(info)

    @ensure_logged
    def unlink(self) -> None:
        """Remove this link (only the link; the source version stays).

        Raises:
            ValueError: the artifact is not a link.
            CommError: the link no longer exists.
        """
        if not self.is_link:
            raise ValueError(
                f"Artifact {self.qualified_name!r} is not a linked artifact and cannot be "
                "unlinked.  To delete it, use 'Artifact.delete' instead."
            )
        self._logged_backend().unlink_version(
            self.id or "", self.entity, self.project, self.name.split(":")[0]
        )
        self._state = "DELETED"

    @ensure_logged
    def delete(self, delete_aliases: bool = False) -> None:
        """Delete this version (soft: ``cairn gc`` frees its bytes); on a link, unlink only.

        Raises:
            CommError: the version has aliases and ``delete_aliases`` is False (nothing is
                changed), or it no longer exists.
        """
        if self.is_link:
            warnings.warn(
                "Deleting a link artifact only unlinks it; the source artifact is kept.",
                UserWarning,
                stacklevel=2,
            )
            self.unlink()
            return
        self._logged_backend().delete_version(self.id or "", delete_aliases)
        self._state = "DELETED"
        self._aliases = []

    # ------------------------------------------------------------ lineage

    @ensure_logged
    def logged_by(self) -> PublicRun | None:
        """The run that logged this version, or None."""
        from cairn.sdk.public_run import PublicRun

        backend = self._logged_backend()
        run = backend.lineage(self.id or "").logged_by
        return None if run is None else PublicRun(backend, run)

    @ensure_logged
    def used_by(self) -> list[PublicRun]:
        """The runs that used this version (directly or through its links)."""
        from cairn.sdk.public_run import PublicRun

        backend = self._logged_backend()
        return [PublicRun(backend, run) for run in backend.lineage(self.id or "").used_by]

    # ------------------------------------------------------------ url

    @property
    @ensure_logged
    def url(self) -> str:
        """The version's page: ``{ui}/{entity}/{project}/artifacts/{type}/{name}/{version}``,
        or the registry page of a registry link (spec §4.11)."""
        base = self._logged_backend().settings.ui_url.rstrip("/") + "/"
        collection = self.name.split(":")[0]
        if self.project.startswith(REGISTRY_PREFIX):
            selection = quote(f"{self.entity}/{self.project}/{collection}", safe="")
            registry = self.project[len(REGISTRY_PREFIX) :]
            organization = self._logged_backend().settings.organization
            return urljoin(
                base,
                f"orgs/{organization}/registry/{registry}?selectionPath={selection}"
                f"&view=membership&version={self.version}",
            )
        path = f"{self.entity}/{self.project}/artifacts/{quote(self.type)}/{quote(collection)}"
        return urljoin(base, f"{path}/{self.version}")
