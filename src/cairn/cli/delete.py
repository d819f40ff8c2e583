"""``cairn delete REF``: soft-delete a version (``Artifact.delete``); ``cairn gc`` frees its bytes.

On a link only the link is removed; the source version stays. A version that holds
aliases (in its own collection or in a collection it is linked into) is kept unless
``--delete-aliases`` is given: the store refuses, and the CLI words the refusal with REF
and the flag instead of the SDK's version id and keyword argument.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from cairn.cli._common import command_options, emit, fetch_version, open_api
from cairn.errors import CommError

if TYPE_CHECKING:
    from cairn.sdk.artifact import Artifact


def _held_aliases(art: Artifact) -> list[str]:
    """The aliases the version holds in its collection and in the collections it is
    linked into (what the store refuses to drop without ``--delete-aliases``)."""
    held = set(art.aliases)
    for linked in art.linked_artifacts:
        held.update(linked.aliases)
    return sorted(held)


@click.command()
@click.argument("ref")
@click.option(
    "--delete-aliases", is_flag=True, help="Remove the version's aliases too (else refused)."
)
@command_options
def delete(ref: str, delete_aliases: bool, as_json: bool, quiet: bool) -> None:
    """Delete the version REF (a link is only unlinked); `cairn gc` frees its bytes."""
    art = fetch_version(open_api(as_json, quiet), ref)
    name = art.qualified_name
    was_link = art.is_link
    try:
        art.delete(delete_aliases=delete_aliases)
    except CommError as exc:
        # The store's refusal is a plain CommError (not-found, auth, ... are subclasses).
        held = [] if delete_aliases or type(exc) is not CommError else _held_aliases(art)
        if not held:
            raise
        raise ValueError(
            f"Cannot delete {ref}: it has aliases ({', '.join(held)}); "
            "pass --delete-aliases to delete them too"
        ) from None
    emit(
        as_json,
        {"name": name, "deleted": not was_link, "unlinked": was_link},
        lambda: click.echo(f"{'unlinked' if was_link else 'deleted'} {name}"),
    )
