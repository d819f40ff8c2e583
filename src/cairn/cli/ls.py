"""``cairn ls [[ENTITY/]PROJECT]``: the projects of the store, or the collections of one.

With no argument it lists every project the caller may read (registries are the projects
``wandb-registry-*`` of the organization's entity), each with its number of versions; with
a project, that project's collections by type.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from cairn.cli._common import command_options, emit, open_api, plural

if TYPE_CHECKING:
    from cairn.sdk.api import Api

MAX_PROJECTS = 500  # the most one listing returns (Backend.list_projects)


def _projects(as_json: bool, quiet: bool) -> None:
    import cairn  # noqa: F401  (registers the backends)
    from cairn.cli._store import say_store
    from cairn.sdk.backend_cache import backend_for
    from cairn.settings import Settings

    settings = Settings.load()
    say_store(settings, as_json, quiet)
    found = backend_for(settings).list_projects(None, MAX_PROJECTS)
    rows: list[dict[str, Any]] = [
        {
            "name": f"{p.entity}/{p.name}",
            "entity": p.entity,
            "project": p.name,
            "versions": p.version_count,
            "created_at": p.created_at,
        }
        for p in found
    ]

    def human() -> None:
        if not rows:
            click.echo("no projects yet (`cairn put PATH` logs a first version)")
        for row in rows:
            click.echo(f"{row['name']}  {plural(row['versions'], 'version')}")
        if len(rows) == MAX_PROJECTS:
            click.echo(f"(the first {MAX_PROJECTS} projects; name one to list its collections)")

    emit(as_json, rows, human)


def _collections(api: Api, path: str, type_name: str | None, as_json: bool) -> None:
    types = [type_name] if type_name else [t.name for t in api.artifact_types(path)]
    rows: list[dict[str, Any]] = []
    for name in types:
        for collection in api.artifact_collections(path, name):
            rows.append(
                {
                    "name": f"{collection.entity}/{collection.project}/{collection.name}",
                    "type": collection.type,
                    "versions": len(collection.artifacts()),
                    "aliases": list(collection.aliases),
                    "created_at": collection.created_at,
                }
            )

    def human() -> None:
        if not rows:
            click.echo(f"no artifacts in {path}")
        for row in rows:
            click.echo(
                f"{row['name']}  {row['type']}  {plural(row['versions'], 'version')}  "
                f"aliases={','.join(row['aliases']) or '-'}"
            )

    emit(as_json, rows, human)


@click.command(name="ls")
@click.argument("project_path", required=False, metavar="[[ENTITY/]PROJECT]")
@click.option("--type", "-t", "type_name", help="Only collections of this type.")
@command_options
def ls(project_path: str | None, type_name: str | None, as_json: bool, quiet: bool) -> None:
    """List the projects with their version counts, or the collections of PROJECT."""
    if project_path:
        _collections(open_api(as_json, quiet), project_path, type_name, as_json)
    elif type_name:
        raise click.UsageError("--type lists the collections of one project: name the PROJECT")
    else:
        _projects(as_json, quiet)
