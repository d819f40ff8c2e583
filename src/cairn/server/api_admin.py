"""Admin routes: users, teams, members and roles (per entity and per registry), keys.

Server admins create users and teams; an entity's admins manage its members; a
registry's admins manage its members; users manage their own keys (server admins
anyone's). Each route calls one ``cairn.service.accounts`` function with its caller,
which checks who may do it.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from cairn.server import wire
from cairn.server.deps import CallerDep, StateDep
from cairn.server.strict_json import StrictJsonRoute
from cairn.service import accounts
from cairn.service.accounts import AccountInfo, KeyInfo, RoleInfo

router = APIRouter(prefix="/api/v1", route_class=StrictJsonRoute)


@router.get("/whoami", response_model=wire.WhoAmI)
def whoami(state: StateDep, who: CallerDep) -> wire.WhoAmI:
    return wire.WhoAmI(
        user=who.name,
        is_admin=who.is_admin,
        key_id=who.key_id,
        organization=state.config.organization,
    )


@router.post("/admin/users", response_model=AccountInfo)
def create_user(body: wire.UserCreate, state: StateDep, who: CallerDep) -> AccountInfo:
    return accounts.create_user(state.store, who, body.name, body.admin)


@router.get("/admin/users", response_model=list[AccountInfo])
def list_users(state: StateDep, who: CallerDep) -> list[AccountInfo]:
    return accounts.list_accounts(state.store, who, "user")


@router.post("/admin/teams", response_model=AccountInfo)
def create_team(body: wire.TeamCreate, state: StateDep, who: CallerDep) -> AccountInfo:
    return accounts.create_team(state.store, who, body.name, body.admin)


@router.get("/admin/teams", response_model=list[AccountInfo])
def list_teams(state: StateDep, who: CallerDep) -> list[AccountInfo]:
    return accounts.list_accounts(state.store, who, "team")


@router.get("/entities/{entity}/members", response_model=list[RoleInfo])
def list_members(entity: str, state: StateDep, who: CallerDep) -> list[RoleInfo]:
    return accounts.list_members(state.store, who, entity)


@router.put("/entities/{entity}/members/{user}", response_model=RoleInfo)
def set_member(
    entity: str, user: str, body: wire.RoleSet, state: StateDep, who: CallerDep
) -> RoleInfo:
    return accounts.set_member(state.store, who, entity, user, body.role)


@router.delete("/entities/{entity}/members/{user}", status_code=204)
def remove_member(entity: str, user: str, state: StateDep, who: CallerDep) -> Response:
    accounts.remove_member(state.store, who, entity, user)
    return Response(status_code=204)


@router.get("/registries/{name}/members", response_model=list[RoleInfo])
def list_registry_members(name: str, state: StateDep, who: CallerDep) -> list[RoleInfo]:
    return accounts.list_registry_members(state.store, who, name)


@router.put("/registries/{name}/members/{user}", response_model=RoleInfo)
def set_registry_member(
    name: str, user: str, body: wire.RoleSet, state: StateDep, who: CallerDep
) -> RoleInfo:
    return accounts.set_registry_member(state.store, who, name, user, body.role)


@router.delete("/registries/{name}/members/{user}", status_code=204)
def remove_registry_member(name: str, user: str, state: StateDep, who: CallerDep) -> Response:
    accounts.remove_registry_member(state.store, who, name, user)
    return Response(status_code=204)


@router.post("/users/{user}/keys", response_model=wire.NewKeyOut)
def create_key(user: str, body: wire.KeyCreate, state: StateDep, who: CallerDep) -> wire.NewKeyOut:
    new = accounts.create_key(state.store, who, user, body.name)
    return wire.NewKeyOut(api_key=new.api_key, key_id=new.info.key_id, user=user, name=body.name)


@router.get("/users/{user}/keys", response_model=list[KeyInfo])
def list_keys(user: str, state: StateDep, who: CallerDep) -> list[KeyInfo]:
    return accounts.list_keys(state.store, who, user)


@router.delete("/users/{user}/keys/{key_id}", status_code=204)
def revoke_key(user: str, key_id: str, state: StateDep, who: CallerDep) -> Response:
    accounts.revoke_key(state.store, who, user, key_id)
    return Response(status_code=204)
