"""The ``cairn`` command: the only layer that prints to stdout.

Expected errors (a Cairn error, bad input) print one line on stderr and exit 1, never a
traceback (see ``cairn.cli._errors``). One module per command group; each command has
``--help``, ``--json`` and ``--quiet``. Shell completion is click's own: e.g.
``eval "$(_CAIRN_COMPLETE=bash_source cairn)"`` (``zsh_source``, ``fish_source``).
"""

from __future__ import annotations

import click

from cairn.cli.admin import admin
from cairn.cli.alias import alias
from cairn.cli.cache import cache
from cairn.cli.delete import delete
from cairn.cli.demo import demo
from cairn.cli.fsck import fsck
from cairn.cli.gc import gc
from cairn.cli.get import get
from cairn.cli.link import link
from cairn.cli.login import login
from cairn.cli.ls import ls
from cairn.cli.put import put
from cairn.cli.server import server
from cairn.cli.show import show
from cairn.cli.tag import tag
from cairn.cli.ui import ui
from cairn.cli.verify import verify


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cairn")
def cli() -> None:
    """Cairn: version datasets and models with the W&B Artifacts API, on your own storage."""


for command in (demo, fsck, put, get, ls, show, verify, alias, tag, link, delete, cache, gc):
    cli.add_command(command)
cli.add_command(server)
cli.add_command(admin)
cli.add_command(login)
cli.add_command(ui)


def main() -> None:
    """Console-script entry point."""
    cli()
