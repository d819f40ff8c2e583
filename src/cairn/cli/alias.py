"""``cairn alias add|rm REF ALIAS``: edit the aliases of a logged version.

An alias is edited in the collection REF names (a link's aliases are the link's own);
adding an alias another version of the collection holds moves it here, as in W&B. Version
numbers (``v3``) are not aliases, and ``latest`` stays on the newest version: both are
refused.
"""

from __future__ import annotations

import click

from cairn.cli._common import command_options
from cairn.cli._edits import edit_version, report


@click.group()
def alias() -> None:
    """Add or remove an alias of a version (in the collection REF names)."""


@alias.command(name="add")
@click.argument("ref")
@click.argument("name")
@command_options
def alias_add(ref: str, name: str, as_json: bool, quiet: bool) -> None:
    """Give REF the alias NAME (moving it from another version of the collection)."""
    art, changed = edit_version(ref, "aliases", name, True, as_json, quiet)
    report(art, changed, as_json, True, "aliases", name)


@alias.command(name="rm")
@click.argument("ref")
@click.argument("name")
@command_options
def alias_rm(ref: str, name: str, as_json: bool, quiet: bool) -> None:
    """Remove the alias NAME from REF."""
    art, changed = edit_version(ref, "aliases", name, False, as_json, quiet)
    report(art, changed, as_json, False, "aliases", name)
