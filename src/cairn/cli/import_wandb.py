"""``cairn import wandb``: copy a W&B project's artifacts into Cairn (docs/import-wandb.md).

The source is a W&B server (``--base-url``, ``--api-key`` or
``CAIRN_IMPORT_WANDB_API_KEY``; never ``WANDB_API_KEY``), read by wandb's own public API
in a subprocess (``cairn.wandb_import``); the destination is the store Cairn commands use
(the embedded store unless ``CAIRN_BASE_URL`` or ``cairn login`` name a server), or
``--to embedded|URL``. The copy is the replication engine's, as ``cairn sync`` does it:
versions in order with their manifests, aliases, tags, metadata, descriptions, TTLs,
created-at, lineage and registry links, only the blobs the destination lacks;
resumable, and a repeated import writes nothing.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from cairn.cli._common import command_options
from cairn.cli._errors import CliError

if TYPE_CHECKING:
    from cairn.settings import Settings


@click.group(name="import")
def import_group() -> None:
    """Copy artifacts from another system into Cairn."""


def _destination(to: str | None, to_api_key: str | None) -> Settings:
    """The destination's settings: the configured store, or ``--to``."""
    from cairn.settings import Settings

    if to is None:
        return Settings.load()
    if to == "embedded":
        return Settings.load().replace(base_url=None, api_key=None)
    if not to.startswith(("http://", "https://")):
        raise CliError(f"--to takes 'embedded' or a server URL, not {to!r}")
    return Settings.load({"base_url": to, "api_key": to_api_key})


def _wandb_python(given: str | None) -> str:
    """The python that runs the exporter: ``--wandb-python``, or this one if it has wandb.

    Raises MissingExtraError (this python has no wandb and none was given)."""
    import importlib.util

    from cairn.errors import MissingExtraError
    from cairn.wandb_import.runner import INSTALL_HINT

    if given is not None:
        return given
    if importlib.util.find_spec("wandb") is None:
        raise MissingExtraError(
            f"cairn import wandb needs the Python module wandb, which is not installed: "
            f"{INSTALL_HINT} (or --wandb-python PATH: a python that has it)"
        )
    return sys.executable


@import_group.command(name="wandb")
@click.argument("names", nargs=-1)
@click.option("--base-url", required=True, help="The W&B server, e.g. https://api.wandb.ai.")
@click.option(
    "--api-key",
    help="A W&B API key for it (default: CAIRN_IMPORT_WANDB_API_KEY; never WANDB_API_KEY).",
)
@click.option("--entity", required=True, help="The W&B entity (user or team) of the project.")
@click.option("--project", required=True, help="The W&B project to copy.")
@click.option("--type", "types", multiple=True, help="Only collections of this type (repeatable).")
@click.option("--to", help="The destination: 'embedded' or a Cairn server URL (default: the "
              "store Cairn commands use).")  # fmt: skip
@click.option("--to-api-key", help="A Cairn API key for a --to server (default: CAIRN_API_KEY).")
@click.option("--to-entity", help="The Cairn entity to copy into (default: the W&B entity's name).")
@click.option("--force-aliases", is_flag=True, help="Move aliases another version holds here.")
@click.option("--wandb-python", help="A python that has wandb (default: this one).")
@click.option("--dry-run", is_flag=True, help="Read and report; write nothing.")
@command_options
def wandb(
    names: tuple[str, ...],
    base_url: str,
    api_key: str | None,
    entity: str,
    project: str,
    types: tuple[str, ...],
    to: str | None,
    to_api_key: str | None,
    to_entity: str | None,
    force_aliases: bool,
    wandb_python: str | None,
    dry_run: bool,
    as_json: bool,
    quiet: bool,
) -> None:
    """Copy the artifacts of a W&B project (all collections, or NAMES) into Cairn."""
    import cairn  # noqa: F401 - registers the backends
    from cairn.cli._store import say_store
    from cairn.cli.sync import report_copy
    from cairn.progress import default_callback
    from cairn.protocol import open_backend
    from cairn.replication.engine import Engine, Options
    from cairn.settings import wandb_import_api_key
    from cairn.wandb_import.runner import WandbProject
    from cairn.wandb_import.source import WandbSource

    key = api_key or wandb_import_api_key()
    if not key:
        raise CliError("cairn import wandb needs --api-key or CAIRN_IMPORT_WANDB_API_KEY")
    project_ = WandbProject(base_url, key, entity, project, _wandb_python(wandb_python))
    settings = _destination(to, to_api_key)
    say_store(settings, as_json, quiet)
    progress = default_callback(quiet or as_json or settings.silent)
    options = Options(
        entity_map={entity: to_entity} if to_entity else {},
        force_aliases=force_aliases,
        dry_run=dry_run,
    )
    dest = open_backend(settings)
    try:
        with WandbSource(project_, names, types, progress) as source:
            summary = Engine(source, dest, options, progress).run()
            data: dict[str, Any] = {
                "source": f"{base_url.rstrip('/')}/{entity}/{project}",
                "wandb": source.wandb_version,
                **summary.to_json(),
            }
    finally:
        dest.close()
    report_copy(summary, "imported", as_json, quiet, data)
