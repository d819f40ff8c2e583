"""``cairn sync`` and ``cairn mirror``: copy versions between the embedded store and a server.

``cairn sync [[entity/]project[/name]]`` pushes what the embedded store (``$CAIRN_DIR``)
holds to the server you are logged in to (or ``--base-url``/``--api-key``); ``cairn
mirror <selection>`` copies a server's versions into the embedded store. Both run the
copy engine (``cairn.replication``): one progress bar per stage, a one-line summary (or
``--json``), resumable and idempotent (docs/sync.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from cairn.cli._common import command_options, emit
from cairn.cli._errors import CliError

if TYPE_CHECKING:
    from cairn.protocol import Backend
    from cairn.replication.engine import Summary
    from cairn.replication.source import Selection
    from cairn.settings import Settings


def _entity_map(pairs: tuple[str, ...]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for pair in pairs:
        local, sep, team = pair.partition("=")
        if not sep or not local or not team:
            raise CliError(f"Invalid --entity-map {pair!r}: expected LOCAL=TEAM")
        mapping[local] = team
    return mapping


def _settings(base_url: str | None, api_key: str | None) -> tuple[Settings, Settings]:
    """(embedded store, server) settings. Raises CliError when no server is configured."""
    from cairn.settings import Settings

    server = Settings.load({"base_url": base_url, "api_key": api_key})
    if server.base_url is None:
        raise CliError("No server to copy to or from: log in with 'cairn login' or pass --base-url")
    return server.replace(base_url=None, api_key=None), server


def _open(settings: Settings) -> Backend:
    import cairn.connect  # noqa: F401 - registers the backends
    from cairn.protocol import open_backend

    return open_backend(settings)


def _selection(text: str | None) -> Selection:
    """Raises ValueError for a malformed selection (before anything is opened)."""
    from cairn.replication.source import Selection

    return Selection.parse(text)


def _run(source: Backend, dest: Backend, chosen: Selection, options: dict[str, Any]) -> Summary:
    from cairn.progress import default_callback
    from cairn.replication.engine import Engine, Options
    from cairn.replication.source import BackendSource

    progress = default_callback(dest.settings.silent or source.settings.silent)
    engine = Engine(BackendSource(source, chosen), dest, Options(**options), progress)
    return engine.run()


def _copy(
    chosen: Selection,
    entity_map: tuple[str, ...],
    force_aliases: bool,
    dry_run: bool,
    base_url: str | None,
    api_key: str | None,
    *,
    to_server: bool,
) -> Summary:
    """Copy ``chosen`` from the embedded store to the server (``to_server``) or back.

    Raises CliError (a malformed --entity-map, no server configured) before anything is
    opened; the engine's errors (docs/sync.md) after.
    """
    options = {
        "entity_map": _entity_map(entity_map),
        "force_aliases": force_aliases,
        "dry_run": dry_run,
    }
    embedded, server = _settings(base_url, api_key)
    source = _open(embedded if to_server else server)
    try:
        dest = _open(server if to_server else embedded)
        try:
            return _run(source, dest, chosen, options)
        finally:
            dest.close()
    finally:
        source.close()


def report_copy(
    summary: Summary, verb: str, as_json: bool, quiet: bool, data: dict[str, Any] | None = None
) -> None:
    """Print a copy's conflicts, renumbered versions and summary line (``--quiet``: the
    line alone), or ``data`` (default: the summary's JSON) with ``--json``."""

    def human() -> None:
        if not quiet:
            for item in summary.conflicts:
                click.echo(
                    f"conflict: {item.collection}:{item.alias} is on v{item.held_by_index} "
                    "there (left; --force-aliases moves it)"
                )
            for moved in summary.renumbered:
                target = "appended" if moved.index is None else f"v{moved.index}"
                click.echo(f"renumbered: {moved.collection} v{moved.source_index} -> {target}")
        click.echo(summary.line(verb))

    emit(as_json, summary.to_json() if data is None else data, human)


_SELECTION = click.argument("selection", required=False, metavar="[[ENTITY/]PROJECT[/NAME]]")
_SERVER = [
    click.option("--base-url", help="The server (default: the one you are logged in to)."),
    click.option("--api-key", help="Your API key on that server."),
]


def _server_options(func: Any) -> Any:
    for option in reversed(_SERVER):
        func = option(func)
    return func


@click.command()
@_SELECTION
@click.option("--dry-run", is_flag=True, help="Report what would be copied; write nothing.")
@click.option(
    "--entity-map",
    multiple=True,
    metavar="LOCAL=TEAM",
    help="Copy the versions of entity LOCAL into TEAM on the server (repeatable).",
)
@click.option(
    "--force-aliases",
    is_flag=True,
    help="Move an alias the server has on another version (else reported as a conflict).",
)
@_server_options
@command_options
def sync(
    selection: str | None,
    dry_run: bool,
    entity_map: tuple[str, ...],
    force_aliases: bool,
    base_url: str | None,
    api_key: str | None,
    as_json: bool,
    quiet: bool,
) -> None:
    """Push versions from the embedded store to a server (resumable; a repeat is a no-op)."""
    chosen = _selection(selection)
    args = (entity_map, force_aliases, dry_run, base_url, api_key)
    report_copy(_copy(chosen, *args, to_server=True), "synced", as_json, quiet)


@click.command()
@click.argument("selection", metavar="[ENTITY/]PROJECT[/NAME]")
@click.option("--dry-run", is_flag=True, help="Report what would be copied; write nothing.")
@click.option(
    "--entity-map",
    multiple=True,
    metavar="TEAM=LOCAL",
    help="Copy the versions of entity TEAM into LOCAL in the embedded store (repeatable).",
)
@click.option(
    "--force-aliases",
    is_flag=True,
    help="Move an alias the embedded store has on another version.",
)
@_server_options
@command_options
def mirror(
    selection: str,
    dry_run: bool,
    entity_map: tuple[str, ...],
    force_aliases: bool,
    base_url: str | None,
    api_key: str | None,
    as_json: bool,
    quiet: bool,
) -> None:
    """Copy a server's versions into the embedded store (resumable; a repeat is a no-op)."""
    chosen = _selection(selection)
    args = (entity_map, force_aliases, dry_run, base_url, api_key)
    report_copy(_copy(chosen, *args, to_server=False), "mirrored", as_json, quiet)
