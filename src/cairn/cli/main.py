"""The ``cairn`` command: the only layer that prints to stdout.

Expected errors (a Cairn error, bad input, a bad option) print one line on stderr and exit
non-zero, never a traceback (``cairn.cli._errors``); with ``--json`` the error is also a
JSON document on stdout. Warnings are ``note:`` lines (``cairn.cli._notes``). A closed
stdout (``cairn show REF | head -3``) ends the command quietly (status 1), as Unix tools
do. One module per command group; each command that prints a result has ``--help``,
``--json`` and ``--quiet``. Shell completion is click's own: e.g.
``eval "$(_CAIRN_COMPLETE=bash_source cairn)"`` (``zsh_source``, ``fish_source``).
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, NoReturn

import click

from cairn.cli._errors import CliError, report
from cairn.cli._notes import show_warnings_as_notes
from cairn.cli.admin import admin
from cairn.cli.alias import alias
from cairn.cli.automation import automation, webhook
from cairn.cli.cache import cache
from cairn.cli.delete import delete
from cairn.cli.demo import demo
from cairn.cli.fsck import fsck
from cairn.cli.gc import gc
from cairn.cli.get import get
from cairn.cli.import_wandb import import_group
from cairn.cli.link import link
from cairn.cli.login import login
from cairn.cli.logout import logout
from cairn.cli.ls import ls
from cairn.cli.put import put
from cairn.cli.server import server
from cairn.cli.server_maintenance import server_gc  # noqa: F401 (registers sweep, gc, fsck)
from cairn.cli.show import show
from cairn.cli.status import status
from cairn.cli.sync import mirror, sync
from cairn.cli.tag import tag
from cairn.cli.ui import ui
from cairn.cli.verify import verify

if TYPE_CHECKING:
    from collections.abc import Sequence


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cairn")
def cli() -> None:
    """Cairn: version datasets and models with the W&B Artifacts API, on your own storage."""


for command in (demo, fsck, put, get, ls, show, verify, alias, tag, link, delete, cache, gc):
    cli.add_command(command)
for command in (status, login, logout, server, admin, ui, automation, sync, mirror):
    cli.add_command(command)
cli.add_command(import_group)
admin.add_command(webhook)


def _wants_json(args: Sequence[str]) -> bool:
    """Whether ``--json`` is among the options (before a ``--``)."""
    options = args[: list(args).index("--")] if "--" in args else args
    return "--json" in options


def _usage_error(exc: click.ClickException, args: Sequence[str]) -> None:
    """A bad command line as one line, pointing at the command's ``--help``."""
    message = exc.format_message()
    ctx = getattr(exc, "ctx", None)
    if ctx is not None:
        message += f" (see '{ctx.command_path} --help')"
    report(message, "UsageError", {}, _wants_json(args))


def _exit_on_closed_pipe() -> NoReturn:
    """The reader of stdout went away: stop without a word, as Unix tools do, with status 1
    (as click does for a pipe that closes while a command runs).

    stdout is pointed at /dev/null so the interpreter's final flush cannot fail again.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(1)


def _run(args: Sequence[str]) -> int:
    """Run the command line ``args``; return the exit status (errors reported)."""
    try:
        code = cli.main(args=list(args), standalone_mode=False)
    except CliError as exc:
        exc.show()
        return exc.exit_code
    except click.ClickException as exc:
        _usage_error(exc, args)
        return exc.exit_code
    except click.Abort:
        click.echo("Aborted!", err=True)
        return 1
    return code if isinstance(code, int) else 0


def main() -> None:
    """Console-script entry point."""
    show_warnings_as_notes()
    try:
        code = _run(sys.argv[1:])
    except BrokenPipeError:
        _exit_on_closed_pipe()
    sys.exit(code)
