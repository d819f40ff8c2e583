"""``cairn server sweep|gc|fsck``: a server's maintenance, from cron or by hand.

Each opens the server's database (``--db``) and blob store (``--store``: a directory or
``s3://bucket/prefix``), the same options ``cairn server`` takes, while the app may keep
running: a sweep waits for one under way in an app process (PostgreSQL advisory lock), a
collection keeps commits out only while it deletes a batch. ``sweep`` deletes the versions
past their TTL and prints each (``--json``: the list); ``gc`` prints its plan, one line
per unreferenced blob and abandoned upload, then executes it unless ``--dry-run``;
``fsck`` lists problems and exits 1 when there are any. ``cairn gc`` and ``cairn fsck``
serve the embedded store.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import click

from cairn.cli._common import command_options, emit, human_size, plural
from cairn.cli._extras import needs_extra
from cairn.cli.server import server, server_config
from cairn.errors import StoreError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from cairn.progress import ProgressCallback
    from cairn.server.state import ServerState

_DB_HELP = "Database URL (default: SQLite under $CAIRN_DIR/server/)."
_STORE_HELP = "Blob directory (default: $CAIRN_DIR/server/blobs), or s3://bucket/prefix."


@contextlib.contextmanager
def _server_state(db: str | None, store: str | None) -> Iterator[ServerState]:
    """The server's database and store, as ``cairn server`` opens them; database and
    bucket failures become a ``StoreError`` (one line, not a traceback).

    Raises: StoreError, MissingExtraError, ValueError (a bad store URL).
    """
    with needs_extra("cairn server", "server"):
        from sqlalchemy.exc import SQLAlchemyError

        from cairn.server.state import ServerState
    config = server_config(db, store, b"")
    failures: tuple[type[Exception], ...] = (SQLAlchemyError,)
    with contextlib.suppress(ImportError):
        from botocore.exceptions import BotoCoreError, ClientError

        failures = (SQLAlchemyError, BotoCoreError, ClientError)
    try:
        state = ServerState(config)
    except failures as exc:
        raise StoreError(f"Cannot open the server's database: {exc.__cause__ or exc}") from exc
    try:
        yield state
    except failures as exc:
        raise StoreError(f"The server's database or store failed: {exc}") from exc
    finally:
        state.close()


def _progress(quiet: bool, as_json: bool) -> ProgressCallback:
    """A progress bar on stderr when it is a terminal (a summary line otherwise), none
    with ``--quiet`` or ``--json``."""
    from cairn.progress import default_callback, silent

    return silent if quiet or as_json else default_callback(False)


@server.command()
@click.option("--db", help=_DB_HELP)
@click.option("--store", help=_STORE_HELP)
@command_options
def sweep(db: str | None, store: str | None, as_json: bool, quiet: bool) -> None:
    """Delete the versions whose TTL has passed, now; print each one deleted."""
    from cairn.service.ttl import sweep_expired

    with _server_state(db, store) as state:
        result = sweep_expired(state.store)

    def human() -> None:
        for name in result.deleted:
            click.echo(f"expired {name}")
        if not quiet:
            click.echo(f"{plural(len(result.deleted), 'expired version')} deleted")

    emit(as_json, {"deleted": result.deleted}, human)


@server.command("gc")
@click.option("--db", help=_DB_HELP)
@click.option("--store", help=_STORE_HELP)
@click.option("--dry-run", is_flag=True, help="Print the plan, delete nothing.")
@click.option(
    "--grace-seconds",
    default=3600.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Keep blobs younger than this (uploads under way may be about to commit them).",
)
@command_options
def server_gc(
    db: str | None,
    store: str | None,
    dry_run: bool,
    grace_seconds: float,
    as_json: bool,
    quiet: bool,
) -> None:
    """Delete the server store's unreferenced blobs and abandoned uploads."""
    from cairn.service.server_gc import plan_server_gc

    progress = _progress(quiet, as_json)
    with _server_state(db, store) as state:
        plan = plan_server_gc(state.store, grace_seconds, progress)
        try:
            data: dict[str, object] = {
                "dry_run": dry_run,
                "planned_files": plan.files,
                "planned_bytes": plan.bytes,
                "planned_staging": len(plan.staging),
            }
            if as_json:
                data["blobs"] = [
                    {
                        "entity": b.entity,
                        "algorithm": b.algorithm,
                        "digest": b.hex_digest,
                        "size": b.size,
                    }
                    for b in plan.blobs()
                ]
                data["staging"] = [item.name for item in plan.staging]
            elif not quiet:
                for line in plan.describe():
                    click.echo(line)
            result = None if dry_run else plan.execute(progress)
        finally:
            plan.close()
    if result is not None:
        data.update(
            freed_files=result.files,
            freed_bytes=result.bytes,
            kept_files=result.kept,
            staging_removed=result.staging,
        )

    def human() -> None:
        if result is None:
            click.echo(
                f"dry run: would free {human_size(plan.bytes)} in {plural(plan.files, 'blob')} "
                f"and remove {plural(len(plan.staging), 'abandoned upload')}"
            )
        else:
            click.echo(
                f"freed {human_size(result.bytes)} in {plural(result.files, 'blob')} "
                f"({result.kept} kept: needed again; "
                f"{plural(result.staging, 'abandoned upload')} removed)"
            )

    emit(as_json, data, human)


@server.command("fsck")
@click.option("--db", help=_DB_HELP)
@click.option("--store", help=_STORE_HELP)
@click.option("--read-data", is_flag=True, help="Verify every blob's bytes (ETag or re-hash).")
@command_options
def server_fsck(
    db: str | None, store: str | None, read_data: bool, as_json: bool, quiet: bool
) -> None:
    """Check the server store; exit 1 and name each problem when it is not clean."""
    from cairn.cli.fsck import show_report
    from cairn.service.server_fsck import check_server_store

    with _server_state(db, store) as state:
        report = check_server_store(
            state.store,
            read_data=read_data,
            progress=_progress(quiet, as_json),
        )
    show_report(report, as_json)
