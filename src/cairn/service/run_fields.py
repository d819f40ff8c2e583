"""The values a run holds (config, summary, history rows), checked before they are stored.

Every path that writes them (creating a run, editing it, logging a history row) goes
through ``stored`` here, so no request can store a value the database cannot hold or one
larger than ``store.limits`` allows (the limits of a version's metadata: nesting depth
and JSON size, each config, summary and history row counted alone). Values are kept as
``cairn.core.run_values`` stores them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cairn.core.run_values import stored_size, to_stored

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from cairn.service.limits import Limits


def stored(values: Mapping[str, Any], what: str, limits: Limits) -> dict[str, Any]:
    """``values`` (a dict with string keys) as stored, ``what`` naming it in errors.

    Raises:
        TypeError: not a dict, a key that is not a string, a value that is not JSON.
        ValueError: NUL or a lone surrogate in a string; nesting deeper than
            ``limits.max_metadata_depth``; more than ``limits.max_metadata_bytes`` of JSON.
    """
    if not isinstance(values, dict):
        raise TypeError(f"A run's {what} must be a dict, not {type(values).__name__}")
    result: dict[str, Any] = to_stored(values, what, limits.max_metadata_depth)
    check_size(result, what, limits)
    return result


def check_size(values: dict[str, Any], what: str, limits: Limits) -> None:
    """Refuse stored ``values`` of more than ``limits.max_metadata_bytes`` as JSON (a
    config or summary after an edit merged new keys into it).

    Raises: ValueError naming ``what`` and the limit.
    """
    size = stored_size(values)
    if size > limits.max_metadata_bytes:
        raise ValueError(
            f"A run's {what} is larger than {limits.max_metadata_bytes} bytes as JSON "
            f"({size} bytes)"
        )


def keys(names: Sequence[str], what: str, limits: Limits) -> list[str]:
    """Key names to remove from a run's ``what``: strings, at most ``limits.max_page``.

    Raises: TypeError (a name that is not a string), ValueError (too many).
    """
    if len(names) > limits.max_page:
        raise ValueError(f"Too many {what} keys in one request: the limit is {limits.max_page}")
    if not all(isinstance(name, str) for name in names):
        raise TypeError(f"{what} keys must be strings")
    return list(names)
