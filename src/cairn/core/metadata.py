"""Validation of artifact metadata (spec §3.5).

Metadata is stored as JSON, so it must be a JSON object once numpy values are turned into
Python ones and NaN into ``null``. This mirrors wandb's ``validate_metadata``, including its
messages. numpy is never imported: its scalars and arrays are recognised by duck typing
(``.tolist()`` / ``.item()``), so core stays free of optional dependencies. Pure, no I/O.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any, cast

_MAX_KEYS = 100
# How deeply metadata may nest, and its size as JSON (the server applies the same limits).
MAX_METADATA_DEPTH = 100
MAX_METADATA_BYTES = 16 * 1024 * 1024
_OUT_OF_RANGE = "Out of range float values are not JSON compliant"


def _json_friendly(value: object) -> object:
    """Turn numpy-like values into Python ones, recursively, and NaN into ``None``.

    Raises ``ValueError`` for ``inf``/``-inf`` (wandb's ``json.dumps(allow_nan=False)`` text).
    Values json cannot encode are left as they are for ``json.dumps`` to reject.
    """
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            raise ValueError(_OUT_OF_RANGE)
        return float(value)
    if isinstance(value, Mapping):
        return {key: _json_friendly(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_friendly(item) for item in value]
    for converter in ("tolist", "item"):
        method = getattr(value, converter, None)
        if callable(method):
            return _json_friendly(method())
    return value


def validate_metadata(metadata: object) -> dict[str, Any]:
    """Return ``metadata`` as a plain JSON-compatible dict.

    Accepts ``None`` (gives ``{}``), a JSON string (parsed, then validated as a dict) and a
    dict. numpy scalars/arrays become Python values/lists and NaN becomes ``None``; the result
    is what ``json.loads(json.dumps(...))`` gives (tuples become lists, keys strings).

    Raises:
        ValueError: ``"Out of range float values are not JSON compliant"`` for ±inf;
            ``"Artifact must not have more than 100 metadata keys."`` above 100 top-level keys;
            a ``json.JSONDecodeError`` (a ``ValueError``) for a string that is not JSON.
        TypeError: ``"Cannot parse <class '...'> as artifact metadata"`` for any other type
            (also for a JSON string that is not an object), and json's own ``TypeError`` for
            values it cannot encode (sets, arbitrary objects, ...).
    """
    if metadata is None:
        return {}
    if isinstance(metadata, str):
        return validate_metadata(json.loads(metadata))
    if not isinstance(metadata, dict):
        raise TypeError(f"Cannot parse {type(metadata)} as artifact metadata")
    if len(metadata) > _MAX_KEYS:
        raise ValueError(f"Artifact must not have more than {_MAX_KEYS} metadata keys.")
    friendly = _json_friendly(metadata)
    return cast(dict[str, Any], json.loads(json.dumps(friendly, allow_nan=False)))
