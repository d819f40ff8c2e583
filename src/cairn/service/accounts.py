"""Server accounts: users and teams, their roles, and API keys (DESIGN §3, §5).

Users and teams are entities of the server's organization (``entity.kind``). A user is
admin of its own entity; a server admin is an admin of the organization's entity. API
keys look like ``cairn_<key id>_<secret>``: the key id finds the row, and only an HMAC of
the secret under a random per-key salt is stored, so the key is shown once, at creation,
and a stolen database does not yield usable keys. Each function checks its caller:
server admins (``manage`` on the organization) create users and teams, an entity's or a
registry's admins manage its members, users manage their own keys and server admins
anyone's. The command-line tools act as ``LOCAL`` (they hold the database itself).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import re
import secrets
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from cairn.core.registry import REGISTRY_PREFIX, bare_registry_name
from cairn.db import repositories as repo
from cairn.db.models import (
    ApiKey,
    Entity,
    EntityRole,
    Registry,
    RegistryRole,
    UiSession,
    utcnow,
)
from cairn.errors import AuthenticationError, CommError, NotFoundError, RateLimitError
from cairn.service.authz import (
    ADMIN,
    KIND_ORGANIZATION,
    KIND_TEAM,
    KIND_USER,
    MANAGE,
    Gate,
    validate_role,
)
from cairn.service.caller import Caller

if TYPE_CHECKING:
    from cairn.service.resources import Store

# Top-level server routes (DESIGN §5): no entity may take one of these names.
RESERVED_NAMES = frozenset(
    {
        "api",
        "graphql",
        "files",
        "artifacts",
        "artifactsv2",
        "health",
        "ready",
        "metrics",
        "ui",
        "static",
        "login",
        "logout",
        "blobs",
        "storage",
    }
)
_NAME_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
KEY_PREFIX = "cairn"
_KEY_RE = re.compile(r"cairn_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")
# last_used_at is refreshed at most this often, so authentication is not a write per request.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


@dataclasses.dataclass(frozen=True)
class AccountInfo:
    name: str
    kind: str  # "user" or "team"
    created_at: str


@dataclasses.dataclass(frozen=True)
class RoleInfo:
    user: str
    role: str


@dataclasses.dataclass(frozen=True)
class KeyInfo:
    key_id: str
    user: str
    name: str
    created_at: str
    last_used_at: str | None
    revoked: bool


@dataclasses.dataclass(frozen=True)
class NewKey:
    info: KeyInfo
    api_key: str  # the only time the secret exists outside the caller's hands


def _iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def validate_account_name(store: Store, name: str) -> str:
    """Check a new user or team name.

    Raises:
        ValueError: not 1-64 of ``a-z 0-9 _ -`` starting with a letter or digit, a
            reserved top-level route name (DESIGN §5), or the organization's name.
    """
    if not _NAME_RE.fullmatch(name):
        raise ValueError(
            f"Invalid account name {name!r}: use 1 to 64 lowercase letters, digits, '_' "
            "or '-', starting with a letter or digit"
        )
    if name in RESERVED_NAMES or name == store.organization.lower():
        raise ValueError(f"Invalid account name {name!r}: it is reserved")
    return name


def _org_entity(session: Session, store: Store) -> Entity:
    entity = repo.get_or_create_entity(session, store.organization, store.organization)
    if entity.kind is None:
        entity.kind = KIND_ORGANIZATION
    return entity


def _require_account(session: Session, name: str, kind: str | None = None) -> Entity:
    row = session.scalars(select(Entity).where(Entity.name == name)).one_or_none()
    if row is None or row.kind not in ((kind,) if kind else (KIND_USER, KIND_TEAM)):
        raise NotFoundError(f"{kind or 'entity'} '{name}' not found")
    return row


def _create_entity(session: Session, store: Store, name: str, kind: str) -> Entity:
    validate_account_name(store, name)
    org = _org_entity(session, store)
    if session.scalars(select(Entity.id).where(Entity.name == name)).first() is not None:
        raise ValueError(f"Entity '{name}' already exists")
    row = Entity(organization_id=org.organization_id, name=name, kind=kind, created_at=utcnow())
    session.add(row)
    session.flush()
    return row


def _entity_role(session: Session, user: Entity, entity: Entity) -> EntityRole | None:
    return session.scalars(
        select(EntityRole).where(EntityRole.user_id == user.id, EntityRole.entity_id == entity.id)
    ).one_or_none()


def _registry_role(session: Session, user: Entity, registry: Registry) -> RegistryRole | None:
    return session.scalars(
        select(RegistryRole).where(
            RegistryRole.user_id == user.id, RegistryRole.registry_id == registry.id
        )
    ).one_or_none()


def _set_role(session: Session, user: Entity, entity: Entity, role: str) -> None:
    existing = _entity_role(session, user, entity)
    if existing is None:
        session.add(
            EntityRole(user_id=user.id, entity_id=entity.id, role=role, created_at=utcnow())
        )
    else:
        existing.role = role


def create_user(store: Store, caller: Caller, name: str, admin: bool = False) -> AccountInfo:
    """Create the user ``name`` (admin of its own entity; server admin with ``admin``).

    Raises: ValueError for an invalid, reserved or taken name (nothing is created);
    NotFoundError / AuthorizationError: the caller is no server admin.
    """
    try:
        with store.db.write() as session:
            _require_server_admin(session, store, caller)
            row = _create_entity(session, store, name, KIND_USER)
            _set_role(session, row, row, ADMIN)
            if admin:
                _set_role(session, row, _org_entity(session, store), ADMIN)
    except IntegrityError:
        raise ValueError(f"Entity '{name}' already exists") from None
    return AccountInfo(name=row.name, kind=KIND_USER, created_at=_iso(row.created_at) or "")


def create_team(store: Store, caller: Caller, name: str, admin_user: str | None) -> AccountInfo:
    """Create the team ``name``; ``admin_user`` (if given) becomes its admin.

    Raises: ValueError (invalid, reserved or taken name); CommError (unknown user);
    NotFoundError / AuthorizationError: the caller is no server admin.
    """
    try:
        with store.db.write() as session:
            _require_server_admin(session, store, caller)
            row = _create_entity(session, store, name, KIND_TEAM)
            if admin_user is not None:
                _set_role(session, _require_account(session, admin_user, KIND_USER), row, ADMIN)
    except IntegrityError:
        raise ValueError(f"Entity '{name}' already exists") from None
    return AccountInfo(name=row.name, kind=KIND_TEAM, created_at=_iso(row.created_at) or "")


def list_accounts(store: Store, caller: Caller, kind: str) -> list[AccountInfo]:
    """Every user (``kind`` "user") or team ("team"), by name.

    Raises: NotFoundError / AuthorizationError: the caller is no server admin.
    """
    with store.db.read() as session:
        _require_server_admin(session, store, caller)
        rows = session.scalars(select(Entity).where(Entity.kind == kind).order_by(Entity.name))
        return [AccountInfo(r.name, kind, _iso(r.created_at) or "") for r in rows]


def set_member(store: Store, caller: Caller, entity: str, user: str, role: str) -> RoleInfo:
    """Give ``user`` the ``role`` in the user or team ``entity`` (replacing any other).

    Raises: ValueError (bad role); CommError (unknown entity or user, or an entity the
    caller cannot read); AuthorizationError (the caller does not manage ``entity``).
    """
    validate_role(role)
    with store.db.write() as session:
        Gate(session, store, caller).require(MANAGE, entity)
        target = _require_account(session, entity)
        _set_role(session, _require_account(session, user, KIND_USER), target, role)
    return RoleInfo(user=user, role=role)


def remove_member(store: Store, caller: Caller, entity: str, user: str) -> None:
    """Take ``user``'s role in ``entity`` away.

    Raises: CommError (no such role, or an entity the caller cannot read);
    AuthorizationError (the caller does not manage ``entity``).
    """
    with store.db.write() as session:
        Gate(session, store, caller).require(MANAGE, entity)
        target = _require_account(session, entity)
        row = _entity_role(session, _require_account(session, user, KIND_USER), target)
        if row is None:
            raise CommError(f"user '{user}' is not a member of '{entity}'")
        session.delete(row)


def list_members(store: Store, caller: Caller, entity: str) -> list[RoleInfo]:
    """The users with a role in ``entity``, by name.

    Raises: CommError (unknown entity, or one the caller cannot read); AuthorizationError
    (the caller does not manage ``entity``).
    """
    with store.db.read() as session:
        Gate(session, store, caller).require(MANAGE, entity)
        target = _require_account(session, entity)
        rows = session.execute(
            select(Entity.name, EntityRole.role)
            .join(EntityRole, EntityRole.user_id == Entity.id)
            .where(EntityRole.entity_id == target.id)
            .order_by(Entity.name)
        ).all()
    return [RoleInfo(user=name, role=role) for name, role in rows]


def _require_registry(session: Session, store: Store, name: str) -> Registry:
    bare = bare_registry_name(name)
    project = repo.find_project(session, store.organization, REGISTRY_PREFIX + bare)
    row = (
        None
        if project is None
        else session.scalars(select(Registry).where(Registry.project_id == project.id)).first()
    )
    if row is None:
        raise NotFoundError(f"registry '{bare}' not found")
    return row


def set_registry_member(
    store: Store, caller: Caller, registry: str, user: str, role: str
) -> RoleInfo:
    """Give ``user`` the ``role`` in ``registry``.

    Raises: ValueError (bad role), CommError (unknown registry or user, or a registry the
    caller cannot read), AuthorizationError (the caller does not manage the registry).
    """
    validate_role(role)
    with store.db.write() as session:
        _require_registry_manager(session, store, caller, registry)
        reg = _require_registry(session, store, registry)
        member = _require_account(session, user, KIND_USER)
        row = _registry_role(session, member, reg)
        if row is None:
            session.add(
                RegistryRole(user_id=member.id, registry_id=reg.id, role=role, created_at=utcnow())
            )
        else:
            row.role = role
    return RoleInfo(user=user, role=role)


def remove_registry_member(store: Store, caller: Caller, registry: str, user: str) -> None:
    """Raises: CommError (unknown registry or user, or no role there, or a registry the
    caller cannot read); AuthorizationError (the caller does not manage the registry)."""
    with store.db.write() as session:
        _require_registry_manager(session, store, caller, registry)
        reg = _require_registry(session, store, registry)
        member = _require_account(session, user, KIND_USER)
        row = _registry_role(session, member, reg)
        if row is None:
            raise CommError(f"user '{user}' is not a member of registry '{registry}'")
        session.delete(row)


def list_registry_members(store: Store, caller: Caller, registry: str) -> list[RoleInfo]:
    """Raises: CommError (unknown registry, or one the caller cannot read);
    AuthorizationError (the caller does not manage the registry)."""
    with store.db.read() as session:
        _require_registry_manager(session, store, caller, registry)
        reg = _require_registry(session, store, registry)
        rows = session.execute(
            select(Entity.name, RegistryRole.role)
            .join(RegistryRole, RegistryRole.user_id == Entity.id)
            .where(RegistryRole.registry_id == reg.id)
            .order_by(Entity.name)
        ).all()
    return [RoleInfo(user=name, role=role) for name, role in rows]


def _require_server_admin(session: Session, store: Store, caller: Caller) -> None:
    if not caller.local:
        Gate(session, store, caller).require(MANAGE, store.organization)


def _require_registry_manager(session: Session, store: Store, caller: Caller, name: str) -> None:
    project = REGISTRY_PREFIX + bare_registry_name(name)
    Gate(session, store, caller).require(MANAGE, store.organization, project)


def _own_keys(caller: Caller, user: str) -> None:
    """Raises: NotFoundError unless ``user`` is the caller or the caller a server admin."""
    if not (caller.is_admin or caller.name == user):
        raise NotFoundError(f"user '{user}' not found")


def _hash(salt: str, secret: str) -> str:
    return hmac.new(bytes.fromhex(salt), secret.encode(), hashlib.sha256).hexdigest()


def _key_info(row: ApiKey, user: str) -> KeyInfo:
    return KeyInfo(
        key_id=row.key_id,
        user=user,
        name=row.name,
        created_at=_iso(row.created_at) or "",
        last_used_at=_iso(row.last_used_at),
        revoked=row.revoked_at is not None,
    )


def create_key(store: Store, caller: Caller, user: str, name: str = "default") -> NewKey:
    """A new API key for ``user``; the returned ``api_key`` is never stored or shown again.

    Raises: CommError (unknown user, or another user than the caller, who is no server
    admin); ValueError (``name`` empty or over 128 characters).
    """
    _own_keys(caller, user)
    if not name or len(name) > 128:
        raise ValueError("A key name must be 1 to 128 characters")
    key_id = secrets.token_hex(8)
    # No '-': the official wandb client reads 'prefix-key' and wants 40+ characters after it.
    secret = secrets.token_urlsafe(32).replace("-", "_")
    salt = secrets.token_hex(16)
    with store.db.write() as session:
        owner = _require_account(session, user, KIND_USER)
        row = ApiKey(
            key_id=key_id,
            user_id=owner.id,
            name=name,
            salt=salt,
            secret_hash=_hash(salt, secret),
            created_at=utcnow(),
        )
        session.add(row)
    return NewKey(info=_key_info(row, user), api_key=f"{KEY_PREFIX}_{key_id}_{secret}")


def list_keys(store: Store, caller: Caller, user: str) -> list[KeyInfo]:
    """The keys of ``user`` (never their secrets).

    Raises: CommError (unknown user, or another user than the caller, who is no server
    admin).
    """
    _own_keys(caller, user)
    with store.db.read() as session:
        owner = _require_account(session, user, KIND_USER)
        rows = session.scalars(
            select(ApiKey).where(ApiKey.user_id == owner.id).order_by(ApiKey.created_at)
        )
        return [_key_info(row, user) for row in rows]


def revoke_key(store: Store, caller: Caller, user: str, key_id: str) -> None:
    """Revoke one key of ``user`` at once: requests with it, URLs issued to it and web
    sessions opened with it stop working.

    Raises: CommError (unknown user or key, or another user than the caller, who is no
    server admin).
    """
    _own_keys(caller, user)
    with store.db.write() as session:
        owner = _require_account(session, user, KIND_USER)
        row = session.scalars(
            select(ApiKey).where(ApiKey.key_id == key_id, ApiKey.user_id == owner.id)
        ).one_or_none()
        if row is None:
            raise NotFoundError(f"key '{key_id}' not found")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
        session.execute(delete(UiSession).where(UiSession.key_id == key_id))


def authenticate(store: Store, api_key: str) -> Caller:
    """The user an API key belongs to; each call counts as one request of the key when
    the store limits their rate.

    Raises:
        AuthenticationError: malformed, unknown or revoked key (one message for all).
        RateLimitError: the key sent more requests than its rate (nothing was done).
    """
    refused = AuthenticationError("invalid or revoked API key")
    match = _KEY_RE.fullmatch(api_key)
    if match is None:
        raise refused
    key_id, secret = match.groups()
    with store.db.read() as session:
        found = _key_and_caller(session, store, key_id)
    if found is None:
        raise refused
    row, caller = found
    if not hmac.compare_digest(row.secret_hash, _hash(row.salt, secret)):
        raise refused
    if row.revoked_at is not None:
        raise refused
    last_used = row.last_used_at
    store.observer.authenticated(key_id)
    count_request(store, key_id)
    now = utcnow()
    if last_used is None or now - _aware(last_used) > LAST_USED_RESOLUTION:
        with store.db.write() as session:
            session.get_one(ApiKey, row.id).last_used_at = now
    return caller


def count_request(store: Store, key_id: str) -> None:
    """Count one request of the key ``key_id`` against its rate, when the store limits
    their rate (a refusal is reported to ``store.observer``).

    Raises: RateLimitError (the key sent more requests than its rate; nothing was done).
    """
    if store.rate_limiter is None:
        return
    try:
        store.rate_limiter.check(key_id)
    except RateLimitError:
        store.observer.rate_limited()
        raise


def caller_for_key_id(store: Store, key_id: str) -> Caller:
    """The user of the live API key whose public id is ``key_id``: what a signed transfer
    URL or a web session was issued to, checked again each time it is used.

    Raises:
        AuthenticationError: no such key, or it has been revoked.
    """
    with store.db.read() as session:
        found = _key_and_caller(session, store, key_id)
    if found is None or found[0].revoked_at is not None:
        raise AuthenticationError("invalid or revoked API key")
    caller = found[1]
    store.observer.authenticated(key_id)
    return caller


def _key_and_caller(session: Session, store: Store, key_id: str) -> tuple[ApiKey, Caller] | None:
    """The key row ``key_id`` and the caller it stands for (its user, and whether that
    user is a server admin: an admin of the organization's entity), in one statement, as
    every request asks; None when there is no such key."""
    user = aliased(Entity)
    organization = select(Entity.id).where(Entity.name == store.organization).scalar_subquery()
    query = (
        select(ApiKey, user.id, user.name, EntityRole.role)
        .join(user, user.id == ApiKey.user_id)
        .outerjoin(
            EntityRole,
            (EntityRole.user_id == ApiKey.user_id) & (EntityRole.entity_id == organization),
        )
        .where(ApiKey.key_id == key_id)
    )
    found = session.execute(query).first()
    if found is None:
        return None
    row, user_id, name, role = found
    return row, Caller(user_id=user_id, name=name, key_id=row.key_id, is_admin=role == ADMIN)


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
