"""``cairn fsck``: check that every version's manifest and blobs are present (and intact).

It checks the embedded store only: while commands use a server it refuses, saying how to
go back (a server's store is checked by ``cairn server fsck`` on the server). Problems are
a finding, not an error: they are listed (``--json``: the report, ``"ok": false``) and the
exit status is 1.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from cairn.cli._common import command_options, emit
from cairn.cli._store import require_embedded, say_store

if TYPE_CHECKING:
    from cairn.service.fsck import FsckReport


@click.command()
@click.option("--read-data", is_flag=True, help="Re-hash every blob and compare with its digest.")
@command_options
def fsck(read_data: bool, as_json: bool, quiet: bool) -> None:
    """Check the embedded store; exit 1 and name each problem when it is not clean."""
    from cairn.service.fsck import check_store
    from cairn.settings import Settings

    settings = Settings.load()
    require_embedded("cairn fsck", settings, "cairn server fsck --db URL --store URL")
    say_store(settings, as_json, quiet)
    show_report(check_store(settings, read_data=read_data), as_json)


def show_report(report: FsckReport, as_json: bool) -> None:
    """Print what a check found (``cairn fsck``, ``cairn server fsck``): each problem and a
    summary, or one JSON document; exit 1 when there is a problem."""
    data = {
        "ok": report.ok,
        "problems": report.problems,
        "versions_checked": report.versions_checked,
        "entries_checked": report.entries_checked,
        "blobs_verified": report.blobs_verified,
    }

    def human() -> None:
        for problem in report.problems:
            click.echo(f"problem: {problem}")
        click.echo(report.summary())

    emit(as_json, data, human)
    if not report.ok:
        raise SystemExit(1)
