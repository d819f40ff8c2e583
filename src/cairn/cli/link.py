"""``cairn link REF TARGET``: link a version into a collection or a registry.

Calls ``Artifact.link(target, aliases)``: TARGET is ``[entity/][project/]collection[:alias]``
or a registry path ``[organization/]wandb-registry-<name>/collection``.
"""

from __future__ import annotations

import warnings

import click

from cairn.cli._common import command_options, emit, open_api, version_dict


@click.command()
@click.argument("ref")
@click.argument("target")
@click.option("--alias", "-a", "aliases", multiple=True, help="Alias in the target (repeatable).")
@command_options
def link(ref: str, target: str, aliases: tuple[str, ...], as_json: bool, quiet: bool) -> None:
    """Link REF into the collection TARGET (e.g. a registry: wandb-registry-model/clf)."""
    art = open_api().artifact(ref)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        linked = art.link(target, list(aliases) or None)
    for warning in caught:
        click.echo(f"warning: {warning.message}", err=True)
    emit(
        as_json,
        version_dict(linked),
        lambda: click.echo(
            f"linked {art.source_qualified_name} as {linked.qualified_name}  "
            f"aliases={','.join(linked.aliases) or '-'}"
        ),
    )
