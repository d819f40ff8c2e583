"""``cairn delete REF``: soft-delete a version (``Artifact.delete``); ``cairn gc`` frees its bytes.

On a link only the link is removed; the source version stays.
"""

from __future__ import annotations

import click

from cairn.cli._common import command_options, emit, open_api


@click.command()
@click.argument("ref")
@click.option(
    "--delete-aliases", is_flag=True, help="Remove the version's aliases too (else refused)."
)
@command_options
def delete(ref: str, delete_aliases: bool, as_json: bool, quiet: bool) -> None:
    """Delete the version REF (a link is only unlinked); `cairn gc` frees its bytes."""
    art = open_api().artifact(ref)
    name = art.qualified_name
    was_link = art.is_link
    art.delete(delete_aliases=delete_aliases)
    emit(
        as_json,
        {"name": name, "deleted": not was_link, "unlinked": was_link},
        lambda: click.echo(f"{'unlinked' if was_link else 'deleted'} {name}"),
    )
