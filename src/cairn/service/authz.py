"""Who may do what on a server: the one role × action table and the checks that apply it.

Roles are held per entity (a user's own entity, a team, the organization's entity) and
per registry. The table below is the whole policy (docs/server.md copies it):

=========  ====  =====================================  =========================
role       read  write (log, alias, tag, link, delete)  manage (members and keys)
=========  ====  =====================================  =========================
viewer     yes   no                                     no
member     yes   yes                                    no
admin      yes   yes                                    yes
=========  ====  =====================================  =========================

An admin of the organization's entity is a server admin: admin everywhere. A registry
of visibility ``organization`` is readable by every user of the server; a ``restricted``
one only by its members. Whoever cannot read a thing is told it does not exist
(``NotFoundError`` "... not found", 404 over HTTP), never that it is forbidden; whoever can
read it but not act on it gets ``AuthorizationError`` (403).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from cairn.core.digest import decode_artifact_id
from cairn.db.models import (
    COLLECTION_SEQUENCE,
    Collection,
    Entity,
    EntityRole,
    Membership,
    Project,
    Registry,
    RegistryRole,
    Version,
)
from cairn.errors import AuthorizationError, NotFoundError
from cairn.protocol import RegistryInfo
from cairn.service.registries import REGISTRY_PREFIX, is_registry_project
from cairn.service.store import Store

READ = "read"
WRITE = "write"
MANAGE = "manage"
ACTIONS = (READ, WRITE, MANAGE)

ADMIN = "admin"
MEMBER = "member"
VIEWER = "viewer"
ROLES = (ADMIN, MEMBER, VIEWER)

ROLE_ACTIONS: dict[str, frozenset[str]] = {
    VIEWER: frozenset({READ}),
    MEMBER: frozenset({READ, WRITE}),
    ADMIN: frozenset({READ, WRITE, MANAGE}),
}

KIND_USER = "user"
KIND_TEAM = "team"
KIND_ORGANIZATION = "organization"


@dataclasses.dataclass(frozen=True)
class Principal:
    """The authenticated caller: a user (its entity row id and name) and the key used."""

    user_id: int
    name: str
    key_id: str
    is_admin: bool  # admin of the organization's entity


def validate_role(role: str) -> str:
    """Raises: ValueError for a role that is not admin, member or viewer."""
    if role not in ROLES:
        raise ValueError(f"Invalid role {role!r}: expected one of {', '.join(ROLES)}")
    return role


def _entity_role(session: Session, principal: Principal, entity: Entity) -> str | None:
    if principal.is_admin:
        return ADMIN
    return session.scalars(
        select(EntityRole.role).where(
            EntityRole.user_id == principal.user_id, EntityRole.entity_id == entity.id
        )
    ).one_or_none()


def _registry_role(session: Session, principal: Principal, project: Project) -> str | None:
    if principal.is_admin:
        return ADMIN
    registry = session.scalars(
        select(Registry).where(Registry.project_id == project.id)
    ).one_or_none()
    if registry is None:
        return None
    role = session.scalars(
        select(RegistryRole.role).where(
            RegistryRole.user_id == principal.user_id, RegistryRole.registry_id == registry.id
        )
    ).one_or_none()
    if role is None and registry.visibility == "organization":
        return VIEWER
    return role


def _check(role: str | None, action: str, what: str) -> None:
    if role is None or READ not in ROLE_ACTIONS[role]:
        raise NotFoundError(f"{what} not found")
    if action not in ROLE_ACTIONS[role]:
        raise AuthorizationError(f"role '{role}' may not {action} {what}")


def _find_entity(session: Session, name: str) -> Entity | None:
    return session.scalars(select(Entity).where(Entity.name == name)).one_or_none()


def role_in(
    session: Session, store: Store, principal: Principal, entity: str, project: str | None
) -> str | None:
    """The caller's role on ``entity`` (or on the registry, for a registry ``project``)."""
    if project is not None and is_registry_project(project):
        org = _find_entity(session, store.organization)
        registry_project = (
            None
            if org is None
            else session.scalars(
                select(Project).where(Project.entity_id == org.id, Project.name == project)
            ).one_or_none()
        )
        if registry_project is None:
            return ADMIN if principal.is_admin else None
        return _registry_role(session, principal, registry_project)
    row = _find_entity(session, entity)
    if row is None or row.kind is None:
        return None
    return _entity_role(session, principal, row)


def authorize(
    store: Store, principal: Principal, entity: str, action: str, project: str | None = None
) -> None:
    """Check that ``principal`` may ``action`` on ``entity`` (or its registry ``project``).

    Raises:
        CommError: the caller cannot read it (or it does not exist): "'<entity>' not found".
        AuthorizationError: the caller can read it but its role does not allow ``action``.
    """
    with store.db.read() as session:
        role = role_in(session, store, principal, entity, project)
    what = f"'{entity}/{project}'" if project is not None else f"'{entity}'"
    _check(role, action, what)


def authorize_registry(store: Store, principal: Principal, name: str, action: str) -> None:
    """``authorize`` for the registry ``name`` (with or without its prefix).

    Raises: CommError (not readable / unknown), AuthorizationError (role too low).
    """
    bare = name[len(REGISTRY_PREFIX) :] if name.startswith(REGISTRY_PREFIX) else name
    authorize(store, principal, store.organization, action, REGISTRY_PREFIX + bare)


def visible_registries(
    store: Store, principal: Principal, registries: Iterable[RegistryInfo]
) -> list[RegistryInfo]:
    """The registries of ``registries`` the caller may read."""
    with store.db.read() as session:
        return [
            info
            for info in registries
            if role_in(session, store, principal, store.organization, info.full_name) is not None
        ]


def authorize_version(store: Store, principal: Principal, version_id: str, action: str) -> str:
    """Check ``action`` on the version ``version_id``; return its source entity's name.

    Reading is allowed through any collection the version is a member of (its sequence or
    a portfolio the caller can read); writing needs ``write`` on its source entity.

    Raises:
        CommError: "artifact '<id>' not found" when the caller cannot read it.
        AuthorizationError: readable, but the caller may not ``action`` on its source.
    """
    not_found = NotFoundError(f"artifact '{version_id}' not found")
    try:
        pk = decode_artifact_id(version_id)
    except ValueError:
        raise not_found from None
    with store.db.read() as session:
        if session.get(Version, pk) is None:
            raise not_found
        places = session.execute(
            select(Entity.name, Project.name, Collection.kind)
            .join(Project, Project.entity_id == Entity.id)
            .join(Collection, Collection.project_id == Project.id)
            .join(Membership, Membership.collection_id == Collection.id)
            .where(Membership.version_id == pk)
        ).all()
        roles = [(role_in(session, store, principal, e, p), e, kind) for e, p, kind in places]
    source = next((entity for _role, entity, kind in roles if kind == COLLECTION_SEQUENCE), None)
    source_role = next((role for role, _e, kind in roles if kind == COLLECTION_SEQUENCE), None)
    if source is None or not any(role is not None for role, _e, _k in roles):
        raise not_found
    if action == READ:
        return source
    if source_role is None or action not in ROLE_ACTIONS[source_role]:
        raise AuthorizationError(f"you may not {action} artifact '{version_id}'")
    return source
