"""What every ``cairn`` command shares: ``--json`` / ``--quiet``, output, and the Api.

Human-readable output goes to stdout; ``--json`` prints one JSON document instead, for
scripts. ``--quiet`` (or ``CAIRN_SILENT``) turns progress off and keeps stdout to the
essential line; progress is drawn on stderr by ``cairn.progress`` through the SDK.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from cairn.cli._errors import expected_errors

if TYPE_CHECKING:
    from cairn.sdk.api import Api
    from cairn.sdk.artifact import Artifact

F = TypeVar("F", bound=Callable[..., Any])


def command_options(func: F) -> F:
    """Add ``--json`` and ``--quiet`` to a command and turn expected errors into one line.

    The wrapped function receives ``as_json`` and ``quiet``.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("quiet"):
            # The CLI owns its process: this is how ``--quiet`` reaches Settings.load.
            os.environ["CAIRN_SILENT"] = "true"
        return func(*args, **kwargs)

    wrapped = expected_errors(wrapper)
    wrapped = click.option(
        "--quiet", "-q", is_flag=True, help="No progress output (as CAIRN_SILENT=true)."
    )(wrapped)
    wrapped = click.option(
        "--json", "as_json", is_flag=True, help="Print one JSON document for scripts."
    )(wrapped)
    return wrapped  # type: ignore[return-value]


def emit(as_json: bool, data: Any, human: Callable[[], None]) -> None:
    """Print ``data`` as JSON, or call ``human`` to print it for people."""
    if as_json:
        click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))
    else:
        human()


REF_FORMAT = "[[entity/]project/]name[:alias|vN], e.g. mnist:latest or team/mnist/mnist:v3"


def open_api(as_json: bool, quiet: bool) -> Api:
    """An ``Api`` on the configured store, after printing which store that is (unless
    ``as_json`` or ``quiet``).

    Raises:
        ValueError: an invalid default entity or project, or an unreadable credentials file.
        StoreError: the store directory cannot be used (named).
        CommError: the server cannot be reached or refuses the key.
    """
    import cairn
    from cairn.cli._store import say_store
    from cairn.settings import Settings

    say_store(Settings.load(), as_json, quiet)
    return cairn.Api()


def fetch_version(api: Api, ref: str) -> Artifact:
    """The version REF names.

    Raises:
        ValueError: REF is empty or malformed (the message says what a reference looks like).
        CommError: nothing has that name.
    """
    if not ref.strip():
        raise ValueError(f"REF is empty: name a version as {REF_FORMAT}")
    return api.artifact(ref)


def version_dict(art: Artifact) -> dict[str, Any]:
    """The facts of a logged version as plain JSON-able data."""
    return {
        "id": art.id,
        "name": art.qualified_name,
        "source_name": art.source_qualified_name,
        "version": art.version,
        "type": art.type,
        "digest": art.digest,
        "size": art.size,
        "file_count": art.file_count,
        "aliases": list(art.aliases),
        "tags": list(art.tags),
        "description": art.description,
        "metadata": art.metadata,
        "state": art.state,
        "created_at": art.created_at,
        "updated_at": art.updated_at,
        "ttl_seconds": None if art.ttl is None else int(art.ttl.total_seconds()),
        "is_link": art.is_link,
    }


def plural(count: int, noun: str) -> str:
    """``1 version``, ``2 versions``, ``0 files``."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def human_size(size: int) -> str:
    """``size`` in decimal units (``1.5 MB``)."""
    from cairn.progress import format_bytes

    return format_bytes(size)
