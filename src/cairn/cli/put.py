"""``cairn put PATH``: log a file, a directory or a reference as a new artifact version.

The version is logged by a short run of job type ``cairn-put`` in the target project, so
it has the same lineage as one logged from Python.
"""

from __future__ import annotations

import json
import os
from typing import Any

import click

from cairn.cli._aliases import refuse_version_numbers
from cairn.cli._common import command_options, emit, human_size, plural, version_dict
from cairn.cli._store import say_store


def _metadata(text: str | None) -> dict[str, Any] | None:
    """The ``--metadata`` JSON object. Raises ``ValueError`` when it is not one."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"--metadata is not valid JSON: {exc.msg}") from None
    if not isinstance(value, dict):
        raise ValueError("--metadata must be a JSON object")
    return value


@click.command()
@click.argument("path")
@click.option("--name", "-n", help="Artifact name (default: the base name of PATH).")
@click.option("--type", "-t", "type_", default="dataset", show_default=True, help="Type.")
@click.option("--alias", "-a", "aliases", multiple=True, help="Alias to add (repeatable).")
@click.option("--tag", "tags", multiple=True, help="Tag to add (repeatable).")
@click.option("--project", "-p", help="Project (default: CAIRN_PROJECT or uncategorized).")
@click.option("--entity", "-e", help="Entity (default: CAIRN_ENTITY or your user name).")
@click.option("--description", "-d", help="Free-text description.")
@click.option("--metadata", "-m", "metadata_json", help='Metadata as a JSON object, e.g. {"k": 1}.')
@command_options
def put(
    path: str,
    name: str | None,
    type_: str,
    aliases: tuple[str, ...],
    tags: tuple[str, ...],
    project: str | None,
    entity: str | None,
    description: str | None,
    metadata_json: str | None,
    as_json: bool,
    quiet: bool,
) -> None:
    """Log PATH (a file, a directory, or a URI such as file:// or s3://) as a new version."""
    import cairn
    from cairn.core.names import validate_aliases, validate_tags
    from cairn.settings import Settings

    metadata = _metadata(metadata_json)
    validate_aliases(list(aliases))
    refuse_version_numbers(aliases)
    validate_tags(list(tags))
    is_uri = "://" in path
    if not is_uri and not os.path.exists(path):
        raise FileNotFoundError(f"No such file or directory: '{path}'")
    say_store(Settings.load(), as_json, quiet)
    default_name = os.path.basename(path.rstrip("/")) or "artifact"
    art = cairn.Artifact(
        name or default_name, type=type_, description=description, metadata=metadata
    )
    if is_uri:
        art.add_reference(path)
    elif os.path.isdir(path):
        art.add_dir(path)
    else:
        art.add_file(path)
    with cairn.init(project=project, entity=entity, job_type="cairn-put") as run:
        run.log_artifact(art, aliases=list(aliases) or None, tags=list(tags) or None)
    emit(
        as_json,
        version_dict(art),
        lambda: click.echo(
            f"logged {art.qualified_name}  {plural(art.file_count, 'file')}  "
            f"{human_size(art.size)}  "
            f"digest={art.digest}  aliases={','.join(art.aliases) or '-'}"
        ),
    )
