"""The values a version holds, checked against the rules of W&B and the store's limits.

Aliases, tags, a description and metadata reach a version by a commit, an edit, a link or
a draft of the wandb facade; each of those checks them here, before anything is written,
so one request cannot store more than ``store.limits`` allows on any path. The rule of
each single value is the pure function of ``cairn.core`` that Cairn's SDK also calls before
it sends anything (``core.names``, ``core.metadata``); this module adds the store's limits
and what a store does with the values (``latest`` and ``vN`` aliases are its own). Every
refusal is a ``ValueError`` that names the rule or the limit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import func, select

from cairn.core.metadata import validate_metadata
from cairn.core.names import (
    LATEST,
    is_version_alias,
    validate_description,
    validate_stored_aliases,
    validate_stored_tags,
)
from cairn.db.models import Alias, Tag

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.orm import Session

    from cairn.service.limits import Limits

T = TypeVar("T")


def bounded(values: Sequence[T], limit: int, what: str) -> list[T]:
    """``values`` as a list, if there are at most ``limit`` of them (``what`` names them
    in the error). Raises: ValueError naming the limit."""
    if len(values) > limit:
        raise ValueError(f"Too many {what}: {len(values)}, the limit is {limit}")
    return list(values)


def user_aliases(aliases: Sequence[str], limits: Limits) -> list[str]:
    """The aliases to store: validated, ``vN`` dropped silently, ``latest`` dropped (it is
    always moved anyway), duplicates removed keeping the first.

    Raises:
        ValueError: more than ``limits.max_aliases`` aliases; an alias contains ``/``,
            ``:`` or a control character, is empty or longer than 128 characters.
    """
    bounded(aliases, limits.max_aliases, "aliases")
    checked = validate_stored_aliases(list(aliases))
    return list(dict.fromkeys(a for a in checked if a != LATEST and not is_version_alias(a)))


def tags(values: Sequence[str], limits: Limits) -> list[str]:
    """Validated tags without duplicates.

    Raises: ValueError (more than ``limits.max_tags``, an invalid tag, or one longer than
    128 characters).
    """
    bounded(values, limits.max_tags, "tags")
    return validate_stored_tags(list(values))


def description(text: str | None, limits: Limits) -> str | None:
    """Raises: ValueError (over ``limits.max_description_bytes``, or a NUL character)."""
    return validate_description(text, limits.max_description_bytes)


def metadata(value: Any, limits: Limits) -> dict[str, Any]:
    """The metadata as plain JSON data.

    Raises: ValueError (over ``limits.max_metadata_bytes`` serialised, nested deeper than
    ``limits.max_metadata_depth``, wandb's rules, or not a JSON object: what a client
    sends is bad input, where the SDK's own caller gets wandb's TypeError).
    """
    try:
        return validate_metadata(
            value, max_depth=limits.max_metadata_depth, max_bytes=limits.max_metadata_bytes
        )
    except TypeError as error:
        raise ValueError(str(error)) from None


def check_totals(session: Session, collection_id: int, version_id: int, limits: Limits) -> None:
    """After an edit in ``session``: the version holds at most ``limits.max_aliases``
    aliases in the collection and ``limits.max_tags`` tags (the transaction is then rolled
    back by the caller's error, so nothing of the edit stays).

    Raises: ValueError naming the limit.
    """
    session.flush()
    held = session.scalar(
        select(func.count())
        .select_from(Alias)
        .where(Alias.collection_id == collection_id, Alias.version_id == version_id)
    )
    if (held or 0) > limits.max_aliases:
        raise ValueError(f"Too many aliases: {held}, the limit is {limits.max_aliases}")
    tagged = session.scalar(
        select(func.count()).select_from(Tag).where(Tag.version_id == version_id)
    )
    if (tagged or 0) > limits.max_tags:
        raise ValueError(f"Too many tags: {tagged}, the limit is {limits.max_tags}")
