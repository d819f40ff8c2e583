"""``cairn status``: which store commands use now, as whom, and where files go.

``embedded store /home/me/.cairn`` by default; ``server URL as USER`` after ``cairn
login`` or with ``CAIRN_BASE_URL`` (saying which). ``--quiet`` prints that line only.
"""

from __future__ import annotations

from typing import Any

import click

from cairn.cli._common import command_options, emit
from cairn.cli._store import store_in_use


@click.command()
@command_options
def status(as_json: bool, quiet: bool) -> None:
    """Say which store commands use (embedded, or a server and your user there)."""
    from cairn.settings import Settings

    settings = Settings.load()
    store = store_in_use(settings)
    data: dict[str, Any] = {
        **store.as_dict(),
        "entity": settings.entity,
        "project": settings.project,
        "cache_dir": str(settings.cache_dir),
        "artifact_dir": str(settings.artifact_dir),
    }

    def human() -> None:
        line = store.describe()
        if store.source == "CAIRN_BASE_URL":
            line += " (from CAIRN_BASE_URL)"
        elif store.source is not None:
            line += f" (cairn login, saved in {store.source}; `cairn logout` to leave)"
        click.echo(line)
        if quiet:
            return
        click.echo(f"defaults      {settings.entity}/{settings.project}")
        click.echo(f"downloads     {settings.artifact_dir}")
        click.echo(f"client cache  {settings.cache_dir}")

    emit(as_json, data, human)
