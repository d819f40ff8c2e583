"""Registries as ``Api`` hands them out (``wandb.apis.public.Registry`` and ``Registries``).

A registry is the project ``wandb-registry-<name>`` of the organization's entity; its
collections are portfolios that versions are linked into (``Artifact.link``). ``Registry``
reads and edits its settings (``description``, ``visibility``, ``artifact_types`` — add-only
once saved —, ``allow_all_artifact_types``) and lists its collections and versions; every
call is one backend request, so it works embedded and against a server.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from cairn.sdk.collections import ArtifactCollection, _ListPaginator

if TYPE_CHECKING:
    from cairn.protocol import Backend, RegistryInfo
    from cairn.sdk.artifact import Artifact


def _matches(value: str, wanted: Any) -> bool:
    """A minimal form of W&B's filters: equality, or ``{"$regex": ...}`` / ``{"$in": [...]}``."""
    if isinstance(wanted, dict):
        if "$regex" in wanted:
            return re.search(str(wanted["$regex"]), value) is not None
        if "$in" in wanted:
            return value in wanted["$in"]
        raise ValueError(f"Unsupported filter {wanted!r}: use a value, $regex or $in")
    return bool(value == wanted)


class Registry:
    """One registry of the organization (see module doc)."""

    def __init__(self, backend: Backend, info: RegistryInfo) -> None:
        self._backend = backend
        self._info = info
        self.description: str | None = info.description
        self.visibility: str = info.visibility
        self.artifact_types: list[str] = list(info.artifact_types)
        self.allow_all_artifact_types: bool = info.allow_all_artifact_types

    @property
    def id(self) -> str:
        return self._info.id

    @property
    def name(self) -> str:
        """The name without the ``wandb-registry-`` prefix."""
        return self._info.name

    @property
    def full_name(self) -> str:
        """``wandb-registry-<name>``: the registry's project."""
        return self._info.full_name

    @property
    def organization(self) -> str:
        return self._info.organization

    @property
    def entity(self) -> str:
        """The organization's entity, which holds the registry's project."""
        return self._info.entity

    @property
    def created_at(self) -> str:
        return self._info.created_at

    @property
    def updated_at(self) -> str:
        return self._info.updated_at

    def collections(self, filter: dict[str, Any] | None = None) -> list[ArtifactCollection]:
        """The registry's collections (``filter`` on ``name`` / ``type``, W&B style)."""
        infos = self._backend.list_collections(self.entity, self.full_name, None)
        found = [
            ArtifactCollection(self._backend, self.entity, self.full_name, i.name, i.type, info=i)
            for i in infos
        ]
        for key, wanted in (filter or {}).items():
            found = [c for c in found if _matches(str(getattr(c, key, "")), wanted)]
        return found

    def versions(self, filter: dict[str, Any] | None = None) -> list[Artifact]:
        """Every linked version of every collection of the registry (``filter`` on
        ``name`` / ``type`` / ``version``)."""
        result: list[Artifact] = []
        for collection in self.collections():
            result.extend(collection.artifacts())
        for key, wanted in (filter or {}).items():
            result = [a for a in result if _matches(str(getattr(a, key, "")), wanted)]
        return result

    def save(self) -> None:
        """Save description, visibility and accepted types.

        Raises ``ValueError`` for a bad visibility or a saved type that was removed.
        """
        types = None if self.allow_all_artifact_types else self.artifact_types
        self._info = self._backend.edit_registry(
            self.organization, self.name, self.description, self.visibility, types
        )
        self.artifact_types = list(self._info.artifact_types)

    def delete(self) -> None:
        """Delete the registry and its links (the linked source versions stay)."""
        self._backend.delete_registry(self.organization, self.name)

    def __repr__(self) -> str:
        return f"<Registry {self.full_name}>"


class Registries(_ListPaginator[Registry]):
    """The registries of an organization, optionally filtered (``{"name": ...}``)."""

    def __init__(
        self, backend: Backend, organization: str | None, filter: dict[str, Any] | None = None
    ) -> None:
        def load() -> list[Registry]:
            found = [Registry(backend, info) for info in backend.list_registries(organization)]
            for key, wanted in (filter or {}).items():
                found = [r for r in found if _matches(str(getattr(r, key, "")), wanted)]
            return found

        super().__init__(load, 50)
        self._backend = backend

    def collections(self, filter: dict[str, Any] | None = None) -> list[ArtifactCollection]:
        """The collections of every listed registry."""
        return [c for registry in self for c in registry.collections(filter)]

    def versions(self, filter: dict[str, Any] | None = None) -> list[Artifact]:
        """The linked versions of every listed registry."""
        return [a for registry in self for a in registry.versions(filter)]
