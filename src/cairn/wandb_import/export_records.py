"""The records the W&B exporter writes (format ``cairn-wandb-export``, version 1), read
and checked: one JSON object a line, each with a ``kind``.

The exporter runs wandb code against a server Cairn does not control, so every field is
checked for its type here, before anything is written; a line that does not fit raises
``CorruptionError`` naming the line.
"""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any

from cairn.errors import CorruptionError

if TYPE_CHECKING:
    from collections.abc import Callable

FORMAT = "cairn-wandb-export"
VERSION = 1
_MAX_LINE = 256 * 1024 * 1024  # a manifest of millions of entries still fits


@dataclasses.dataclass(frozen=True)
class RunRef:
    """A W&B run, by its path."""

    entity: str
    project: str
    id: str


@dataclasses.dataclass(frozen=True)
class ExportedRun:
    """A run that logged or used an exported version."""

    ref: RunRef
    name: str
    job_type: str | None
    state: str | None
    created_at: str | None
    config: dict[str, Any]
    summary: dict[str, Any]
    history: tuple[dict[str, Any], ...] | None  # None: not read (too long, or refused)


@dataclasses.dataclass(frozen=True)
class ExportedCollection:
    """An artifact sequence of the project."""

    name: str
    type: str
    description: str | None
    tags: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class ExportedLink:
    """A registry link of a version: the portfolio (``project`` is ``wandb-registry-X``),
    the version's index there and the link's own aliases."""

    entity: str
    project: str
    collection: str
    index: int | None
    aliases: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class ExportedVersion:
    """One version of a collection, as W&B holds it (``ttl``: seconds, None for no TTL,
    ``"inherit"``)."""

    collection: str
    type: str
    index: int
    id: str
    digest: str
    digest_algorithm: str  # "MD5" or "XXH128"
    manifest: dict[str, Any]
    aliases: tuple[str, ...]
    tags: tuple[str, ...]
    metadata: dict[str, Any]
    description: str | None
    ttl: int | str | None
    created_at: str
    logged_by: RunRef | None
    used_by: tuple[RunRef, ...]
    links: tuple[ExportedLink, ...]


@dataclasses.dataclass(frozen=True)
class ExportedBlob:
    """An entry's bytes, downloaded by ``fetch`` (``digest``: W&B's base64 MD5)."""

    digest: str
    size: int | None


@dataclasses.dataclass(frozen=True)
class FetchDone:
    """The answer to one fetch request is complete."""


@dataclasses.dataclass(frozen=True)
class ExportEnd:
    """The last record: the exporter finished (a missing one means it was cut short)."""

    counts: dict[str, int]


Record = ExportedRun | ExportedCollection | ExportedVersion | ExportedBlob | FetchDone | ExportEnd


def _get(obj: dict[str, Any], key: str, kind: type, optional: bool = False) -> Any:
    value = obj.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise CorruptionError(f"field {key!r} is {type(value).__name__}")
    return value


def _strings(obj: dict[str, Any], key: str) -> tuple[str, ...]:
    values = _get(obj, key, list)
    if not all(isinstance(v, str) for v in values):
        raise CorruptionError(f"field {key!r} holds a non-string")
    return tuple(values)


def _run_ref(obj: dict[str, Any] | None) -> RunRef | None:
    if obj is None:
        return None
    if not isinstance(obj, dict):
        raise CorruptionError("a run reference is not an object")
    return RunRef(_get(obj, "entity", str), _get(obj, "project", str), _get(obj, "id", str))


def _run(obj: dict[str, Any]) -> ExportedRun:
    ref = _run_ref(obj)
    assert ref is not None
    return ExportedRun(
        ref=ref,
        name=_get(obj, "name", str),
        job_type=_get(obj, "job_type", str, optional=True),
        state=_get(obj, "state", str, optional=True),
        created_at=_get(obj, "created_at", str, optional=True),
        config=_get(obj, "config", dict),
        summary=_get(obj, "summary", dict),
        history=_history(obj.get("history")),
    )


def _history(rows: Any) -> tuple[dict[str, Any], ...] | None:
    if rows is None:
        return None
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise CorruptionError("field 'history' is not a list of objects")
    steps = [row.get("_step") for row in rows]
    if not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in steps):
        raise CorruptionError("a history row has no whole '_step'")
    return tuple(rows)


def _link(obj: Any) -> ExportedLink:
    if not isinstance(obj, dict):
        raise CorruptionError("a link is not an object")
    return ExportedLink(
        entity=_get(obj, "entity", str),
        project=_get(obj, "project", str),
        collection=_get(obj, "collection", str),
        index=_get(obj, "index", int, optional=True),
        aliases=_strings(obj, "aliases"),
    )


def _version(obj: dict[str, Any]) -> ExportedVersion:
    ttl = obj.get("ttl")
    seconds = isinstance(ttl, int) and not isinstance(ttl, bool)
    if not (ttl is None or ttl == "inherit" or seconds):
        raise CorruptionError(f"field 'ttl' is {ttl!r}")
    index = _get(obj, "index", int)
    if index < 0:
        raise CorruptionError(f"field 'index' is {index}")
    return ExportedVersion(
        collection=_get(obj, "collection", str),
        type=_get(obj, "type", str),
        index=index,
        id=_get(obj, "id", str),
        digest=_get(obj, "digest", str),
        digest_algorithm="XXH128" if obj.get("digest_algorithm") == "XXH128" else "MD5",
        manifest=_get(obj, "manifest", dict),
        aliases=_strings(obj, "aliases"),
        tags=_strings(obj, "tags"),
        metadata=_get(obj, "metadata", dict),
        description=_get(obj, "description", str, optional=True),
        ttl=ttl,
        created_at=_get(obj, "created_at", str),
        logged_by=_run_ref(obj.get("logged_by")),
        used_by=tuple(r for r in map(_run_ref, _get(obj, "used_by", list)) if r is not None),
        links=tuple(_link(x) for x in _get(obj, "links", list)),
    )


def _collection(obj: dict[str, Any]) -> ExportedCollection:
    return ExportedCollection(
        name=_get(obj, "name", str),
        type=_get(obj, "type", str),
        description=_get(obj, "description", str, optional=True),
        tags=_strings(obj, "tags"),
    )


def _blob(obj: dict[str, Any]) -> ExportedBlob:
    return ExportedBlob(digest=_get(obj, "digest", str), size=_get(obj, "size", int, optional=True))


def _done(obj: dict[str, Any]) -> FetchDone:
    return FetchDone()


def _end(obj: dict[str, Any]) -> ExportEnd:
    counts = {k: v for k, v in obj.items() if k != "kind" and isinstance(v, int)}
    return ExportEnd(counts)


_PARSERS: dict[str, Callable[[dict[str, Any]], Record]] = {
    "run": _run,
    "collection": _collection,
    "version": _version,
    "blob": _blob,
    "done": _done,
    "end": _end,
}


def check_header(line: str) -> str:
    """The wandb release the exporter ran, from its first line.

    Raises:
        CorruptionError: the line is not a header of this format and version.
    """
    obj = _load(line)
    if obj.get("kind") != "header" or obj.get("format") != FORMAT:
        raise CorruptionError(f"the W&B exporter wrote no header but {line[:200]!r}")
    if obj.get("version") != VERSION:
        raise CorruptionError(
            f"the W&B exporter writes format version {obj.get('version')!r}, not {VERSION}"
        )
    return str(obj.get("wandb"))


def parse_record(line: str) -> Record:
    """The record on ``line``.

    Raises:
        CorruptionError: not JSON, an unknown kind, or a field of the wrong type.
    """
    obj = _load(line)
    parser = _PARSERS.get(str(obj.get("kind")))
    if parser is None:
        raise CorruptionError(f"unknown record kind {obj.get('kind')!r} from the W&B exporter")
    try:
        return parser(obj)
    except CorruptionError as exc:
        raise CorruptionError(f"bad {obj['kind']} record from the W&B exporter: {exc}") from None


def _load(line: str) -> dict[str, Any]:
    if len(line) > _MAX_LINE:
        raise CorruptionError("a record of the W&B exporter is too long")
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise CorruptionError(f"the W&B exporter wrote a line that is not JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise CorruptionError("a record of the W&B exporter is not an object")
    return obj
