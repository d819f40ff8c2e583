"""The values of a run (config, summary, history rows) as they are stored and sent.

A run's values are JSON with one addition: training loops log NaN and infinities all the
time (a diverged loss), which JSON cannot hold and PostgreSQL's JSON, strict JSON encoders
(httpx, Starlette) and browsers refuse. They are stored and sent as the strings ``"NaN"``,
``"Infinity"`` and ``"-Infinity"`` (the names ``json.dumps`` writes) and read back as
floats by ``from_stored``, so a string with exactly one of those texts also reads back as
that float. Both the SDK (before sending) and the service (before storing) use
``to_stored``, which is also where values that could not be stored are refused, before
anything is written.
"""

from __future__ import annotations

import json
import math
from typing import Any

_NONFINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _stored_float(value: float) -> float | str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def _check_text(text: str, where: str, what: str) -> None:
    """Refuse NUL and lone surrogates (PostgreSQL cannot store them, UTF-8 cannot encode the
    latter)."""
    if "\x00" in text or any("\ud800" <= c <= "\udfff" for c in text):
        raise ValueError(
            f"Invalid {what} at {where}: NUL characters and lone surrogates cannot be stored"
        )


def to_stored(value: object, where: str = "value", max_depth: int = 100) -> Any:
    """``value`` as stored: dicts with string keys, lists (from lists and tuples), strings,
    numbers, booleans and None, non-finite floats as their names (see module doc).

    ``where`` names the value in errors (``config``, ``summary['acc']``, ...); dicts and
    lists nest at most ``max_depth`` levels (``{}`` is one), which also stops a value that
    contains itself.

    Raises:
        TypeError: a value of any other type (``Object of type X is not JSON
            serializable``, as ``json`` says), or a key that is not a string.
        ValueError: nesting deeper than ``max_depth``; a string or key with NUL or a lone
            surrogate.
    """
    return _convert(value, where, max_depth)


def _convert(value: object, where: str, depth: int) -> Any:
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return _stored_float(value)
    if isinstance(value, str):
        _check_text(value, where, "value")
        return value
    if isinstance(value, dict | list | tuple) and depth <= 0:
        raise ValueError(f"{where} is nested too deeply to be stored")
    if isinstance(value, dict):
        result: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"Keys must be strings, not {type(key).__name__}, at {where}")
            _check_text(key, where, "key")
            result[key] = _convert(item, f"{where}[{key!r}]", depth - 1)
        return result
    if isinstance(value, list | tuple):
        return [_convert(item, f"{where}[{i}]", depth - 1) for i, item in enumerate(value)]
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable ({where})")


def from_stored(value: Any) -> Any:
    """A stored value as the SDK gives it back: ``"NaN"``, ``"Infinity"`` and
    ``"-Infinity"`` become floats again, at any depth."""
    if isinstance(value, str):
        return _NONFINITE.get(value, value)
    if isinstance(value, dict):
        return {key: from_stored(item) for key, item in value.items()}
    if isinstance(value, list):
        return [from_stored(item) for item in value]
    return value


def stored_size(value: object) -> int:
    """UTF-8 bytes of the compact JSON text of a stored value (what limits count)."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return len(text) if text.isascii() else len(text.encode("utf-8"))
