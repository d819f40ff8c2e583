"""Validation of artifact metadata (spec §3.5).

Metadata is stored as JSON, so it must be a JSON object once numpy values are turned into
Python ones and NaN into ``null``. This mirrors wandb's ``validate_metadata``, including its
messages, and adds the limits storage needs (the server applies the same ones, through
``cairn.service.limits``): how deeply it nests, how large it is as JSON, and no character
that PostgreSQL's JSON functions or UTF-8 cannot take (NUL, lone surrogates; control
characters in keys).

Nesting is measured without recursion, before anything recursive (``json``'s encoder and
decoder both recurse) sees the value, so hostile input gets a ``ValueError``, never a
``RecursionError``. numpy is never imported: its scalars and arrays are recognised by duck
typing (``.tolist()`` / ``.item()``), so core stays free of optional dependencies. Pure, no I/O.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from itertools import accumulate
from typing import Any, cast

_MAX_KEYS = 100
# How deeply metadata may nest, and its size as JSON (the server applies the same limits).
MAX_METADATA_DEPTH = 100
MAX_METADATA_BYTES = 16 * 1024 * 1024
_MIB = 1024 * 1024
_OUT_OF_RANGE = "Out of range float values are not JSON compliant"
# Keys: control characters (Unicode category Cc) and surrogates (in a str always lone).
_BAD_KEY_RE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# String values: NUL (PostgreSQL's jsonb and ->> refuse \u0000) and lone surrogates.
_BAD_STRING_RE = re.compile("[\x00\ud800-\udfff]")
# A JSON string literal, escapes included; an unterminated one runs to the end of the text.
_JSON_STRING_RE = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_NOT_BRACKET_RE = re.compile(r"[^\[\]{}]+")
_BRACKET_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
# How many .tolist()/.item() rounds one value may take before it is left to json to refuse.
_MAX_CONVERSIONS = 8
# Values that are already what json wants, whatever their content.
_PLAIN = frozenset({int, bool, type(None)})
# How a key is shown in a message, and how many keys of a path.
_SHOWN_KEY_CHARS = 50
_SHOWN_KEYS = 12


class _Place:
    """Where a container sits in the metadata: its parent's place and its key or index there.

    ``source`` is the container itself (kept alive, so that ``id`` tells containers apart).
    """

    __slots__ = ("key", "parent", "source")

    def __init__(self, parent: _Place | None, key: object, source: object) -> None:
        self.parent = parent
        self.key = key
        self.source = source


def _chain(place: _Place) -> list[_Place]:
    """The places from the top-level dict down to ``place``."""
    chain: list[_Place] = []
    current: _Place | None = place
    while current is not None:
        chain.append(current)
        current = current.parent
    chain.reverse()
    return chain


def _where(place: _Place, *last: object) -> str:
    """A key path such as ``metadata['a'][0]['b']``, long keys and long paths cut."""
    keys = [step.key for step in _chain(place)[1:]] + list(last)
    parts = [
        f"[{key[:_SHOWN_KEY_CHARS]!r}...]"
        if isinstance(key, str) and len(key) > _SHOWN_KEY_CHARS
        else f"[{key!r}]"
        for key in keys
    ]
    if len(parts) > _SHOWN_KEYS:
        parts = [*parts[: _SHOWN_KEYS // 2], "...", *parts[-_SHOWN_KEYS // 2 :]]
    return "metadata" + "".join(parts)


def _found(pattern: re.Pattern[str], text: str) -> str:
    """The distinct characters of ``text`` that ``pattern`` matches: ``"'\\x00', '\\n'"``."""
    return ", ".join(repr(char) for char in sorted(set(pattern.findall(text))))


def _too_deep(place: _Place, max_depth: int) -> ValueError:
    """The error for a container below ``max_depth`` levels: a cycle if it is one."""
    seen: set[int] = set()
    for step in _chain(place):
        if id(step.source) in seen:
            return ValueError(
                f"Artifact metadata refers to itself at {_where(step)}: a reference cycle "
                "cannot be stored as JSON"
            )
        seen.add(id(step.source))
    return ValueError(f"Artifact metadata is nested deeper than {max_depth} levels")


def _plain_string(text: str) -> bool:
    """Tell whether ``text`` holds neither NUL nor a lone surrogate (fast for ASCII)."""
    return "\x00" not in text and (text.isascii() or not _BAD_STRING_RE.search(text))


def _numpy_value(value: object) -> object:
    """``value.tolist()`` or ``value.item()`` (numpy arrays and scalars), else ``value``."""
    for converter in ("tolist", "item"):
        method = getattr(value, converter, None)
        if callable(method):
            return method()
    return value


def _convert(
    item: object,
    parent: _Place,
    key: object,
    depth: int,
    max_depth: int,
    pending: list[tuple[Any, dict[Any, Any] | list[Any], _Place, int]],
) -> object:
    """Return ``item`` JSON-friendly; a container comes back empty, queued on ``pending``.

    ``item`` sits at ``parent[key]``, inside a container at nesting level ``depth``.
    """
    for _ in range(_MAX_CONVERSIONS):
        if item is None or isinstance(item, bool | int):
            return item
        if isinstance(item, str):
            if _BAD_STRING_RE.search(item):
                raise ValueError(
                    f"Invalid artifact metadata value at {_where(parent, key)}: strings cannot "
                    f"contain NUL characters or lone surrogates (found "
                    f"{_found(_BAD_STRING_RE, item)})"
                )
            return item
        if isinstance(item, float):
            if math.isnan(item):
                return None
            if math.isinf(item):
                raise ValueError(_OUT_OF_RANGE)
            return float(item)
        container: dict[Any, Any] | list[Any]
        if isinstance(item, Mapping):
            container = {}
        elif isinstance(item, list | tuple):
            container = []
        else:
            converted = _numpy_value(item)
            if converted is item:
                return item  # json.dumps refuses it with its own TypeError
            item = converted
            continue
        place = _Place(parent, key, item)
        if depth + 1 > max_depth:
            raise _too_deep(place, max_depth)
        pending.append((item, container, place, depth + 1))
        return container
    return item


def _json_friendly(metadata: Mapping[Any, Any], max_depth: int) -> dict[Any, Any]:
    """Copy ``metadata`` with numpy values made Python ones and NaN ``None``, iteratively.

    Raises ``ValueError`` for nesting deeper than ``max_depth`` (``{}`` is one level), a
    reference cycle, ``inf``/``-inf`` (wandb's ``json.dumps(allow_nan=False)`` text), a key
    with a control character or lone surrogate and a string with NUL or a lone surrogate.
    Values json cannot encode are left as they are for ``json.dumps`` to refuse.
    """
    root = _Place(None, None, metadata)
    if max_depth < 1:
        raise _too_deep(root, max_depth)
    result: dict[Any, Any] = {}
    pending: list[tuple[Any, dict[Any, Any] | list[Any], _Place, int]] = [
        (metadata, result, root, 1)
    ]
    while pending:
        source, target, place, depth = pending.pop()
        if isinstance(target, dict):
            for key, item in source.items():
                if isinstance(key, str) and _BAD_KEY_RE.search(key):
                    raise ValueError(
                        f"Invalid artifact metadata key at {_where(place, key)}: keys cannot "
                        "contain control characters or lone surrogates (found "
                        f"{_found(_BAD_KEY_RE, key)})"
                    )
                if type(item) in _PLAIN or (type(item) is str and _plain_string(item)):
                    target[key] = item  # the common case, without a call
                else:
                    target[key] = _convert(item, place, key, depth, max_depth, pending)
        else:
            append = target.append
            for index, item in enumerate(source):
                if type(item) in _PLAIN or (type(item) is str and _plain_string(item)):
                    append(item)
                else:
                    append(_convert(item, place, index, depth, max_depth, pending))
    return result


def check_json_depth(
    text: str | bytes, max_depth: int = MAX_METADATA_DEPTH, what: str = "Artifact metadata"
) -> None:
    """Refuse JSON ``text`` whose arrays and objects nest deeper than ``max_depth``.

    For any JSON that arrives as text (a request body, a metadata string, a manifest), before
    ``json.loads`` sees it: ``json.loads`` recurses once per level and raises
    ``RecursionError`` near 1,000 levels. This counts brackets outside string literals, without
    recursion or parsing; ``[]`` and ``{}`` are one level each, as in
    :func:`validate_metadata`. ``bytes`` are decoded as ``json.loads`` would (UTF-8, -16 or
    -32, by their first bytes). For text that is not JSON the count may be off (then
    ``json.loads`` refuses the text anyway); up to where JSON text stops being valid, it is
    exact, so whatever ``json.loads`` would recurse into is counted.

    Raises ``ValueError("<what> is nested deeper than <max_depth> levels")`` (``what``
    defaults to ``"Artifact metadata"``; a server may say ``"Request body"``), and
    ``UnicodeDecodeError`` (a ``ValueError``) for ``bytes`` that are not text in the detected
    encoding. Returns ``None``.
    """
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode(json.detect_encoding(text), "surrogatepass")
    if text.count("[") + text.count("{") <= max_depth:
        return
    brackets = _NOT_BRACKET_RE.sub("", _JSON_STRING_RE.sub("", text))
    if max(accumulate(map(_BRACKET_STEP.__getitem__, brackets)), default=0) > max_depth:
        raise ValueError(f"{what} is nested deeper than {max_depth} levels")


def loads_json(
    text: str | bytes, max_depth: int = MAX_METADATA_DEPTH, what: str = "JSON text"
) -> Any:
    """``json.loads(text)`` for JSON that arrives as text from outside (a manifest, a GraphQL
    ``JSONString``): text nested deeper than ``max_depth`` is refused before it is parsed
    (:func:`check_json_depth`), so hostile input gets a ``ValueError``, never the
    ``RecursionError`` of ``json.loads``.

    Raises: ValueError (``"<what> is nested deeper than <max_depth> levels"``; a
    ``json.JSONDecodeError`` or ``UnicodeDecodeError`` for text that is not JSON).
    """
    check_json_depth(text, max_depth, what)
    return json.loads(text)


def _describe_bytes(size: int) -> str:
    """``"16777216 bytes (16 MiB)"``, or ``"1000 bytes"`` when not a whole number of MiB."""
    if size >= _MIB and size % _MIB == 0:
        return f"{size} bytes ({size // _MIB} MiB)"
    return f"{size} bytes"


def validate_metadata(
    metadata: object,
    max_depth: int = MAX_METADATA_DEPTH,
    max_bytes: int = MAX_METADATA_BYTES,
) -> dict[str, Any]:
    """Return ``metadata`` as a plain JSON-compatible dict.

    Accepts ``None`` (gives ``{}``), a JSON string (parsed, then validated as a dict) and a
    dict. numpy scalars/arrays become Python values/lists and NaN becomes ``None``; the result
    is what ``json.loads(json.dumps(...))`` gives (tuples become lists, keys strings).

    Limits (Cairn's; wandb has none of them):

    - nesting: dicts and lists count alike, the top-level dict being level 1: ``{}`` is 1 deep,
      ``{"a": {}}`` and ``{"a": []}`` 2, ``{"a": [[1]]}`` 3; at most ``max_depth`` levels.
      Measured iteratively before anything recurses (a JSON string's brackets are counted
      before it is parsed), so any depth gives this ``ValueError``, never a ``RecursionError``.
      ``json`` recurses once per level afterwards, so ``max_depth`` must stay well below
      ``sys.getrecursionlimit()``;
    - size: the compact JSON text of the result (``separators=(",", ":")``, non-ASCII
      characters as themselves), in UTF-8 bytes, at most ``max_bytes``;
    - keys: no control character (Unicode category Cc, NUL among them) and no lone surrogate;
      string values: no NUL and no lone surrogate (PostgreSQL's ``jsonb`` and ``->>`` refuse
      ``\\u0000`` and lone surrogates; UTF-8 cannot encode the latter). Other control
      characters are fine in values.

    Raises:
        ValueError: wandb's ``"Out of range float values are not JSON compliant"`` for ±inf;
            wandb's ``"Artifact must not have more than 100 metadata keys."`` above 100
            top-level keys (exactly 100 is fine);
            a ``json.JSONDecodeError`` (a ``ValueError``) for a string that is not JSON;
            ``"Artifact metadata is nested deeper than <max_depth> levels"``;
            ``"Artifact metadata refers to itself at metadata['a']...: a reference cycle cannot
            be stored as JSON"`` for a container that contains itself;
            ``"Artifact metadata is larger than 16777216 bytes (16 MiB) as JSON (<n> bytes)"``;
            ``"Invalid artifact metadata key at metadata['a']['b\\x00']: keys cannot contain
            control characters or lone surrogates (found '\\x00')"``;
            ``"Invalid artifact metadata value at metadata['a'][0]: strings cannot contain NUL
            characters or lone surrogates (found '\\x00')"``.
        TypeError: ``"Cannot parse <class '...'> as artifact metadata"`` for any other type
            (also for a JSON string that is not an object), and json's own ``TypeError`` for
            values it cannot encode (sets, arbitrary objects, ...).
    """
    if metadata is None:
        return {}
    if isinstance(metadata, str):
        check_json_depth(metadata, max_depth)
        return validate_metadata(json.loads(metadata), max_depth, max_bytes)
    if not isinstance(metadata, dict):
        raise TypeError(f"Cannot parse {type(metadata)} as artifact metadata")
    if len(metadata) > _MAX_KEYS:
        raise ValueError(f"Artifact must not have more than {_MAX_KEYS} metadata keys.")
    friendly = _json_friendly(metadata, max_depth)
    text = json.dumps(friendly, allow_nan=False, separators=(",", ":"), ensure_ascii=False)
    size = len(text) if text.isascii() else len(text.encode("utf-8"))
    if size > max_bytes:
        raise ValueError(
            f"Artifact metadata is larger than {_describe_bytes(max_bytes)} as JSON ({size} bytes)"
        )
    return cast("dict[str, Any]", json.loads(text))
