"""``cairn link REF TARGET``: link a version into a collection or a registry.

Calls ``Artifact.link(target, aliases)``: TARGET is ``[entity/][project/]collection[:alias]``
or a registry path ``[organization/]wandb-registry-<name>/collection``. A version number
(``v3``) is refused as an alias; the link gets the next number of TARGET by itself.
"""

from __future__ import annotations

import click

from cairn.cli._aliases import refuse_version_numbers
from cairn.cli._common import command_options, emit, fetch_version, open_api, version_dict


@click.command()
@click.argument("ref")
@click.argument("target")
@click.option("--alias", "-a", "aliases", multiple=True, help="Alias in the target (repeatable).")
@command_options
def link(ref: str, target: str, aliases: tuple[str, ...], as_json: bool, quiet: bool) -> None:
    """Link REF into the collection TARGET (e.g. a registry: wandb-registry-model/clf)."""
    refuse_version_numbers(aliases)
    art = fetch_version(open_api(as_json, quiet), ref)
    linked = art.link(target, list(aliases) or None)
    emit(
        as_json,
        version_dict(linked),
        lambda: click.echo(
            f"linked {art.source_qualified_name} as {linked.qualified_name}  "
            f"aliases={','.join(linked.aliases) or '-'}"
        ),
    )
