"""The ``cairn`` command: the only layer that prints to stdout.

Expected errors (a Cairn error, bad input) print one line on stderr and exit 1, never a
traceback (see ``cairn.cli._errors``).
"""

from __future__ import annotations

import click

from cairn.cli.demo import demo
from cairn.cli.fsck import fsck


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cairn")
def cli() -> None:
    """Cairn: version datasets and models with the W&B Artifacts API, on your own storage."""


cli.add_command(demo)
cli.add_command(fsck)


def main() -> None:
    """Console-script entry point."""
    cli()
