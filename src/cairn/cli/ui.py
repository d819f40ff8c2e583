"""``cairn ui``: the web UI over the embedded store, for one person on this machine.

It serves the same pages as ``cairn server`` (``cairn.server.ui``) over ``$CAIRN_DIR``,
with no sign-in, so it listens on a loopback address only. By default it takes the host
and port of ``CAIRN_UI_URL`` (``http://127.0.0.1:8421``), where ``Artifact.url`` points.
It needs the ``ui`` extra (``pip install 'cairn[ui]'``); without it, one line says so.
While commands use a server (which serves its own UI) it refuses, saying how to go back.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

import click

from cairn.cli._errors import expected_errors
from cairn.cli._extras import needs_extra
from cairn.cli._store import require_embedded


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@click.command()
@click.option("--host", help="Loopback address to listen on (default: CAIRN_UI_URL's host).")
@click.option("--port", type=int, help="Port (default: CAIRN_UI_URL's port, 8421).")
@click.option("--quiet", "-q", is_flag=True, help="Do not print the UI's address.")
@expected_errors
def ui(host: str | None, port: int | None, quiet: bool) -> None:
    """Browse and curate the artifacts of the embedded store in a web browser."""
    from cairn.settings import Settings

    settings = Settings.load()
    require_embedded("cairn ui", settings)
    address = urlsplit(settings.ui_url)
    host = host or address.hostname or "127.0.0.1"
    port = port or address.port or 8421
    if not _is_loopback(host):
        raise click.UsageError(
            f"cairn ui has no sign-in, so it listens on loopback only (got --host {host}); "
            "share artifacts with `cairn server` instead"
        )
    from cairn.service.resources import open_store

    store = open_store(settings)
    try:
        with needs_extra("cairn ui", "ui"):
            import uvicorn

            from cairn.server.ui import create_ui_app

            app = create_ui_app(store)
        shown = f"[{host}]" if ":" in host else host
        if not quiet:
            click.echo(
                f"Cairn UI for the embedded store {settings.cairn_dir} at http://{shown}:{port}/",
                err=True,
            )
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        store.close()
