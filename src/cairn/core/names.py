"""Validation of artifact names, types, aliases, tags, projects and entities, and name parsing.

These are the checks ``wandb`` runs on the client (spec §3.1-3.4, §3.7). Scripts written for
wandb catch these exceptions and sometimes match on their text, so the messages are copied
exactly. :func:`parse_artifact_path` reads the ``[[entity/]project/]name[:alias]`` strings that
``Api.artifact`` and ``use_artifact`` accept. Pure functions, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_NAME_RE = re.compile(r"[a-zA-Z0-9_\-.]+")
_TAG_RE = re.compile(r"[-\w]+( +[-\w]+)*")
_MAX_NAME_LENGTH = 128
_PROJECT_FORBIDDEN = "/\\#?%:\r\n"
_DEFAULT_SELECTOR = "latest"

_TAGS_MESSAGE = (
    "Invalid tag(s).  Tags must only contain alphanumeric characters separated by hyphens, "
    "underscores, and/or spaces."
)


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
    """Return ``type_`` unless it is reserved for W&B internals for this ``name`` (spec §3.2).

    Reserved: any ``wandb-*`` type, ``job``, ``run_table`` with a ``run-*`` name and ``code``
    with a ``source-*`` name. There is no character or length check, as in wandb.
    Raises ``ValueError("Artifact type '<type>' is reserved for internal use. ...")``.
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
    return type_


def _as_list(values: str | Iterable[str] | None) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str):
        return [values]
    return list(values)


def validate_aliases(aliases: str | Iterable[str] | None) -> list[str]:
    """Return the aliases as a list (a single string becomes one alias; ``None`` gives ``[]``).

    Only the client rule of wandb is applied (spec §3.3): no ``/`` and no ``:``. Emptiness,
    length and ``vN`` aliases are left to the commit. Raises
    ``ValueError("Aliases must not contain any of the following characters: '/', ':'")``.
    """
    result = _as_list(aliases)
    if any("/" in alias or ":" in alias for alias in result):
        raise ValueError("Aliases must not contain any of the following characters: '/', ':'")
    return result


def is_version_alias(alias: str) -> bool:
    """Tell whether ``alias`` is a version alias: ``v`` then a number (``v0``, ``v12``).

    Same test as wandb (``str.isnumeric`` on the rest, at least 2 characters). Raises nothing.
    """
    return len(alias) >= 2 and alias.startswith("v") and alias[1:].isnumeric()


def validate_tags(tags: str | Iterable[str] | None) -> list[str]:
    """Return the tags as a list without duplicates, first occurrence kept (spec §3.4).

    A single string is one tag; ``None`` gives ``[]``. Each tag must match
    ``^[-\\w]+( +[-\\w]+)*$`` (unicode word characters). Raises ``ValueError`` with wandb's
    ``"Invalid tag(s).  Tags must only contain ..."`` message otherwise.
    """
    result = _as_list(tags)
    if not all(_TAG_RE.fullmatch(tag) for tag in result):
        raise ValueError(_TAGS_MESSAGE)
    return list(dict.fromkeys(result))


def validate_project_name(name: str) -> str:
    """Return ``name`` if it is a valid project (or registry project) name (spec §3.7).

    Rules: non-empty; at most 128 characters (which is also wandb's 113-character limit on the
    part after ``wandb-registry-``, since the prefix has 15); none of ``/ \\ # ? % :`` CR LF.
    Raises ``ValueError`` naming the problem.
    """
    if not name:
        raise ValueError("Project name cannot be empty")
    if len(name) > _MAX_NAME_LENGTH:
        raise ValueError(
            f"Invalid project name {name!r}, cannot exceed {_MAX_NAME_LENGTH} characters"
        )
    bad = sorted({char for char in name if char in _PROJECT_FORBIDDEN})
    if bad:
        raise ValueError(
            f"Invalid project name {name!r}, cannot contain characters: "
            + ", ".join(repr(char) for char in bad)
        )
    return name


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
        selector=selector or _DEFAULT_SELECTOR,
    )
