"""``cairn gc [--dry-run]``: free the embedded store's blobs that no live version needs.

Prints the plan of ``cairn.service.gc.plan_gc`` (one line per blob, then a summary), then
executes it unless ``--dry-run``. Blobs younger than the grace period are kept: a draft in
another process may be about to commit them. A server's store is collected by ``cairn
server gc`` on the server.
"""

from __future__ import annotations

import click

from cairn.cli._common import command_options, emit, human_size, plural
from cairn.cli._store import require_embedded, say_store


@click.command()
@click.option("--dry-run", is_flag=True, help="Print the plan, delete nothing.")
@click.option(
    "--grace-seconds",
    default=3600.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Keep blobs younger than this (drafts elsewhere may be about to commit them).",
)
@command_options
def gc(dry_run: bool, grace_seconds: float, as_json: bool, quiet: bool) -> None:
    """Delete unreferenced blobs of the embedded store (deleted versions free their bytes)."""
    from cairn.service.gc import plan_gc
    from cairn.settings import Settings

    settings = Settings.load()
    require_embedded("cairn gc", settings, "cairn server gc --db URL --store URL")
    say_store(settings, as_json, quiet)
    plan = plan_gc(settings, grace_seconds=grace_seconds)
    data: dict[str, object] = {
        "dry_run": dry_run,
        "planned_files": plan.files,
        "planned_bytes": plan.bytes,
        "blobs": [
            {"algorithm": b.algorithm, "digest": b.hex_digest, "size": b.size} for b in plan.blobs
        ],
    }
    if not as_json and not quiet:
        for line in plan.describe():
            click.echo(line)
    result = None if dry_run else plan.execute()
    if result is not None:
        data.update(
            freed_files=result.files,
            freed_bytes=result.bytes,
            kept_files=result.kept,
            tmp_files=result.tmp_files,
        )

    def human() -> None:
        if result is None:
            click.echo(
                f"dry run: would free {human_size(plan.bytes)} in {plural(plan.files, 'blob')}"
            )
        else:
            click.echo(
                f"freed {human_size(result.bytes)} in {plural(result.files, 'blob')} "
                f"({result.kept} kept: needed again; "
                f"{plural(result.tmp_files, 'temporary file')} removed)"
            )

    emit(as_json, data, human)
