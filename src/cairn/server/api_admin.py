"""Admin routes: users, teams, members and roles (per entity and per registry), keys.

Server admins create users and teams; an entity's admins manage its members; a
registry's admins manage its members; users manage their own keys (server admins
anyone's). Each route authorizes, then calls one ``cairn.service.accounts`` function.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from cairn.errors import NotFoundError
from cairn.server import wire
from cairn.server.deps import PrincipalDep, StateDep
from cairn.service import accounts
from cairn.service.accounts import AccountInfo, KeyInfo, RoleInfo
from cairn.service.authz import MANAGE, Principal, authorize, authorize_registry

router = APIRouter(prefix="/api/v1")


@router.get("/whoami", response_model=wire.WhoAmI)
def whoami(state: StateDep, who: PrincipalDep) -> wire.WhoAmI:
    return wire.WhoAmI(
        user=who.name,
        is_admin=who.is_admin,
        key_id=who.key_id,
        organization=state.config.organization,
    )


@router.post("/admin/users", response_model=AccountInfo)
def create_user(body: wire.UserCreate, state: StateDep, who: PrincipalDep) -> AccountInfo:
    authorize(state.store, who, state.config.organization, MANAGE)
    return accounts.create_user(state.store, body.name, body.admin)


@router.get("/admin/users", response_model=list[AccountInfo])
def list_users(state: StateDep, who: PrincipalDep) -> list[AccountInfo]:
    authorize(state.store, who, state.config.organization, MANAGE)
    return accounts.list_accounts(state.store, "user")


@router.post("/admin/teams", response_model=AccountInfo)
def create_team(body: wire.TeamCreate, state: StateDep, who: PrincipalDep) -> AccountInfo:
    authorize(state.store, who, state.config.organization, MANAGE)
    return accounts.create_team(state.store, body.name, body.admin)


@router.get("/admin/teams", response_model=list[AccountInfo])
def list_teams(state: StateDep, who: PrincipalDep) -> list[AccountInfo]:
    authorize(state.store, who, state.config.organization, MANAGE)
    return accounts.list_accounts(state.store, "team")


@router.get("/entities/{entity}/members", response_model=list[RoleInfo])
def list_members(entity: str, state: StateDep, who: PrincipalDep) -> list[RoleInfo]:
    authorize(state.store, who, entity, MANAGE)
    return accounts.list_members(state.store, entity)


@router.put("/entities/{entity}/members/{user}", response_model=RoleInfo)
def set_member(
    entity: str, user: str, body: wire.RoleSet, state: StateDep, who: PrincipalDep
) -> RoleInfo:
    authorize(state.store, who, entity, MANAGE)
    return accounts.set_member(state.store, entity, user, body.role)


@router.delete("/entities/{entity}/members/{user}", status_code=204)
def remove_member(entity: str, user: str, state: StateDep, who: PrincipalDep) -> Response:
    authorize(state.store, who, entity, MANAGE)
    accounts.remove_member(state.store, entity, user)
    return Response(status_code=204)


@router.get("/registries/{name}/members", response_model=list[RoleInfo])
def list_registry_members(name: str, state: StateDep, who: PrincipalDep) -> list[RoleInfo]:
    authorize_registry(state.store, who, name, MANAGE)
    return accounts.list_registry_members(state.store, name)


@router.put("/registries/{name}/members/{user}", response_model=RoleInfo)
def set_registry_member(
    name: str, user: str, body: wire.RoleSet, state: StateDep, who: PrincipalDep
) -> RoleInfo:
    authorize_registry(state.store, who, name, MANAGE)
    return accounts.set_registry_member(state.store, name, user, body.role)


@router.delete("/registries/{name}/members/{user}", status_code=204)
def remove_registry_member(name: str, user: str, state: StateDep, who: PrincipalDep) -> Response:
    authorize_registry(state.store, who, name, MANAGE)
    accounts.remove_registry_member(state.store, name, user)
    return Response(status_code=204)


def _own_keys(who: Principal, user: str) -> None:
    if not (who.is_admin or who.name == user):
        raise NotFoundError(f"user '{user}' not found")


@router.post("/users/{user}/keys", response_model=wire.NewKeyOut)
def create_key(
    user: str, body: wire.KeyCreate, state: StateDep, who: PrincipalDep
) -> wire.NewKeyOut:
    _own_keys(who, user)
    new = accounts.create_key(state.store, user, body.name)
    return wire.NewKeyOut(api_key=new.api_key, key_id=new.info.key_id, user=user, name=body.name)


@router.get("/users/{user}/keys", response_model=list[KeyInfo])
def list_keys(user: str, state: StateDep, who: PrincipalDep) -> list[KeyInfo]:
    _own_keys(who, user)
    return accounts.list_keys(state.store, user)


@router.delete("/users/{user}/keys/{key_id}", status_code=204)
def revoke_key(user: str, key_id: str, state: StateDep, who: PrincipalDep) -> Response:
    _own_keys(who, user)
    accounts.revoke_key(state.store, user, key_id)
    return Response(status_code=204)
