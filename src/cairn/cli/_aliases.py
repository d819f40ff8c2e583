"""The aliases the store keeps for itself, refused before anything is changed.

The store numbers versions (``v0``, ``v1``, ...) and moves ``latest`` to the newest
version of a collection; it ignores either when a user sets it (the SDK warns). The CLI
refuses them instead, so it never reports an alias it did not add.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cairn.core.names import is_version_alias

if TYPE_CHECKING:
    from collections.abc import Iterable

    from cairn.sdk.artifact import Artifact

LATEST = "latest"


def refuse_version_numbers(aliases: Iterable[str]) -> None:
    """Raises ValueError for the first alias that is a version number (``v0``, ``v12``)."""
    for alias in aliases:
        if is_version_alias(alias):
            raise ValueError(
                f"{alias!r} is a version number, not an alias: Cairn numbers the versions of "
                "a collection itself"
            )


def refuse_latest_unless_newest(art: Artifact, ref: str) -> None:
    """Raises ValueError when ``art`` (named ``ref``) is not the newest version of its
    collection: ``latest`` always names the newest one. CommError: the collection is gone."""
    if LATEST in art.aliases:
        return
    newest = next(iter(art.collection.artifacts(per_page=1)), None)
    if newest is not None and newest.version != art.version:
        raise ValueError(
            f"'latest' always names the newest version of {art.collection.name} "
            f"({newest.version}), not {ref}"
        )
