"""Alias and tag edits shared by ``cairn alias`` and ``cairn tag``.

Each edit is ``Artifact.save()`` on the version: one call that sends the alias or tag diff.
Only what was really changed is reported: an alias or tag the version already carries is
said to be there, and an alias the store keeps for itself is refused (``_aliases``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from cairn.cli._aliases import LATEST, refuse_latest_unless_newest, refuse_version_numbers
from cairn.cli._common import emit, fetch_version, open_api, version_dict

if TYPE_CHECKING:
    from cairn.sdk.artifact import Artifact

NOUNS = {"aliases": "alias", "tags": "tag"}


def edit_version(
    ref: str, field: str, value: str, add: bool, as_json: bool, quiet: bool
) -> tuple[Artifact, bool]:
    """Add or remove ``value`` in the version's ``aliases`` or ``tags`` and save; return the
    version and whether anything changed (False: it already carried ``value``).

    Raises:
        ValueError: an invalid alias or tag; a version number as an alias; ``latest`` on a
            version that is not the newest; removing one the version does not carry; an
            alias the store did not keep.
        CommError: REF does not name a version.
    """
    noun = NOUNS[field]
    if add and field == "aliases":
        refuse_version_numbers([value])
    art = fetch_version(open_api(as_json, quiet), ref)
    current: list[str] = list(getattr(art, field))
    if add and value in current:
        return art, False
    if add:
        if field == "aliases" and value == LATEST:
            refuse_latest_unless_newest(art, ref)
        current.append(value)
    elif value in current:
        current.remove(value)
    else:
        raise ValueError(f"{ref} has no {noun} {value!r}")
    setattr(art, field, current)
    art.save()
    if add and value not in getattr(art, field):
        raise ValueError(f"{noun} {value!r} was not added to {ref}: the store keeps it for itself")
    return art, True


def report(art: Artifact, changed: bool, as_json: bool, add: bool, field: str, value: str) -> None:
    """Print what the edit did (``changed`` False: the version already carried ``value``)."""
    noun = NOUNS[field]
    data = {**version_dict(art), "changed": changed}
    if not changed:
        said = f"{art.qualified_name} already has {noun} {value!r}"
    elif add:
        said = f"added {noun} {value!r} to {art.qualified_name}"
    else:
        said = f"removed {noun} {value!r} from {art.qualified_name}"
    emit(
        as_json,
        data,
        lambda: click.echo(
            f"{said}  aliases={','.join(art.aliases) or '-'}  tags={','.join(art.tags) or '-'}"
        ),
    )
