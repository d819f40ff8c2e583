"""``cairn admin``: manage a server's users, teams, members and roles, and API keys.

Every subcommand calls one REST admin route of the server at ``CAIRN_BASE_URL`` with the
key ``CAIRN_API_KEY`` (read through ``Settings``), so what it can do is exactly what the
key's role allows (docs/server.md has the table). Refusals print the server's message on
stderr and exit 1; ``--json`` prints the server's answer.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import click

from cairn.cli._common import command_options, emit
from cairn.errors import AuthenticationError, AuthorizationError, CommError, NotFoundError

_ERRORS: dict[int, type[CommError]] = {
    401: AuthenticationError,
    403: AuthorizationError,
    404: NotFoundError,
}


def _call(method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """Call ``/api/v1<path>`` on the configured server and return its JSON answer.

    Raises: UsageError (no base URL or key configured), CommError and its subclasses
    (the server refused; the message is the server's), ValueError (400 answers).
    """
    import httpx

    from cairn.errors import UsageError
    from cairn.settings import Settings

    settings = Settings.load()
    if not settings.base_url or not settings.api_key:
        raise UsageError("cairn admin needs CAIRN_BASE_URL and CAIRN_API_KEY (or cairn login)")
    url = f"{settings.base_url.rstrip('/')}/api/v1{path}"
    headers = {"Authorization": f"Bearer {settings.api_key}"}
    try:
        response = httpx.request(method, url, json=body, headers=headers, timeout=60)
    except httpx.HTTPError as exc:
        raise CommError(f"cannot reach {settings.base_url}: {exc}", exc=exc) from exc
    if response.status_code < 300:
        return response.json() if response.content else None
    try:
        message = response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = response.text[:300] or f"HTTP {response.status_code}"
    if response.status_code in (400, 422):
        raise ValueError(message)
    raise _ERRORS.get(response.status_code, CommError)(message)


def _q(name: str) -> str:
    return quote(name, safe="")


def _lines(rows: list[dict[str, Any]], *fields: str) -> None:
    for row in rows:
        click.echo("\t".join("" if row.get(f) is None else str(row[f]) for f in fields))


@click.group()
def admin() -> None:
    """Manage users, teams, members and API keys of a Cairn server."""


# ---------------------------------------------------------------- users


@admin.group()
def users() -> None:
    """Users of the server (server admins only)."""


@users.command("create")
@click.argument("name")
@click.option("--admin", "is_admin", is_flag=True, help="Make the user a server admin.")
@command_options
def users_create(name: str, is_admin: bool, as_json: bool, quiet: bool) -> None:
    """Create the user NAME."""
    made = _call("POST", "/admin/users", {"name": name, "admin": is_admin})
    emit(as_json, made, lambda: click.echo(f"created user {made['name']}"))


@users.command("list")
@command_options
def users_list(as_json: bool, quiet: bool) -> None:
    """List the users."""
    rows = _call("GET", "/admin/users")
    emit(as_json, rows, lambda: _lines(rows, "name", "created_at"))


# ---------------------------------------------------------------- teams


@admin.group()
def teams() -> None:
    """Teams of the server (server admins only)."""


@teams.command("create")
@click.argument("name")
@click.option("--admin", "team_admin", help="A user to make the team's first admin.")
@command_options
def teams_create(name: str, team_admin: str | None, as_json: bool, quiet: bool) -> None:
    """Create the team NAME."""
    made = _call("POST", "/admin/teams", {"name": name, "admin": team_admin})
    emit(as_json, made, lambda: click.echo(f"created team {made['name']}"))


@teams.command("list")
@command_options
def teams_list(as_json: bool, quiet: bool) -> None:
    """List the teams."""
    rows = _call("GET", "/admin/teams")
    emit(as_json, rows, lambda: _lines(rows, "name", "created_at"))


# ---------------------------------------------------------------- members


@admin.group()
def members() -> None:
    """Members of an entity and their roles (the entity's admins)."""


@members.command("add")
@click.argument("entity")
@click.argument("user")
@click.option(
    "--role",
    type=click.Choice(["admin", "member", "viewer"]),
    default="member",
    show_default=True,
)
@command_options
def members_add(entity: str, user: str, role: str, as_json: bool, quiet: bool) -> None:
    """Give USER a ROLE in ENTITY (adds them, or changes their role)."""
    made = _call("PUT", f"/entities/{_q(entity)}/members/{_q(user)}", {"role": role})
    emit(as_json, made, lambda: click.echo(f"{made['user']} is {made['role']} of {entity}"))


@members.command("set-role")
@click.argument("entity")
@click.argument("user")
@click.argument("role", type=click.Choice(["admin", "member", "viewer"]))
@command_options
def members_set_role(entity: str, user: str, role: str, as_json: bool, quiet: bool) -> None:
    """Change USER's role in ENTITY to ROLE."""
    made = _call("PUT", f"/entities/{_q(entity)}/members/{_q(user)}", {"role": role})
    emit(as_json, made, lambda: click.echo(f"{made['user']} is {made['role']} of {entity}"))


@members.command("remove")
@click.argument("entity")
@click.argument("user")
@command_options
def members_remove(entity: str, user: str, as_json: bool, quiet: bool) -> None:
    """Remove USER from ENTITY."""
    _call("DELETE", f"/entities/{_q(entity)}/members/{_q(user)}")
    emit(as_json, {"removed": user}, lambda: click.echo(f"removed {user} from {entity}"))


@members.command("list")
@click.argument("entity")
@command_options
def members_list(entity: str, as_json: bool, quiet: bool) -> None:
    """List ENTITY's members and their roles."""
    rows = _call("GET", f"/entities/{_q(entity)}/members")
    emit(as_json, rows, lambda: _lines(rows, "user", "role"))


# ---------------------------------------------------------------- keys


@admin.group()
def keys() -> None:
    """API keys (your own; server admins: anyone's)."""


@keys.command("create")
@click.argument("user")
@click.option("--name", default="default", show_default=True, help="A label for the key.")
@command_options
def keys_create(user: str, name: str, as_json: bool, quiet: bool) -> None:
    """Create an API key for USER and print it (it is shown only this once)."""
    made = _call("POST", f"/users/{_q(user)}/keys", {"name": name})
    emit(as_json, made, lambda: click.echo(made["api_key"]))


@keys.command("list")
@click.argument("user")
@command_options
def keys_list(user: str, as_json: bool, quiet: bool) -> None:
    """List USER's keys (ids and labels, never the secrets)."""
    rows = _call("GET", f"/users/{_q(user)}/keys")
    emit(as_json, rows, lambda: _lines(rows, "key_id", "name", "created_at", "revoked"))


@keys.command("revoke")
@click.argument("user")
@click.argument("key_id")
@command_options
def keys_revoke(user: str, key_id: str, as_json: bool, quiet: bool) -> None:
    """Revoke USER's key KEY_ID (requests with it are refused from now on)."""
    _call("DELETE", f"/users/{_q(user)}/keys/{_q(key_id)}")
    emit(as_json, {"revoked": key_id}, lambda: click.echo(f"revoked {key_id}"))
