"""The integer ranges a store can hold, and the one check of a number against a range.

Both databases hold integers as signed 64-bit values at most (SQLite ``INTEGER``,
PostgreSQL ``BIGINT``); some columns hold signed 32-bit values only (PostgreSQL
``INTEGER``: a run's exit code). A number from outside (a request body, a GraphQL
argument, a stream line) is checked against the range of where it goes before anything is
written: a value out of range is bad input (``ValueError``, 400 over HTTP), never the
``OverflowError`` of SQLite's driver or the ``DataError`` of PostgreSQL.
"""

from __future__ import annotations

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

_SHOWN_DIGITS = 40  # longer numbers are described, not printed (Python limits int -> str)


def describe(value: int) -> str:
    """``value`` for an error message: its digits, or its bit length when it is huge."""
    if abs(value) < 10**_SHOWN_DIGITS:
        return str(value)
    return f"a {value.bit_length()}-bit integer"


def check_int(value: object, what: str, low: int, high: int) -> int:
    """``value``, if it is an integer (not a bool) from ``low`` to ``high`` inclusive.

    Raises: ValueError (``"<what> must be an integer ..."`` or ``"<what> must be from
    <low> to <high>, got <value>"``).
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{what} must be an integer, got {type(value).__name__}")
    if not low <= value <= high:
        raise ValueError(f"{what} must be from {low} to {high}, got {describe(value)}")
    return value
