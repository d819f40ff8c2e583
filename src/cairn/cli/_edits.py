"""Alias and tag edits shared by ``cairn alias`` and ``cairn tag``.

Each edit is ``Artifact.save()`` on the version: one call that sends the alias or tag diff.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from cairn.cli._common import emit, fetch_version, open_api, version_dict

if TYPE_CHECKING:
    from cairn.sdk.artifact import Artifact


def edit_version(
    ref: str, field: str, value: str, add: bool, as_json: bool, quiet: bool
) -> Artifact:
    """Add or remove ``value`` in the version's ``aliases`` or ``tags`` and save.

    Raises:
        ValueError: an invalid alias or tag, or removing one the version does not carry.
        CommError: REF does not name a version.
    """
    art = fetch_version(open_api(as_json, quiet), ref)
    current: list[str] = list(getattr(art, field))
    if add:
        if value not in current:
            current.append(value)
    elif value in current:
        current.remove(value)
    else:
        noun = {"aliases": "alias", "tags": "tag"}[field]
        raise ValueError(f"{art.qualified_name} has no {noun} {value!r}")
    setattr(art, field, current)
    art.save()
    return art


def report(art: Artifact, as_json: bool, verb: str, noun: str, value: str) -> None:
    emit(
        as_json,
        version_dict(art),
        lambda: click.echo(
            f"{verb} {noun} {value!r} {'to' if verb == 'added' else 'from'} "
            f"{art.qualified_name}  aliases={','.join(art.aliases) or '-'}  "
            f"tags={','.join(art.tags) or '-'}"
        ),
    )
