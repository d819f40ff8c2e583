"""``cairn tag add|rm REF TAG``: edit the tags of a logged version (shared by its links)."""

from __future__ import annotations

import click

from cairn.cli._common import command_options
from cairn.cli._edits import edit_version, report


@click.group()
def tag() -> None:
    """Add or remove a tag of a version."""


@tag.command(name="add")
@click.argument("ref")
@click.argument("name")
@command_options
def tag_add(ref: str, name: str, as_json: bool, quiet: bool) -> None:
    """Tag REF with NAME."""
    art, changed = edit_version(ref, "tags", name, True, as_json, quiet)
    report(art, changed, as_json, True, "tags", name)


@tag.command(name="rm")
@click.argument("ref")
@click.argument("name")
@command_options
def tag_rm(ref: str, name: str, as_json: bool, quiet: bool) -> None:
    """Remove the tag NAME from REF."""
    art, changed = edit_version(ref, "tags", name, False, as_json, quiet)
    report(art, changed, as_json, False, "tags", name)
