"""Registries: projects ``wandb-registry-<name>`` of the organization's entity (DESIGN §3).

As in W&B, a registry is a project of the organization's own entity (the embedded store's
organization is ``settings.organization``; its entity has the same name). Any path whose
project is a registry project is scoped to that entity whatever entity the caller named
(``scope``), so ``Api().artifact("wandb-registry-model/coll:v0")`` finds the link. The core
registries ``model`` and ``dataset`` exist in every organization (created on first use);
others are created with ``create_registry``. Collections in a registry are portfolios.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from cairn.core.digest import b64
from cairn.core.names import validate_artifact_type
from cairn.core.registry import REGISTRY_PREFIX, is_registry_project, validate_registry_name
from cairn.db import repositories as repo
from cairn.db.models import Alias, Collection, Membership, Project, Registry, utcnow
from cairn.errors import AuthorizationError, NotFoundError
from cairn.protocol import RegistryInfo
from cairn.service.authz import MANAGE, READ, Gate
from cairn.service.wire_models import iso

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.orm import Session

    from cairn.service.caller import Caller
    from cairn.service.resources import Store

CORE_REGISTRIES = ("model", "dataset")
VISIBILITIES = ("organization", "restricted")


def scope(store: Store, entity: str, project: str) -> str:
    """The entity a path really lives in: the organization's for a registry project."""
    return store.organization if is_registry_project(project) else entity


def refuse_direct_log(gate: Gate, entity: str, project: str) -> None:
    """Versions and runs enter a registry only by linking: refuse to log or run into
    ``project`` when it is a registry project (of the organization or, by its name, of any
    other entity, where it could pass for one).

    Raises: NotFoundError (the caller cannot read it), AuthorizationError (it can).
    """
    if not is_registry_project(project):
        return
    owner = scope(gate.store, entity, project)
    gate.require(READ, owner, project)
    raise AuthorizationError(
        f"Cannot log into '{project}': versions enter a registry only by linking "
        "(log them to a team or user project, then link them)"
    )


def _check_organization(store: Store, organization: str | None) -> None:
    if organization not in (None, "", store.organization):
        raise NotFoundError(f"organization '{organization}' not found")


def _check_visibility(visibility: str) -> str:
    if visibility not in VISIBILITIES:
        raise ValueError(
            f"Invalid registry visibility {visibility!r}: expected one of {', '.join(VISIBILITIES)}"
        )
    return visibility


def _info(store: Store, project: Project, row: Registry) -> RegistryInfo:
    name = project.name[len(REGISTRY_PREFIX) :]
    return RegistryInfo(
        id=b64(f"Project:{project.id}".encode("ascii")),
        organization=store.organization,
        entity=store.organization,
        name=name,
        full_name=project.name,
        description=row.description,
        visibility=row.visibility,
        allow_all_artifact_types=row.allow_all_types,
        artifact_types=list(row.artifact_types),
        created_at=iso(row.created_at),
        updated_at=iso(row.updated_at),
    )


def _find(session: Session, store: Store, name: str) -> tuple[Project, Registry] | None:
    project = repo.find_project(session, store.organization, REGISTRY_PREFIX + name)
    if project is None:
        return None
    row = session.scalars(select(Registry).where(Registry.project_id == project.id)).one_or_none()
    return None if row is None else (project, row)


def _create(
    session: Session,
    store: Store,
    name: str,
    visibility: str,
    description: str | None,
    artifact_types: Sequence[str] | None,
) -> tuple[Project, Registry]:
    project = repo.get_or_create_project(
        session, store.organization, store.organization, REGISTRY_PREFIX + name
    )
    now = utcnow()
    row = Registry(
        project_id=project.id,
        description=description,
        visibility=visibility,
        allow_all_types=artifact_types is None,
        artifact_types=list(dict.fromkeys(artifact_types or [])),
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return project, row


def require_registry(session: Session, store: Store, name: str) -> tuple[Project, Registry]:
    """The registry ``name`` (a core registry is created on first use).

    Raises:
        CommError: ``"registry '<name>' not found"``.
    """
    found = _find(session, store, name)
    if found is None and name in CORE_REGISTRIES:
        try:  # two first uses at once: one creates it, the other finds it
            with session.begin_nested():
                found = _create(session, store, name, "organization", None, None)
        except IntegrityError:
            found = _find(session, store, name)
    if found is None:
        raise NotFoundError(f"registry '{name}' not found")
    return found


def check_type_allowed(registry: Registry, name: str, type_name: str) -> None:
    """Raises: ValueError when the registry restricts types and ``type_name`` is not one."""
    if not registry.allow_all_types and type_name not in registry.artifact_types:
        raise ValueError(
            f"Artifact type '{type_name}' is not allowed in registry '{name}' "
            f"(allowed: {', '.join(registry.artifact_types) or 'none'})"
        )


def create_registry(
    store: Store,
    caller: Caller,
    organization: str | None,
    name: str,
    visibility: str,
    description: str | None,
    artifact_types: Sequence[str] | None,
) -> RegistryInfo:
    """Create registry ``name``; ``artifact_types`` None accepts every type.

    Raises:
        ValueError: invalid name, visibility or type; the registry already exists.
        CommError: an unknown organization; NotFoundError / AuthorizationError: the caller
            does not manage the organization.
    """
    _check_organization(store, organization)
    name = validate_registry_name(name)
    _check_visibility(visibility)
    for type_name in artifact_types or []:
        validate_artifact_type(type_name, "registry")
    with store.db.write() as session:
        Gate(session, store, caller).require(MANAGE, store.organization)
        if _find(session, store, name) is not None:
            raise ValueError(f"Registry '{name}' already exists")
        project, row = _create(session, store, name, visibility, description, artifact_types)
        return _info(store, project, row)


def get_registry(store: Store, caller: Caller, organization: str | None, name: str) -> RegistryInfo:
    """Raises: CommError for an unknown organization or registry, or one the caller
    cannot read; ValueError for a bad name."""
    _check_organization(store, organization)
    name = validate_registry_name(name)
    with store.db.write() as session:
        found = require_registry(session, store, name)
        Gate(session, store, caller).require(READ, store.organization, REGISTRY_PREFIX + name)
        return _info(store, *found)


def list_registries(store: Store, caller: Caller, organization: str | None) -> list[RegistryInfo]:
    """The registries of the organization (core ones included) the caller may read, by name.

    Raises: CommError for an unknown organization.
    """
    _check_organization(store, organization)
    with store.db.write() as session:
        for core in CORE_REGISTRIES:
            require_registry(session, store, core)
        gate = Gate(session, store, caller)
        query = (
            select(Project, Registry)
            .join(Registry, Registry.project_id == Project.id)
            .order_by(Project.name)
        )
        return [
            _info(store, project, row)
            for project, row in session.execute(query)
            if gate.can(READ, store.organization, project.name)
        ]


def edit_registry(
    store: Store,
    caller: Caller,
    organization: str | None,
    name: str,
    description: str | None,
    visibility: str,
    artifact_types: Sequence[str] | None,
) -> RegistryInfo:
    """Change a registry's description, visibility and accepted types.

    Types are add-only (W&B): a saved type cannot be removed; ``None`` accepts all types.

    Raises:
        ValueError: invalid visibility or type, or a saved type missing from ``artifact_types``.
        CommError: unknown organization or registry (or one the caller cannot read);
            AuthorizationError: the caller does not manage it.
    """
    _check_organization(store, organization)
    name = validate_registry_name(name)
    _check_visibility(visibility)
    for type_name in artifact_types or []:
        validate_artifact_type(type_name, "registry")
    with store.db.write() as session:
        project, row = require_registry(session, store, name)
        Gate(session, store, caller).require(MANAGE, store.organization, project.name)
        if artifact_types is not None:
            removed = [t for t in row.artifact_types if t not in artifact_types]
            if removed:
                raise ValueError(
                    f"Artifact types cannot be removed from a registry: {', '.join(removed)}"
                )
            row.artifact_types = list(dict.fromkeys([*row.artifact_types, *artifact_types]))
        row.allow_all_types = artifact_types is None
        row.description = description
        row.visibility = visibility
        row.updated_at = utcnow()
        return _info(store, project, row)


def delete_registry(store: Store, caller: Caller, organization: str | None, name: str) -> None:
    """Delete a registry: its links and aliases go; the linked source versions stay.

    Raises: CommError for an unknown organization or registry (or one the caller cannot
    read); AuthorizationError: the caller does not manage it.
    """
    _check_organization(store, organization)
    name = validate_registry_name(name)
    with store.db.write() as session:
        project, row = require_registry(session, store, name)
        Gate(session, store, caller).require(MANAGE, store.organization, project.name)
        collection_ids = list(
            session.scalars(select(Collection.id).where(Collection.project_id == project.id))
        )
        if collection_ids:
            for model in (Alias, Membership):
                for item in session.scalars(
                    select(model).where(model.collection_id.in_(collection_ids))
                ):
                    session.delete(item)
        session.delete(row)
