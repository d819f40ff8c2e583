"""Edits of an artifact and its place in collections: TTL, ``save()`` of a logged
version, links, unlinking, deletion and its page URL (spec §4.8, §4.11–4.14).

Each function takes the artifact's ``ArtifactState`` and makes at most one backend call:
``save()`` sends the diff of aliases and tags and the new description, metadata and TTL
(``edit_version``); ``link`` / ``unlink`` / ``delete`` map to ``link_version`` /
``unlink_version`` / ``delete_version``. Functions that return another view of the version
return its ``VersionInfo``; ``Artifact`` wraps it.
"""

from __future__ import annotations

import enum
from datetime import timedelta
from urllib.parse import quote, urljoin

from cairn.core.registry import REGISTRY_PREFIX
from cairn.errors import ArtifactNotLoggedError, CommError
from cairn.protocol import VersionEdit, VersionInfo
from cairn.sdk._aliases import warn_ignored_aliases
from cairn.sdk._artifact_state import ArtifactState, hydrate

MAX_LINKED = 500


class ArtifactTTL(enum.Enum):
    """``ArtifactTTL.INHERIT``: take the TTL from the project's or entity's default.

    The string ``"inherit"`` is accepted wherever ``ArtifactTTL.INHERIT`` is.
    """

    INHERIT = "inherit"


def ttl(state: ArtifactState, guarded: object) -> timedelta | None:
    """The TTL; ``ArtifactNotLoggedError`` (naming ``guarded``) while inherited and unknown."""
    if state.ttl_is_inherited and (state.is_draft() or state.ttl_changed):
        raise ArtifactNotLoggedError("Artifact.ttl", guarded)
    seconds = state.ttl_duration_seconds
    return timedelta(seconds=seconds) if seconds is not None and seconds > 0 else None


def set_ttl(state: ArtifactState, value: timedelta | ArtifactTTL | str | None) -> None:
    """Set the TTL to send on the next log or save; ``ValueError`` as ``Artifact.ttl``."""
    if state.type == "wandb-history":
        raise ValueError("Cannot set artifact TTL for type wandb-history")
    if state.is_link:
        raise ValueError(
            "Cannot set TTL for link artifact. Unlink the artifact first then set the TTL "
            "for the source artifact"
        )
    if value is None:
        state.ttl_duration_seconds, state.ttl_is_inherited = None, False
    elif value is ArtifactTTL.INHERIT or value == ArtifactTTL.INHERIT.value:
        state.ttl_duration_seconds, state.ttl_is_inherited = None, True
    elif isinstance(value, timedelta):
        seconds = int(value.total_seconds())
        if seconds <= 0:
            raise ValueError(f"Artifact TTL Duration has to be positive. ttl: {seconds}")
        state.ttl_duration_seconds, state.ttl_is_inherited = seconds, False
    else:
        raise ValueError(
            f"Invalid TTL {value!r}: expected a timedelta, None or ArtifactTTL.INHERIT"
        )
    state.ttl_changed = True


def collection_name(state: ArtifactState) -> str:
    """The collection the version was fetched through (its name without ``:vN``)."""
    return state.name.split(":")[0]


def save_logged(state: ArtifactState) -> None:
    """Save description, metadata, aliases, tags and TTL of a logged version in one call."""
    backend = state.logged_backend()
    assert state.entity is not None and state.project is not None
    assert state.version is not None
    collection = collection_name(state)
    current = backend.resolve_version(state.entity, state.project, collection, state.version)
    wanted_aliases = list(dict.fromkeys(state.aliases))
    wanted_tags = list(dict.fromkeys(state.tags))
    edit = VersionEdit(
        entity=state.entity,
        project=state.project,
        collection=collection,
        description=state.description,
        metadata=state.metadata,
        aliases_to_add=[a for a in wanted_aliases if a not in current.aliases],
        aliases_to_remove=[a for a in current.aliases if a not in wanted_aliases],
        tags_to_add=[t for t in wanted_tags if t not in current.tags],
        tags_to_remove=[t for t in current.tags if t not in wanted_tags],
        ttl_duration_seconds=state.ttl_wire(),
    )
    saved = backend.edit_version(state.id or "", edit)
    warn_ignored_aliases(edit.aliases_to_add, saved.aliases)
    hydrate(state, saved, backend)


def linked_infos(state: ArtifactState) -> list[VersionInfo]:
    """The version as seen through each collection it is linked into (at most 500)."""
    return state.logged_backend().list_links(state.id or "", MAX_LINKED)


def source_info(state: ArtifactState) -> VersionInfo:
    """The version as seen through the collection it was born in; ``ValueError`` when it
    cannot be fetched."""
    try:
        return state.logged_backend().get_version(state.id or "")
    except CommError:
        raise ValueError(
            f"Unable to fetch source artifact for linked artifact {state.name}"
        ) from None


def link(state: ArtifactState, target_path: str, aliases: list[str] | None) -> VersionInfo:
    """Link the (non-link, logged) version into ``target_path``; return the link."""
    backend = state.logged_backend()
    parts = target_path.split("/")
    if not target_path or len(parts) > 3 or not all(parts):
        raise ValueError(
            f"Invalid target path {target_path!r}: expected [prefix/][project/]collection"
        )
    collection, _, alias = parts[-1].partition(":")
    extra = [alias] if alias else []
    project = parts[-2] if len(parts) >= 2 else backend.settings.project
    if project.startswith(REGISTRY_PREFIX):
        entity = parts[0] if len(parts) == 3 else backend.settings.organization
    else:
        assert state.source_entity is not None
        entity = parts[0] if len(parts) == 3 else state.source_entity
    return backend.link_version(
        state.id or "", entity, project, collection, [*(aliases or []), *extra]
    )


def unlink(state: ArtifactState, qualified_name: str) -> None:
    """Remove this link (only the link); ``ValueError`` when the version is no link."""
    if not state.is_link:
        raise ValueError(
            f"Artifact {qualified_name!r} is not a linked artifact and cannot be "
            "unlinked.  To delete it, use 'Artifact.delete' instead."
        )
    assert state.entity is not None and state.project is not None
    state.logged_backend().unlink_version(
        state.id or "", state.entity, state.project, collection_name(state)
    )
    state.state = "DELETED"


def delete(state: ArtifactState, delete_aliases: bool) -> None:
    """Delete the (non-link) version: soft, ``cairn gc`` frees its bytes."""
    state.logged_backend().delete_version(state.id or "", delete_aliases)
    state.state = "DELETED"
    state.aliases = []


def url(state: ArtifactState) -> str:
    """The version's page, or the registry page of a registry link (spec §4.11)."""
    settings = state.logged_backend().settings
    assert state.entity is not None and state.project is not None
    base = settings.ui_url.rstrip("/") + "/"
    collection = collection_name(state)
    if state.project.startswith(REGISTRY_PREFIX):
        selection = quote(f"{state.entity}/{state.project}/{collection}", safe="")
        registry = state.project[len(REGISTRY_PREFIX) :]
        return urljoin(
            base,
            f"orgs/{settings.organization}/registry/{registry}?selectionPath={selection}"
            f"&view=membership&version={state.version}",
        )
    path = f"{state.entity}/{state.project}/artifacts/{quote(state.type)}/{quote(collection)}"
    return urljoin(base, f"{path}/{state.version}")
