"""``cairn cache ls|cleanup``: the client cache under ``$CAIRN_CACHE_DIR`` and staging leftovers.

``cleanup`` brings the client cache down to ``--max-size`` (default: its cap,
``CAIRN_CACHE_MAX_BYTES``), least recently used first, and removes what crashed runs left
behind: temporary files older than the grace period in the cache's ``tmp/`` and in the
embedded store's ``blobs/tmp/``, and the staged copies of drafts never logged to a server
(``<cache>/staging``) untouched for a day (``cairn.storage.cache.staging_cleanup``). Files a
running download needs are never removed, and the embedded store's blobs are never
touched (they are the only copy).
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

import click

from cairn.cli._common import command_options, emit, human_size, plural
from cairn.settings import Settings, parse_size

if TYPE_CHECKING:
    from pathlib import Path


@click.group()
def cache() -> None:
    """Inspect and clean the client cache ($CAIRN_CACHE_DIR)."""


@cache.command(name="ls")
@click.option("--files", "list_files", is_flag=True, help="List every cached file, LRU first.")
@command_options
def cache_ls(list_files: bool, as_json: bool, quiet: bool) -> None:
    """Show the cache's size, cap and (with --files) its files, least recently used first."""
    from cairn.storage.cache.client_cache import ClientCache

    store = ClientCache.for_settings(Settings.load())
    files = store.files()
    data: dict[str, Any] = {
        "root": str(store.root),
        "max_bytes": store.max_bytes,
        "bytes": sum(f.size for f in files),
        "file_count": len(files),
        "files": [
            {"path": str(f.path.relative_to(store.root)), "size": f.size, "last_used": f.last_used}
            for f in files
        ],
    }

    def human() -> None:
        click.echo(
            f"cache {data['root']}: {plural(data['file_count'], 'file')}, "
            f"{human_size(data['bytes'])} "
            f"(cap {human_size(store.max_bytes)})"
        )
        if list_files:
            for f in data["files"]:
                used = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(f["last_used"]))
                click.echo(f"  {used}  {human_size(f['size']):>9}  {f['path']}")

    emit(as_json, data, human)


def _stale_store_tmp(settings: Settings, grace: float) -> tuple[Path, int, int]:
    """The embedded store's temporary directory and its files (count, bytes) past ``grace``."""
    tmp_dir = settings.cairn_dir / "blobs" / "tmp"
    count = size = 0
    if tmp_dir.is_dir():
        cutoff = time.time() - grace
        with os.scandir(tmp_dir) as entries:
            for entry in entries:
                st = entry.stat(follow_symlinks=False)
                if entry.is_file(follow_symlinks=False) and st.st_mtime < cutoff:
                    count += 1
                    size += st.st_size
    return tmp_dir, count, size


@cache.command(name="cleanup")
@click.option(
    "--max-size",
    help="Target size in decimal units (10GB, 500MB, 0); default: the cap.",
)
@click.option(
    "--grace-seconds",
    default=3600.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Keep temporary files younger than this (writers may still be using them).",
)
@click.option("--dry-run", is_flag=True, help="Print the plan, remove nothing.")
@command_options
def cache_cleanup(
    max_size: str | None, grace_seconds: float, dry_run: bool, as_json: bool, quiet: bool
) -> None:
    """Shrink the cache to --max-size (LRU first) and remove crashed runs' leftovers."""
    from cairn.remote.transfer import STAGING_DIR
    from cairn.storage.cache import staging_cleanup
    from cairn.storage.cache.client_cache import ClientCache
    from cairn.storage.local.blobs import LocalBlobStore

    target = parse_size(max_size) if max_size is not None else None
    settings = Settings.load()
    store = ClientCache.for_settings(settings)
    plan = store.plan_cleanup(target, tmp_grace_seconds=grace_seconds)
    tmp_dir, staged, staged_bytes = _stale_store_tmp(settings, grace_seconds)
    drafts_dir = settings.cache_dir / STAGING_DIR
    age = max(grace_seconds, staging_cleanup.STAGING_AGE_SECONDS)
    leftovers = staging_cleanup.abandoned(drafts_dir, age)
    freed = removed_staging = removed_drafts = 0
    if not dry_run:
        freed = plan.execute()
        removed_drafts = staging_cleanup.remove(leftovers)
        freed += leftovers.bytes
        if staged:
            blobs = LocalBlobStore(tmp_dir.parent)
            removed_staging = blobs.cleanup_tmp(grace_seconds)
            freed += staged_bytes
    reclaimed = plan.bytes + staged_bytes + leftovers.bytes if dry_run else freed
    data = {
        "dry_run": dry_run,
        "cache": str(plan.root),
        "target_bytes": plan.max_bytes,
        "evict_files": len(plan.evict),
        "stale_tmp_files": len(plan.stale_tmp),
        "staging_dir": str(tmp_dir),
        "staging_files": staged if dry_run else removed_staging,
        "draft_staging_dir": str(drafts_dir),
        "draft_staging_files": len(leftovers.paths) if dry_run else removed_drafts,
        "kept_bytes": plan.kept_bytes,
        "reclaimed_bytes": reclaimed,
    }

    def human() -> None:
        click.echo(plan.describe())
        click.echo(
            f"staging {tmp_dir}: {plural(staged, 'leftover file')} ({human_size(staged_bytes)})"
        )
        click.echo(
            f"drafts never logged {drafts_dir}: "
            f"{plural(len(leftovers.paths), 'staged file')} untouched for "
            f"{age / 3600:g} h ({human_size(leftovers.bytes)})"
        )
        verb = "Would reclaim" if dry_run else "Reclaimed"
        click.echo(f"{verb} {human_size(reclaimed)} of space")

    emit(as_json, data, human)
