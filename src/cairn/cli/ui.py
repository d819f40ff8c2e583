"""``cairn ui``: the web UI over the embedded store, for one person on this machine.

It serves the same pages as ``cairn server`` (``cairn.server.ui``) over ``$CAIRN_DIR``,
with no sign-in, so it listens on a loopback address only. By default it takes the host
and port of ``CAIRN_UI_URL`` (``http://127.0.0.1:8421``), where ``Artifact.url`` points.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

import click

from cairn.cli._errors import expected_errors


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
@expected_errors
def ui(host: str | None, port: int | None) -> None:
    """Browse and curate the artifacts of the embedded store in a web browser."""
    from cairn.settings import Settings

    settings = Settings.load()
    address = urlsplit(settings.ui_url)
    host = host or address.hostname or "127.0.0.1"
    port = port or address.port or 8421
    if not _is_loopback(host):
        raise click.UsageError(
            f"cairn ui has no sign-in, so it listens on loopback only (got --host {host}); "
            "share artifacts with `cairn server` instead"
        )
    import uvicorn

    from cairn.server.ui import create_ui_app
    from cairn.service.store import open_store

    store = open_store(settings)
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"Cairn UI for {settings.cairn_dir} at http://{shown}:{port}/", err=True)
    try:
        uvicorn.run(create_ui_app(store), host=host, port=port, log_level="warning")
    finally:
        store.close()
