"""A version's time to live on the wire and in a store (spec §4.12): the one definition of
its wire values and its range, for the SDK, the service and every transport.

On the wire (``ttlDurationSeconds``, W&B's encoding) a TTL is a number of seconds, or
``TTL_INHERIT`` (take the project's or entity's default), or ``TTL_DISABLED`` (never
expire). A store keeps it as ``(ttl_duration_seconds, ttl_is_inherited)``: seconds or
None (disabled, or inherited), and whether it is inherited. Pure, no I/O.
"""

from __future__ import annotations

from cairn.core.ints import describe

TTL_INHERIT = -1
TTL_DISABLED = -2

MAX_TTL_SECONDS = 100 * 365 * 24 * 3600
"""The longest TTL of a version, or default TTL of a project or entity: 100 years of 365
days. A longer one is refused: a version's expiry (``created_at + ttl``) must stay a date
the sweeper and every client can compute (Python's dates end at the year 9999)."""

StoredTtl = tuple[int | None, bool]
"""``(ttl_duration_seconds, ttl_is_inherited)`` as a store keeps them."""


def checked_ttl(seconds: object) -> int:
    """A TTL in seconds: above 0 and at most ``MAX_TTL_SECONDS``.

    Raises: ValueError (not an integer; ``"Artifact TTL Duration has to be positive. ttl:
    <seconds>"``, W&B's message; over the maximum).
    """
    if isinstance(seconds, bool) or not isinstance(seconds, int):
        raise ValueError(f"Artifact TTL must be an integer, got {type(seconds).__name__}")
    if seconds <= 0:
        raise ValueError(f"Artifact TTL Duration has to be positive. ttl: {describe(seconds)}")
    if seconds > MAX_TTL_SECONDS:
        raise ValueError(
            f"Artifact TTL of {describe(seconds)} seconds is over the maximum of "
            f"{MAX_TTL_SECONDS} seconds (100 years)"
        )
    return seconds


def ttl_to_wire(seconds: int | None, inherited: bool) -> int:
    """The wire value of a stored TTL: ``TTL_INHERIT``, ``TTL_DISABLED`` or the seconds."""
    if inherited:
        return TTL_INHERIT
    return seconds if seconds else TTL_DISABLED


def ttl_of_new_version(wire: int | None) -> StoredTtl:
    """The TTL a new version stores for the wire value its commit sent.

    None (not sent) or ``TTL_INHERIT`` inherit; ``TTL_DISABLED`` and any other integer
    ≤ 0 disable it (W&B reads a value ≤ 0 back as no TTL); a positive value is kept.

    Raises: ValueError (not an integer, or over ``MAX_TTL_SECONDS``).
    """
    if wire is None or wire == TTL_INHERIT:
        return None, True
    if isinstance(wire, int) and not isinstance(wire, bool) and wire <= 0:
        return None, False
    return checked_ttl(wire), False


def ttl_of_edit(wire: int | None) -> StoredTtl | None:
    """The TTL an edit of a version stores for the wire value it sent; None for "unchanged"
    (not sent).

    Raises: ValueError (not ``TTL_INHERIT``, ``TTL_DISABLED`` nor a TTL ``checked_ttl``
    accepts).
    """
    if wire is None:
        return None
    if wire == TTL_INHERIT:
        return None, True
    if wire == TTL_DISABLED:
        return None, False
    return checked_ttl(wire), False
