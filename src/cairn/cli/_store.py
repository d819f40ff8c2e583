"""Which store a command works on, said in one line.

``embedded store /home/me/.cairn`` or ``server http://host:8420 as alice``: commands print
it first (not with ``--json`` or ``--quiet``), ``cairn status`` prints it alone, and the
commands that only make sense on the embedded store (``gc``, ``fsck``, ``ui``) refuse to
run against a server, saying where the server came from and how to go back.
"""

from __future__ import annotations

import dataclasses

import click

from cairn.cli._errors import CliError
from cairn.settings import Settings, server_source


@dataclasses.dataclass(frozen=True)
class StoreInUse:
    """The store commands use now: the embedded directory, or a server and its user."""

    mode: str  # "embedded" | "server"
    location: str  # the store directory, or the server's URL
    user: str | None  # server: the API key's user
    source: str | None  # server: "CAIRN_BASE_URL", or the credentials file of `cairn login`

    def describe(self) -> str:
        if self.mode == "embedded":
            return f"embedded store {self.location}"
        return f"server {self.location} as {self.user}"

    def as_dict(self) -> dict[str, str | None]:
        return dataclasses.asdict(self)


def _server_user(base_url: str, api_key: str | None) -> str:
    """The user of ``api_key`` on the server. Raises AuthenticationError, CommError."""
    from cairn.remote.http import ApiClient

    client = ApiClient(base_url, api_key)
    try:
        return str(client.call("GET", "/whoami").json()["user"])
    finally:
        client.close()


def store_in_use(settings: Settings) -> StoreInUse:
    """The store ``settings`` select.

    Raises: ValueError (unreadable credentials file); on a server, AuthenticationError (the
    key is refused) and CommError (the server cannot be reached).
    """
    if settings.base_url is None:
        return StoreInUse("embedded", str(settings.cairn_dir), None, None)
    user = _server_user(settings.base_url, settings.api_key)
    return StoreInUse("server", settings.base_url, user, server_source())


def say_store(settings: Settings, as_json: bool, quiet: bool) -> None:
    """Print the store line, unless the output is JSON or quiet (same errors as above)."""
    if not (as_json or quiet):
        click.echo(store_in_use(settings).describe())


def require_embedded(command: str, settings: Settings, on_server: str | None = None) -> None:
    """Refuse ``command`` (``"cairn gc"``) unless commands use the embedded store;
    ``on_server`` names the command that does the same on a server's store, for its admin.

    Raises:
        CliError: a server is configured; the line says by what and how to go back.
        ValueError: the credentials file cannot be read.
    """
    if settings.base_url is None:
        return
    home = settings.cairn_dir
    if server_source() == "CAIRN_BASE_URL":
        how = f"CAIRN_BASE_URL points commands at the server {settings.base_url}"
        back = f"unset it to use the embedded store {home}"
    else:
        how = f"you are logged in to the server {settings.base_url}"
        back = f"`cairn logout` goes back to the embedded store {home}"
    server_side = f" (on the server, `{on_server}` does it for its store)" if on_server else ""
    raise CliError(
        f"{command} works on the embedded store only, and {how}: {back}{server_side}",
        "UsageError",
    )
