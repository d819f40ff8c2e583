"""Registries as the official client reads them (``api.registries()``, ``api.registry()``):
the organization entity's ``wandb-registry-*`` projects, each with its visibility and the
artifact types it accepts.

``Entity.projects(filters)`` on the organization's entity lists the registries the caller
may read (``cairn.service.registries.list_registries``), filtered by the MongoDB-style
filter the client sends (``name``, ``description``, ``id``, ``createdAt``, ``updatedAt``
with ``$eq``, ``$ne``, ``$in``, ``$nin``, ``$regex``, ``$and``, ``$or``); a filter using
anything else is refused rather than answered wrongly. ``Entity.project(name)`` finds one.
"""

from __future__ import annotations

import base64
import re
from typing import TYPE_CHECKING, Any

from cairn.core.metadata import loads_json
from cairn.core.registry import REGISTRY_PREFIX
from cairn.server.wandb_compat.context import Ctx, Info, gid, obj, or_none, page
from cairn.service import registries

if TYPE_CHECKING:
    from collections.abc import Callable

    from cairn.protocol import RegistryInfo

# W&B's names for a registry's visibility (a project's ``access``).
ACCESS = {"organization": "PRIVATE", "restricted": "RESTRICTED"}


def _fields(info: RegistryInfo) -> dict[str, Any]:
    """The values a filter can test, by the names the client uses."""
    pk = base64.b64decode(info.id).decode().partition(":")[2]
    return {
        "name": info.full_name,
        "description": info.description,
        "id": int(pk) if pk.isdigit() else pk,
        "createdAt": info.created_at,
        "updatedAt": info.updated_at,
        "created_at": info.created_at,
        "updated_at": info.updated_at,
    }


def _operator(op: str, expected: Any) -> Callable[[Any], bool]:
    if op == "$eq":
        return lambda value: bool(value == expected)
    if op == "$ne":
        return lambda value: bool(value != expected)
    if op == "$in":
        return lambda value: value in expected
    if op == "$nin":
        return lambda value: value not in expected
    if op == "$regex":
        pattern = re.compile(str(expected))
        return lambda value: isinstance(value, str) and pattern.search(value) is not None
    raise ValueError(f"Unsupported registry filter operator {op!r}")


def matches(fields: dict[str, Any], query: Any) -> bool:
    """Whether ``fields`` satisfy the MongoDB-style ``query``.

    Raises: ValueError (an operator or field this server does not filter on).
    """
    if not isinstance(query, dict):
        raise ValueError("A registry filter is a JSON object")
    for key, condition in query.items():
        if key == "$and":
            if not all(matches(fields, part) for part in condition):
                return False
        elif key == "$or":
            if not any(matches(fields, part) for part in condition):
                return False
        elif key not in fields:
            raise ValueError(f"Unsupported registry filter field {key!r}")
        elif isinstance(condition, dict):
            value = fields[key]
            if not all(_operator(op, arg)(value) for op, arg in condition.items()):
                return False
        elif fields[key] != condition:
            return False
    return True


def registry_obj(c: Ctx, info: RegistryInfo, org: dict[str, Any]) -> dict[str, Any]:
    """A registry as the ``Project`` the client reads (its ``RegistryFragment``); ``org``
    is the organization object its entity names."""
    types = [{"node": {"name": name}} for name in info.artifact_types]
    return obj(
        "Project",
        id=info.id,
        internalId=info.id,
        name=info.full_name,
        entityName=info.entity,
        entity=obj("Entity", name=info.entity, organization=org, id=gid("Entity", info.entity)),
        description=info.description,
        createdAt=info.created_at,
        updatedAt=info.updated_at,
        access=ACCESS.get(info.visibility, "RESTRICTED"),
        allowAllArtifactTypesInRegistry=info.allow_all_artifact_types,
        artifactTypes=lambda _info, includeAll=None, **_kw: {
            "pageInfo": {"endCursor": str(len(types)), "hasNextPage": False},
            "edges": types,
        },
    )


def projects(c: Ctx, entity: str, org: dict[str, Any]) -> Callable[..., Any]:
    """``Entity.projects``: on the organization's entity (``org``), its registries."""

    def resolve(
        _info: Info,
        filters: str | None = None,
        after: str | None = None,
        first: int | None = None,
        order: str | None = None,
    ) -> Any:
        found: list[RegistryInfo] = []
        if entity == c.store.organization:
            query = loads_json(filters, what="filters") if filters else {}
            found = [
                info
                for info in registries.list_registries(c.store, c.caller, None)
                if matches(_fields(info), query)
            ]
        chunk, page_info = page(found, after, first, c.max_page)
        return {"pageInfo": page_info, "edges": [{"node": registry_obj(c, i, org)} for i in chunk]}

    return resolve


def project(c: Ctx, entity: str, org: dict[str, Any]) -> Callable[..., Any]:
    """``Entity.project(name)``: on the organization's entity (``org``), one registry (or
    None)."""

    def resolve(_info: Info, name: str | None = None) -> Any:
        if entity != c.store.organization or not name or not name.startswith(REGISTRY_PREFIX):
            return None
        found = or_none(
            lambda: registries.get_registry(c.store, c.caller, None, name[len(REGISTRY_PREFIX) :])
        )
        return None if found is None else registry_obj(c, found, org)

    return resolve
