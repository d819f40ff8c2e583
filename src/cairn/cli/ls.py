"""``cairn ls [ENTITY/PROJECT]``: the artifact collections of a project, by type."""

from __future__ import annotations

from typing import Any

import click

from cairn.cli._common import command_options, emit, open_api, plural


@click.command(name="ls")
@click.argument("project_path", required=False, metavar="[ENTITY/]PROJECT")
@click.option("--type", "-t", "type_name", help="Only collections of this type.")
@command_options
def ls(project_path: str | None, type_name: str | None, as_json: bool, quiet: bool) -> None:
    """List the collections of PROJECT (default: CAIRN_PROJECT) with their versions."""
    api = open_api(as_json, quiet)
    path = project_path or f"{api.default_entity}/{api.settings['project']}"
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
