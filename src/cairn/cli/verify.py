"""``cairn verify REF``: check a downloaded copy byte for byte (``Artifact.verify``)."""

from __future__ import annotations

import click

from cairn.cli._common import command_options, emit, fetch_version, open_api


@click.command()
@click.argument("ref")
@click.option("--root", "-r", type=click.Path(), help="Directory (default: ./artifacts/NAME:vN).")
@command_options
def verify(ref: str, root: str | None, as_json: bool, quiet: bool) -> None:
    """Check that ROOT holds exactly REF's files with their digests; exit 1 naming a problem."""
    from cairn.settings import Settings

    art = fetch_version(open_api(as_json, quiet), ref)
    where = root or str(Settings.load().artifact_dir / art.source_name)
    art.verify(where)
    emit(
        as_json,
        {"name": art.qualified_name, "root": where, "ok": True},
        lambda: click.echo(f"verified {art.qualified_name} in {where}: every file matches"),
    )
