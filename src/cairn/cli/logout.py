"""``cairn logout``: forget the server URL and key ``cairn login`` saved.

Commands then use the embedded store again, unless ``CAIRN_BASE_URL`` is set (which then
still wins, and the line says so). The key itself stays valid on the server: revoking it
is ``cairn admin keys revoke``. A damaged credentials file is removed too, which is the
way out when ``Settings`` refuses to read it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from cairn.cli._common import command_options, emit

if TYPE_CHECKING:
    from pathlib import Path


def _saved_url(path: Path) -> str | None:
    """The server URL saved in ``path`` (None when absent or unreadable: it goes anyway)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    url = data.get("base_url") if isinstance(data, dict) else None
    return url if isinstance(url, str) else None


@click.command()
@command_options
def logout(as_json: bool, quiet: bool) -> None:
    """Forget the saved server and key; commands go back to the embedded store."""
    from cairn.settings import Settings, credentials_path, server_source

    path = credentials_path()
    saved = _saved_url(path)
    existed = path.exists()
    path.unlink(missing_ok=True)
    if server_source() is None:  # the embedded store: Settings needs no server to load
        mode, now = "embedded", f"commands now use the embedded store {Settings.load().cairn_dir}"
    else:
        mode, now = "server", "CAIRN_BASE_URL is still set, so commands use its server"
    data: dict[str, Any] = {
        "logged_out": existed,
        "base_url": saved,
        "credentials": str(path),
        "mode": mode,
    }
    said = f"logged out of {saved or 'the server'}" if existed else "not logged in"
    emit(as_json, data, lambda: click.echo(f"{said}; {now}"))
