"""``Api``: read what the store holds without a run (``wandb.Api`` for artifacts).

Names are resolved against the Api's default entity and project (from ``overrides``, else
the settings: ``CAIRN_ENTITY``/``WANDB_ENTITY`` or the OS user, ``CAIRN_PROJECT``/
``WANDB_PROJECT`` or ``uncategorized``), read when the ``Api`` is created. Every call is one
backend request (or one per page), so the same code works embedded and against a server.
"""

from __future__ import annotations

import dataclasses
import warnings
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from cairn.core.names import parse_artifact_path, validate_entity_name, validate_project_name
from cairn.core.ttl import checked_ttl
from cairn.errors import ArtifactTypeError, CommError
from cairn.sdk.api_automations import AutomationsApi
from cairn.sdk.artifact import Artifact
from cairn.sdk.backend_cache import backend_for
from cairn.sdk.collections import (
    ArtifactCollection,
    ArtifactCollections,
    Artifacts,
    ArtifactType,
    ArtifactTypes,
)
from cairn.sdk.public_run import PublicRun, Runs
from cairn.sdk.registries import Registries, Registry
from cairn.settings import Settings

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

_SETTINGS_FIELDS = frozenset(f.name for f in dataclasses.fields(Settings))
# ``wandb.Api`` overrides with no meaning for Cairn; accepted so W&B code runs unchanged.
_IGNORED_OVERRIDES = frozenset({"run", "username", "anonymous"})


class Api(AutomationsApi):
    """Query artifacts, collections, types and runs.

    ``overrides`` takes ``entity`` and ``project`` (the defaults for short names) and any
    ``cairn.settings.Settings`` field (``base_url``, ``cairn_dir``, ...); ``api_key`` sets the
    server key. ``timeout`` is accepted for W&B compatibility; the embedded store has none.

    Raises ``ValueError`` for an unknown override or invalid default entity/project, and
    ``cairn.errors.StoreError`` when the store directory is unusable (the message names it).
    """

    def __init__(
        self,
        overrides: Mapping[str, Any] | None = None,
        timeout: int | None = None,
        api_key: str | None = None,
    ) -> None:
        given = {k: v for k, v in (overrides or {}).items() if v is not None}
        unknown = set(given) - _SETTINGS_FIELDS - _IGNORED_OVERRIDES
        if unknown:
            raise ValueError(f"Unknown Api overrides: {', '.join(sorted(unknown))}")
        store_overrides = {
            k: v
            for k, v in given.items()
            if k in _SETTINGS_FIELDS and k not in ("entity", "project")
        }
        if api_key is not None:
            store_overrides["api_key"] = api_key
        self._settings = Settings.load(store_overrides)
        self._entity = validate_entity_name(given.get("entity") or self._settings.entity)
        self._project = validate_project_name(given.get("project") or self._settings.project)
        self._timeout = timeout
        self._backend = backend_for(self._settings)

    @property
    def default_entity(self) -> str:
        """The entity short names resolve in."""
        return self._entity

    @property
    def settings(self) -> dict[str, Any]:
        """The Api's defaults as W&B shows them: entity, project, base_url, organization."""
        return {
            "entity": self._entity,
            "project": self._project,
            "base_url": self._settings.base_url,
            "organization": self._settings.organization,
        }

    @property
    def timeout(self) -> int | None:
        return self._timeout

    # ------------------------------------------------------------------ paths

    def _collection_path(self, name: str) -> tuple[str, str, str, str]:
        path = parse_artifact_path(name)
        return (
            path.entity or self._entity,
            path.project or self._project,
            path.collection,
            path.selector,
        )

    def _project_path(self, path: str | None) -> tuple[str, str]:
        if not path:
            return self._entity, self._project
        parts = path.split("/")
        if len(parts) == 1:
            return self._entity, validate_project_name(parts[0])
        if len(parts) == 2:
            return validate_entity_name(parts[0]), validate_project_name(parts[1])
        raise ValueError(f"Invalid project path {path!r}: expected 'project' or 'entity/project'")

    # ------------------------------------------------------------------ artifacts

    def artifact(self, name: str, type: str | None = None) -> Artifact:
        """The version ``name`` names: ``[[entity/]project/]collection[:alias|vN]``.

        The alias defaults to ``latest``. Raises ``cairn.errors.CommError`` when nothing has
        that name (the message names it); ``ValueError`` when the name is malformed;
        ``cairn.errors.ArtifactTypeError`` (a ``CommError`` and a ``ValueError``, as wandb
        0.31 raises) when ``type`` is given and differs from the version's type.
        """
        if not name:
            raise ValueError("You must specify name= to fetch an artifact.")
        entity, project, collection, selector = self._collection_path(name)
        info = self._backend.resolve_version(entity, project, collection, selector)
        if type is not None and info.type != type:
            raise ArtifactTypeError(
                f"type {type!r} specified but this artifact is of type {info.type!r}"
            )
        return Artifact._from_version(info, self._backend)

    def artifacts(
        self,
        type_name: str,
        name: str,
        per_page: int = 50,
        tags: str | Sequence[str] | None = None,
    ) -> Artifacts:
        """The versions of collection ``name`` (``[[entity/]project/]collection``).

        ``tags`` keeps the versions carrying all of them. Raises ``cairn.errors.CommError``
        when there is no such collection of type ``type_name``.
        """
        return self.artifact_collection(type_name, name).artifacts(per_page=per_page, tags=tags)

    def artifact_versions(self, type_name: str, name: str, per_page: int = 50) -> Artifacts:
        """Deprecated twin of ``artifacts``."""
        warnings.warn(
            "Api.artifact_versions(type_name, name) is deprecated, "
            "use Api.artifacts(type_name, name) instead.",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.artifacts(type_name, name, per_page=per_page)

    def artifact_exists(self, name: str, type: str | None = None) -> bool:
        """Whether ``artifact(name, type)`` would return a version."""
        try:
            self.artifact(name, type)
        except (CommError, ValueError):
            return False
        return True

    # ------------------------------------------------------------------ collections and types

    def artifact_collection(self, type_name: str, name: str) -> ArtifactCollection:
        """The collection ``name`` (``[[entity/]project/]collection``) of type ``type_name``.

        Raises ``cairn.errors.CommError`` when there is no such collection of that type.
        """
        entity, project, collection, _ = self._collection_path(name)
        return ArtifactCollection(self._backend, entity, project, collection, type_name)

    def artifact_collection_exists(self, name: str, type: str) -> bool:
        """Whether ``artifact_collection(type, name)`` would find a collection."""
        try:
            self.artifact_collection(type, name)
        except (CommError, ValueError):
            return False
        return True

    def artifact_collections(
        self, project_name: str, type_name: str, per_page: int = 50
    ) -> ArtifactCollections:
        """The collections of type ``type_name`` in ``project_name`` (``[entity/]project``)."""
        entity, project = self._project_path(project_name)
        return ArtifactCollections(self._backend, entity, project, type_name, per_page)

    def artifact_type(self, type_name: str, project: str | None = None) -> ArtifactType:
        """The type ``type_name`` in ``project`` (``[entity/]project``, default the Api's).

        Raises ``cairn.errors.CommError`` when the project has no artifact of that type.
        """
        entity, project_name = self._project_path(project)
        return ArtifactType(self._backend, entity, project_name, type_name)

    def artifact_types(self, project: str | None = None) -> ArtifactTypes:
        """The artifact types used in ``project`` (``[entity/]project``, default the Api's)."""
        entity, project_name = self._project_path(project)
        return ArtifactTypes(self._backend, entity, project_name)

    # ------------------------------------------------------------------ registries

    def registries(
        self, organization: str | None = None, filter: dict[str, Any] | None = None
    ) -> Registries:
        """The registries of the organization (``filter``: ``{"name": ...}``, ``$regex``,
        ``$in``). Raises ``cairn.errors.CommError`` for an unknown organization."""
        return Registries(self._backend, organization, filter)

    def registry(self, name: str, organization: str | None = None) -> Registry:
        """The registry ``name`` (with or without the ``wandb-registry-`` prefix).

        Raises ``cairn.errors.CommError`` when it does not exist.
        """
        return Registry(self._backend, self._backend.get_registry(organization, name))

    def create_registry(
        self,
        name: str,
        visibility: str,
        organization: str | None = None,
        description: str | None = None,
        artifact_types: list[str] | None = None,
    ) -> Registry:
        """Create registry ``name``; ``visibility`` is ``"organization"`` or ``"restricted"``;
        ``artifact_types`` None accepts every type.

        Raises ``ValueError`` for an invalid name, visibility or type, or an existing
        registry; ``cairn.errors.CommError`` for an unknown organization.
        """
        info = self._backend.create_registry(
            organization, name, visibility, description, artifact_types
        )
        return Registry(self._backend, info)

    # ------------------------------------------------------------------ TTL defaults

    def set_default_artifact_ttl(self, ttl: timedelta | None, path: str | None = None) -> None:
        """Set the TTL inherited by versions logged in ``path`` (``"entity"`` or
        ``"entity/project"``; default: the Api's entity). ``None`` clears it (a project
        then inherits its entity's). Versions whose TTL is ``inherit`` (the default) expire
        ``ttl`` after their creation; versions linked into a registry never expire.

        Raises ``ValueError`` for a non-positive ``ttl``, one over 100 years
        (``cairn.core.ttl.checked_ttl``, the store's rule) or a malformed path.
        """
        entity, project = self._ttl_path(path)
        seconds = None if ttl is None else checked_ttl(int(ttl.total_seconds()))
        self._backend.set_default_ttl(entity, project, seconds)

    def default_artifact_ttl(self, path: str | None = None) -> timedelta | None:
        """The default TTL set on ``path`` (``"entity"`` or ``"entity/project"``), if any.

        Raises ``cairn.errors.CommError`` when the entity or project does not exist.
        """
        entity, project = self._ttl_path(path)
        seconds = self._backend.get_default_ttl(entity, project)
        return None if seconds is None else timedelta(seconds=seconds)

    def _ttl_path(self, path: str | None) -> tuple[str, str | None]:
        if not path:
            return self._entity, None
        parts = path.split("/")
        if len(parts) == 1:
            return validate_entity_name(parts[0]), None
        if len(parts) == 2:
            return validate_entity_name(parts[0]), validate_project_name(parts[1])
        raise ValueError(f"Invalid path {path!r}: expected 'entity' or 'entity/project'")

    # ------------------------------------------------------------------ runs

    def runs(
        self,
        path: str | None = None,
        filters: Mapping[str, Any] | None = None,
        order: str = "+created_at",
        per_page: int = 50,
        include_sweeps: bool = False,
        lazy: bool = True,
    ) -> Runs:
        """The runs of ``path`` (``[entity/]project``, default the Api's), oldest first or
        in ``order`` (``[+|-]created_at``, ``name``, ``display_name``, ``state``,
        ``job_type``, ``config.<key>``, ``summary_metrics.<key>``), those meeting
        ``filters`` (W&B's MongoDB-style queries: ``{"config.lr": 0.1}``,
        ``{"summary_metrics.acc": {"$gt": 0.9}}``, ``{"$or": [...]}``, ...; see
        ``cairn.core.run_filters``), which the store applies (``len()`` is one call).
        ``include_sweeps`` and ``lazy`` are accepted for W&B compatibility (Cairn has no
        sweeps; runs are fetched with their config and summary).

        Raises ``ValueError`` for a malformed path; while reading, ``cairn.errors.CommError``
        for a project that does not exist and ``ValueError`` for an unknown order or a
        filter the store refuses (an unknown operator, a malformed one, over its limits).
        """
        del include_sweeps, lazy
        entity, project = self._project_path(path)
        return Runs(self._backend, entity, project, filters, order, per_page)

    def run(self, path: str = "") -> PublicRun:
        """The run at ``[[entity/]project/]run_id`` (``entity/project/runs/run_id`` too).

        Raises ``ValueError`` for an empty or malformed path and ``cairn.errors.CommError``
        when there is no such run.
        """
        parts = [p for p in path.strip("/").split("/") if p]
        if len(parts) == 4 and parts[2] == "runs":
            parts = [parts[0], parts[1], parts[3]]
        if not parts or len(parts) > 3:
            raise ValueError(
                f"Invalid run path {path!r}: expected 'entity/project/run_id', "
                "'project/run_id' or 'run_id'"
            )
        run_id = parts[-1]
        entity, project = self._project_path("/".join(parts[:-1]) or None)
        return PublicRun(self._backend, self._backend.get_run(entity, project, run_id))

    def __repr__(self) -> str:
        return f"<Api {self._entity}/{self._project} ({self._settings.mode})>"
