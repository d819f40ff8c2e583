"""``cairn login``: check a server URL and API key, then save both for this user.

The pair goes to ``cairn.settings.credentials_path()`` (``~/.config/cairn/credentials.json``,
mode 0600), which ``Settings.load`` reads after the environment: ``CAIRN_BASE_URL`` and
``CAIRN_API_KEY`` still win, and the saved key is only ever sent to the saved URL.
``cairn logout`` forgets the pair, and commands use the embedded store again.
"""

from __future__ import annotations

import json
import os

import click

from cairn.cli._common import command_options, emit


@click.command()
@click.option("--base-url", required=True, help="The server, e.g. https://cairn.example.com")
@click.option(
    "--api-key", prompt=True, hide_input=True, help="Your API key (prompted when omitted)."
)
@command_options
def login(base_url: str, api_key: str, as_json: bool, quiet: bool) -> None:
    """Check the key against the server, then store URL and key for later commands."""
    from cairn.remote.http import ApiClient
    from cairn.settings import credentials_path

    base = base_url.strip().rstrip("/")
    client = ApiClient(base, api_key.strip())
    try:
        who = client.call("GET", "/whoami").json()
    finally:
        client.close()
    path = credentials_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump({"base_url": base, "api_key": api_key.strip()}, out)
        out.write("\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    if quiet and not as_json:
        return
    emit(
        as_json,
        {"base_url": base, "user": who["user"], "path": str(path)},
        lambda: click.echo(
            f"Logged in to {base} as {who['user']} (saved in {path}); commands now use this "
            "server, and `cairn logout` goes back to the embedded store"
        ),
    )
