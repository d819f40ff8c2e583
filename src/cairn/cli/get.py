"""``cairn get REF``: download a version's files (``Artifact.download``)."""

from __future__ import annotations

import click

from cairn.cli._common import command_options, emit, fetch_version, open_api


@click.command()
@click.argument("ref")
@click.option("--root", "-r", type=click.Path(), help="Directory (default: ./artifacts/NAME:vN).")
@click.option("--prefix", help="Download only the paths starting with this prefix.")
@click.option(
    "--link",
    is_flag=True,
    help="Hard-link read-only files from the embedded store instead of copying "
    "(for readers that never write; a file that cannot be linked is a read-only copy).",
)
@command_options
def get(
    ref: str, root: str | None, prefix: str | None, link: bool, as_json: bool, quiet: bool
) -> None:
    """Download REF ([[ENTITY/]PROJECT/]NAME[:ALIAS|vN]) and print where it went."""
    art = fetch_version(open_api(as_json, quiet), ref)
    path = art.download(root=root, path_prefix=prefix, link=link)
    emit(
        as_json,
        {"name": art.qualified_name, "root": path, "file_count": art.file_count},
        lambda: click.echo(path if quiet else f"downloaded {art.qualified_name} to {path}"),
    )
