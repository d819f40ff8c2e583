"""Who may do what: the one role × action table and the ``Gate`` that applies it.

Roles are held per entity (a user's own entity, a team, the organization's entity) and
per registry. The table below is the whole policy (docs/server.md copies it):

=========  ====  =====================================  =========================
role       read  write (log, alias, tag, link, delete)  manage (members and keys)
=========  ====  =====================================  =========================
viewer     yes   no                                     no
member     yes   yes                                    no
admin      yes   yes                                    yes
=========  ====  =====================================  =========================

An admin of the organization's entity is a server admin: admin everywhere. Registries
belong to the organization: registry roles apply to the organization entity's
``wandb-registry-*`` projects only; the same name under any other entity is an ordinary
project of that entity. A registry of visibility ``organization`` is readable by every
user of the server; a ``restricted`` one only by its members. Whoever cannot read a thing
is told it does not exist (``NotFoundError`` "... not found", 404 over HTTP), never that it
is forbidden; whoever can read it but not act on it gets ``AuthorizationError`` (403).

This module is the service layer's own: every use case opens a ``Gate`` for its caller
inside its transaction and checks each object it touches. Transports never import it
(an import-linter contract says so).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from cairn.core.registry import is_registry_project
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

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from cairn.service.caller import Caller
    from cairn.service.resources import Store

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


def validate_role(role: str) -> str:
    """Raises: ValueError for a role that is not admin, member or viewer."""
    if role not in ROLES:
        raise ValueError(f"Invalid role {role!r}: expected one of {', '.join(ROLES)}")
    return role


def check_role(role: str | None, action: str, what: str) -> None:
    """Raises: NotFoundError ("<what> not found") when ``role`` cannot read;
    AuthorizationError when it can read but not ``action``."""
    if role is None or READ not in ROLE_ACTIONS[role]:
        raise NotFoundError(f"{what} not found")
    if action not in ROLE_ACTIONS[role]:
        raise AuthorizationError(f"role '{role}' may not {action} {what}")


class Gate:
    """The rights of one caller within one transaction; each role is looked up once.

    ``LOCAL`` (the embedded store's owner) may do everything and costs no query.
    """

    def __init__(self, session: Session, store: Store, caller: Caller) -> None:
        self.session = session
        self.store = store
        self.caller = caller
        self._roles: dict[tuple[str, str | None], str | None] = {}

    def role(self, entity: str, project: str | None = None) -> str | None:
        """The caller's role on ``entity`` (on the registry, for the organization's
        ``wandb-registry-*`` project ``project``), or None."""
        if self.caller.local:
            return ADMIN
        key = (entity, project)
        if key not in self._roles:
            self._roles[key] = self._lookup(entity, project)
        return self._roles[key]

    def _lookup(self, entity: str, project: str | None) -> str | None:
        if (
            project is not None
            and entity == self.store.organization
            and is_registry_project(project)
        ):
            return self._registry_role(project)
        row = self.session.scalars(select(Entity).where(Entity.name == entity)).one_or_none()
        if row is None or row.kind is None:
            return None
        if self.caller.is_admin:
            return ADMIN
        return self.session.scalars(
            select(EntityRole.role).where(
                EntityRole.user_id == self.caller.user_id, EntityRole.entity_id == row.id
            )
        ).one_or_none()

    def _registry_role(self, project: str) -> str | None:
        if self.caller.is_admin:
            return ADMIN
        registry = self.session.scalars(
            select(Registry)
            .join(Project, Registry.project_id == Project.id)
            .join(Entity, Project.entity_id == Entity.id)
            .where(Entity.name == self.store.organization, Project.name == project)
        ).one_or_none()
        if registry is None:
            return None
        role = self.session.scalars(
            select(RegistryRole.role).where(
                RegistryRole.user_id == self.caller.user_id,
                RegistryRole.registry_id == registry.id,
            )
        ).one_or_none()
        if role is None and registry.visibility == "organization":
            return VIEWER
        return role

    def can(self, action: str, entity: str, project: str | None = None) -> bool:
        """Whether the caller may ``action`` on ``entity`` (or its project)."""
        role = self.role(entity, project)
        return role is not None and action in ROLE_ACTIONS[role]

    def require(self, action: str, entity: str, project: str | None = None) -> None:
        """Raises: NotFoundError ("'<entity>[/<project>]' not found") when the caller
        cannot read it; AuthorizationError when it can read but not ``action``."""
        what = f"'{entity}/{project}'" if project is not None else f"'{entity}'"
        check_role(self.role(entity, project), action, what)

    def _places(self, version_pk: int) -> list[tuple[str, str, str]]:
        """``(entity, project, collection kind)`` of every collection the version is in."""
        return [
            (entity, project, kind)
            for entity, project, kind in self.session.execute(
                select(Entity.name, Project.name, Collection.kind)
                .join(Project, Project.entity_id == Entity.id)
                .join(Collection, Collection.project_id == Project.id)
                .join(Membership, Membership.collection_id == Collection.id)
                .where(Membership.version_id == version_pk)
            )
        ]

    def can_read_version(self, version_pk: int) -> bool:
        """Whether the caller may read the version through any collection it is in (its
        sequence, or a portfolio the caller can read)."""
        if self.caller.local:
            return True
        return any(self.can(READ, e, p) for e, p, _kind in self._places(version_pk))

    def require_version(self, version: Version, action: str, wire_id: str) -> None:
        """Check ``action`` on a version: reading through any collection the caller can
        read, anything else by the caller's role on the version's source project.

        Raises: NotFoundError ("artifact '<wire id>' not found") when the caller cannot
        read it; AuthorizationError when it can read it but may not ``action``.
        """
        if self.caller.local:
            return
        places = self._places(version.id)
        if not any(self.can(READ, e, p) for e, p, _kind in places):
            raise NotFoundError(f"artifact '{wire_id}' not found")
        if action == READ:
            return
        source = next(((e, p) for e, p, kind in places if kind == COLLECTION_SEQUENCE), None)
        if source is None or not self.can(action, *source):
            raise AuthorizationError(f"you may not {action} artifact '{wire_id}'")
