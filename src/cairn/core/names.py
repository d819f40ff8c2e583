"""Validation of artifact names, types, aliases, tags, projects and entities, and name parsing.

These are the checks ``wandb`` runs on the client (spec §3.1-3.4, §3.7). Scripts written for
wandb catch these exceptions and sometimes match on their text, so the messages are copied
exactly. Where wandb leaves a value open, Cairn adds what its storage needs, with messages of
its own: no control characters (Unicode category Cc: U+0000-U+001F, U+007F-U+009F, NUL among
them, which PostgreSQL cannot store in text) and no lone surrogates (which UTF-8 cannot
encode) in types, aliases and project names, types of 1 to 128 characters (the database
column), and descriptions bounded in bytes. :func:`parse_artifact_path` reads the
``[[entity/]project/]name[:alias]`` strings that ``Api.artifact`` and ``use_artifact`` accept.
Pure functions, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

_NAME_RE = re.compile(r"[a-zA-Z0-9_\-.]+")
_TAG_RE = re.compile(r"[-\w]+( +[-\w]+)*")
_MAX_NAME_LENGTH = 128  # also db.models.NAME_LENGTH, the column that stores names and types
_PROJECT_FORBIDDEN = "/\\#?%:\r\n"
# Control characters (Unicode category Cc, a fixed set) and surrogates (in a str always lone).
_UNSTORABLE_RE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_SHOWN_CHARS = 100
LATEST = "latest"
"""The alias every store moves to a collection's newest version, and the selector of a path
that names none."""
MAX_ALIAS_LENGTH = 128
MAX_TAG_LENGTH = 128

_TAGS_MESSAGE = (
    "Invalid tag(s).  Tags must only contain alphanumeric characters separated by hyphens, "
    "underscores, and/or spaces."
)


def _shown(value: str) -> str:
    """``repr(value)``, cut to its first 100 characters then ``...`` when longer."""
    return repr(value) if len(value) <= _SHOWN_CHARS else repr(value[:_SHOWN_CHARS]) + "..."


def _unstorable(value: str) -> str | None:
    """The control characters and lone surrogates in ``value``, as ``"'\\x00', '\\n'"``."""
    found = sorted(set(_UNSTORABLE_RE.findall(value)))
    return ", ".join(repr(char) for char in found) if found else None


def validate_artifact_name(name: str) -> str:
    """Return ``name`` if it is a valid artifact name (spec §3.1).

    Raises ``ValueError`` with wandb's message if ``name`` is empty or holds anything but ASCII
    letters, digits, ``-``, ``_`` and ``.``, or is longer than 128 characters.
    """
    if not _NAME_RE.fullmatch(name):
        raise ValueError(
            "Artifact name may only contain alphanumeric characters, dashes, underscores, "
            f"and dots. Invalid name: '{name}'"
        )
    if len(name) > _MAX_NAME_LENGTH:
        raise ValueError(
            f"Artifact name is longer than {_MAX_NAME_LENGTH} characters: "
            f"'{name[:_MAX_NAME_LENGTH]} ...'"
        )
    return name


def validate_artifact_type(type_: str, name: str) -> str:
    """Return ``type_`` if it is a valid artifact type for an artifact called ``name``.

    wandb's rule (spec §3.2), checked first: a type reserved for W&B internals is refused, with
    ``ValueError("Artifact type '<type>' is reserved for internal use. Please use a different
    type.")``. Reserved: any ``wandb-*`` type, ``job``, ``run_table`` with a ``run-*`` name and
    ``code`` with a ``source-*`` name. Then the rule of every store, :func:`check_artifact_type`.
    """
    reserved = (
        type_.startswith("wandb-")
        or type_ == "job"
        or (type_ == "run_table" and name.startswith("run-"))
        or (type_ == "code" and name.startswith("source-"))
    )
    if reserved:
        raise ValueError(
            f"Artifact type '{type_}' is reserved for internal use. Please use a different type."
        )
    return check_artifact_type(type_)


def check_artifact_type(type_: str) -> str:
    """Return ``type_`` if a store can keep it as a type: the rule every store applies to
    every version it is sent, whichever client sent it. Reserved types (``wandb-*``,
    ``job``, ...) pass: the official client logs them itself.

    Cairn's rules (wandb has no character or length check; its server has), each a
    ``ValueError``:

    - ``"Artifact type cannot be empty"``;
    - ``"Artifact type is longer than 128 characters: '<first 128 characters> ...'"`` (the
      database column holds 128);
    - ``"Invalid artifact type '<type>': artifact types cannot contain control characters or
      lone surrogates (found '\\x00')"`` for any character of Unicode category Cc (NUL,
      newline, tab, DEL, U+0080-U+009F, ...) or a lone surrogate.

    Other characters, ``/`` and ``:`` included, are accepted, as in wandb.
    """
    if not type_:
        raise ValueError("Artifact type cannot be empty")
    if len(type_) > _MAX_NAME_LENGTH:
        raise ValueError(
            f"Artifact type is longer than {_MAX_NAME_LENGTH} characters: "
            f"'{type_[:_MAX_NAME_LENGTH]} ...'"
        )
    found = _unstorable(type_)
    if found:
        raise ValueError(
            f"Invalid artifact type {type_!r}: artifact types cannot contain control characters "
            f"or lone surrogates (found {found})"
        )
    return type_


def _as_list(values: str | Iterable[str] | None) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str):
        return [values]
    return list(values)


def validate_aliases(aliases: str | Iterable[str] | None) -> list[str]:
    """Return the aliases as a list (a single string becomes one alias; ``None`` gives ``[]``).

    The client rule of wandb (spec §3.3), checked first over all aliases: no ``/`` and no
    ``:``, else ``ValueError("Aliases must not contain any of the following characters: '/',
    ':'")``. Then Cairn's: no control character (Unicode category Cc, NUL among them) and no
    lone surrogate, else ``ValueError("Invalid alias '<alias>': aliases cannot contain control
    characters or lone surrogates (found '\\n')")`` (an alias over 100 characters is cut in
    the message). Emptiness, length and ``vN`` aliases are left to the commit.
    """
    result = _as_list(aliases)
    if any("/" in alias or ":" in alias for alias in result):
        raise ValueError("Aliases must not contain any of the following characters: '/', ':'")
    for alias in result:
        found = _unstorable(alias)
        if found:
            raise ValueError(
                f"Invalid alias {_shown(alias)}: aliases cannot contain control characters or "
                f"lone surrogates (found {found})"
            )
    return result


def validate_stored_aliases(aliases: str | Iterable[str] | None) -> list[str]:
    """Return the aliases as a list if a version may hold each of them: the rule every store
    applies to the aliases a commit, an edit or a link sends, and that Cairn's SDK applies
    before it logs (so its caller hears of a bad alias before any byte is sent).

    :func:`validate_aliases` first, then: each alias 1 to 128 characters long, else
    ``ValueError("Invalid alias '<alias>': aliases must be 1 to 128 characters long")``.
    """
    result = validate_aliases(aliases)
    for alias in result:
        if not 1 <= len(alias) <= MAX_ALIAS_LENGTH:
            raise ValueError(
                f"Invalid alias {_shown(alias)}: aliases must be 1 to {MAX_ALIAS_LENGTH} "
                "characters long"
            )
    return result


def is_version_alias(alias: str) -> bool:
    """Tell whether ``alias`` is a version alias: ``v`` then a number (``v0``, ``v12``).

    Same test as wandb (``str.isnumeric`` on the rest, at least 2 characters). Raises nothing.
    """
    return len(alias) >= 2 and alias.startswith("v") and alias[1:].isnumeric()


def validate_tags(tags: str | Iterable[str] | None) -> list[str]:
    """Return the tags as a list without duplicates, first occurrence kept (spec §3.4).

    A single string is one tag; ``None`` gives ``[]``. Each tag must match
    ``^[-\\w]+( +[-\\w]+)*$`` (unicode word characters), which already keeps out control
    characters (NUL, tab, newline, ...), lone surrogates and every space but U+0020. Raises
    ``ValueError`` with wandb's ``"Invalid tag(s).  Tags must only contain ..."`` message
    otherwise.
    """
    result = _as_list(tags)
    if not all(_TAG_RE.fullmatch(tag) for tag in result):
        raise ValueError(_TAGS_MESSAGE)
    return list(dict.fromkeys(result))


def validate_stored_tags(tags: str | Iterable[str] | None) -> list[str]:
    """Return the tags as a list without duplicates if a version may hold each of them: the
    rule every store applies to the tags a commit or an edit sends, and that Cairn's SDK
    applies before it logs.

    :func:`validate_tags` first, then: each tag at most 128 characters long, else
    ``ValueError("Invalid tag '<first 40 characters>'...: tags are at most 128 long")``.
    """
    result = validate_tags(tags)
    for tag in result:
        if len(tag) > MAX_TAG_LENGTH:
            raise ValueError(f"Invalid tag {tag[:40]!r}...: tags are at most {MAX_TAG_LENGTH} long")
    return result


def validate_project_name(name: str) -> str:
    """Return ``name`` if it is a valid project (or registry project) name (spec §3.7).

    Rules: non-empty; at most 128 characters (which is also wandb's 113-character limit on the
    part after ``wandb-registry-``, since the prefix has 15); none of ``/ \\ # ? % :`` CR LF
    (wandb's), nor any other control character (Unicode category Cc, NUL among them) or lone
    surrogate (Cairn's).

    Raises ``ValueError``: ``"Project name cannot be empty"``, ``"Invalid project name '<name>',
    cannot exceed 128 characters"``, or ``"Invalid project name '<name>', cannot contain
    characters: '\\x00', '/'"`` listing each forbidden character found.
    """
    if not name:
        raise ValueError("Project name cannot be empty")
    if len(name) > _MAX_NAME_LENGTH:
        raise ValueError(
            f"Invalid project name {name!r}, cannot exceed {_MAX_NAME_LENGTH} characters"
        )
    bad = sorted(
        {char for char in name if char in _PROJECT_FORBIDDEN or _UNSTORABLE_RE.match(char)}
    )
    if bad:
        raise ValueError(
            f"Invalid project name {name!r}, cannot contain characters: "
            + ", ".join(repr(char) for char in bad)
        )
    return name


def validate_description(text: str | None, max_bytes: int) -> str | None:
    """Return ``text`` (``None`` stays ``None``) if it can be stored as a description.

    Newlines, tabs and any other character are fine, except those storage cannot hold. Raises
    ``ValueError``:

    - ``"Artifact description cannot contain a NUL character"`` (PostgreSQL text cannot);
    - ``"Artifact description cannot contain a lone surrogate"`` (UTF-8 cannot encode it);
    - ``"Artifact description is longer than <max_bytes> bytes"`` when its UTF-8 encoding is
      (exactly ``max_bytes`` bytes is accepted).
    """
    if text is None:
        return None
    if "\x00" in text:
        raise ValueError("Artifact description cannot contain a NUL character")
    if text.isascii():
        size = len(text)
    else:
        try:
            size = len(text.encode("utf-8"))
        except UnicodeEncodeError:
            raise ValueError("Artifact description cannot contain a lone surrogate") from None
    if size > max_bytes:
        raise ValueError(f"Artifact description is longer than {max_bytes} bytes")
    return text


def validate_entity_name(name: str) -> str:
    """Return ``name`` if it is a usable entity (user or team) name.

    Rules: non-empty, at most 128 characters, no ``/``, no ``:``, no whitespace and no control
    characters. Raises ``ValueError`` naming the problem.
    """
    if not name:
        raise ValueError("Entity name cannot be empty")
    if len(name) > _MAX_NAME_LENGTH:
        raise ValueError(
            f"Invalid entity name {name!r}, cannot exceed {_MAX_NAME_LENGTH} characters"
        )
    if any(char in "/:" or char.isspace() or not char.isprintable() for char in name):
        raise ValueError(
            f"Invalid entity name {name!r}, cannot contain '/', ':', whitespace "
            "or control characters"
        )
    return name


@dataclass(frozen=True)
class ArtifactPath:
    """A parsed ``[[entity/]project/]collection[:selector]`` reference.

    ``entity`` and ``project`` are ``None`` when the string did not give them (the caller fills
    in its defaults); ``selector`` is an alias or ``vN`` and defaults to ``"latest"``.
    """

    entity: str | None
    project: str | None
    collection: str
    selector: str


def parse_artifact_path(path: str) -> ArtifactPath:
    """Parse ``"name"``, ``"name:alias"``, ``"project/name:v3"`` or ``"entity/project/name:alias"``.

    Without ``:alias`` the selector is ``"latest"``. Raises ``ValueError`` for more than three
    ``/``-separated parts, an empty part, an empty or ``/``/``:``-holding alias, or an entity or
    project name rejected by :func:`validate_entity_name` / :func:`validate_project_name`.
    The collection name itself is not checked against the artifact-name rule: names made by
    other tools may be looser, and a missing one simply resolves to nothing.
    """
    parts = path.split("/")
    if len(parts) > 3 or any(not part for part in parts):
        raise ValueError(
            f"Invalid artifact path {path!r}: expected 'name:alias', 'project/name:alias' "
            "or 'entity/project/name:alias'"
        )
    *prefix, last = parts
    collection, sep, selector = last.partition(":")
    if not collection or (sep and not selector) or ":" in selector:
        raise ValueError(f"Invalid artifact name and alias {last!r} in {path!r}")
    entity = validate_entity_name(prefix[0]) if len(prefix) == 2 else None
    project = validate_project_name(prefix[-1]) if prefix else None
    return ArtifactPath(
        entity=entity,
        project=project,
        collection=collection,
        selector=selector or LATEST,
    )
