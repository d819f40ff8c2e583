"""``cairn fsck``: check that every version's manifest and blobs are present (and intact)."""

from __future__ import annotations

import click

from cairn.cli._errors import expected_errors


@click.command()
@click.option("--read-data", is_flag=True, help="Re-hash every blob and compare with its digest.")
@expected_errors
def fsck(read_data: bool) -> None:
    """Check the embedded store; exit 1 and name each problem when it is not clean."""
    from cairn.service.fsck import check_store
    from cairn.settings import Settings

    settings = Settings.load()
    report = check_store(settings, read_data=read_data)
    for problem in report.problems:
        click.echo(f"problem: {problem}")
    click.echo(report.summary())
    if not report.ok:
        raise SystemExit(1)
