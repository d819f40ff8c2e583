"""``cairn show REF``: one version in full: facts, metadata, files, and its collection."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from cairn.cli._common import (
    command_options,
    emit,
    fetch_version,
    human_size,
    open_api,
    plural,
    version_dict,
)

if TYPE_CHECKING:
    from cairn.sdk._upward import RunHandle

MAX_FILES_SHOWN = 50


def _run_dict(run: RunHandle[Any]) -> dict[str, Any]:
    return {"id": run.id, "path": f"{run.entity}/{run.project}/{run.id}", "job_type": run.job_type}


def _run_text(run: dict[str, Any]) -> str:
    return f"{run['path']} ({run['job_type'] or 'no job type'})"


@click.command()
@click.argument("ref")
@click.option(
    "--all-files", is_flag=True, help=f"List every file (default: first {MAX_FILES_SHOWN})."
)
@command_options
def show(ref: str, all_files: bool, as_json: bool, quiet: bool) -> None:
    """Show REF: versions, aliases, tags, metadata, size, files and lineage."""
    art = fetch_version(open_api(as_json, quiet), ref)
    data: dict[str, Any] = version_dict(art)
    entries = sorted(art.manifest.entries.values(), key=lambda e: e.path)
    shown = entries if all_files or as_json else entries[:MAX_FILES_SHOWN]
    data["files"] = [
        {"path": e.path, "size": e.size, "digest": e.digest, "ref": e.ref} for e in shown
    ]
    logged_by = art.logged_by()
    data["lineage"] = {
        "logged_by": None if logged_by is None else _run_dict(logged_by),
        "used_by": [_run_dict(run) for run in art.used_by()],
    }
    data["versions"] = [
        {"version": v.version, "aliases": list(v.aliases), "created_at": v.created_at}
        for v in art.collection.artifacts()
    ]

    def human() -> None:
        click.echo(f"{data['name']}  ({data['type']}, {data['state'].lower()})")
        click.echo(f"  id           {data['id']}")
        click.echo(f"  digest       {data['digest']}")
        click.echo(f"  size         {human_size(art.size)} in {plural(art.file_count, 'file')}")
        click.echo(f"  aliases      {', '.join(data['aliases']) or '-'}")
        click.echo(f"  tags         {', '.join(data['tags']) or '-'}")
        click.echo(f"  created      {data['created_at']}")
        if data["description"]:
            click.echo(f"  description  {data['description']}")
        if data["metadata"]:
            click.echo(f"  metadata     {json.dumps(data['metadata'], sort_keys=True)}")
        click.echo("  versions")
        for v in data["versions"]:
            click.echo(f"    {v['version']:<6} {v['created_at']}  {','.join(v['aliases']) or '-'}")
        lineage = data["lineage"]
        maker = lineage["logged_by"]
        click.echo(f"  logged by    {_run_text(maker) if maker else '-'}")
        users = ", ".join(_run_text(run) for run in lineage["used_by"])
        click.echo(f"  used by      {users or '-'}")
        click.echo("  files")
        for f in data["files"]:
            where = f"  -> {f['ref']}" if f["ref"] else ""
            size = "-" if f["size"] is None else human_size(f["size"])
            click.echo(f"    {f['path']}  {size}{where}")
        if len(shown) < len(entries):
            click.echo(f"    ... {len(entries) - len(shown)} more (--all-files)")

    emit(as_json, data, human)
