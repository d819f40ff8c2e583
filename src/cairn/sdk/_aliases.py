"""Aliases the server keeps for itself: a user who sets one is told it was not set."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence


def warn_ignored_aliases(requested: Sequence[str], held: Sequence[str]) -> None:
    """Warn once about the requested aliases the version does not hold now: the server
    manages ``latest`` (on the newest version only) and ``v<N>`` (version numbers), and
    ignores them when a user sets them, as W&B's server does (spec §3.3)."""
    ignored = [alias for alias in dict.fromkeys(requested) if alias not in held]
    if ignored:
        names = ", ".join(repr(alias) for alias in ignored)
        warnings.warn(
            f"Alias(es) {names} ignored: 'latest' stays on the newest version and 'v<N>' "
            "names a version number; the server manages both",
            UserWarning,
            stacklevel=3,
        )
