"""The mutations that edit a collection: its name and description, its type, its tags,
and deleting it (``ArtifactCollection.save()``, ``change_type()``, ``delete()`` of the
official client). Each is one ``cairn.service.edits`` call for the request's caller.

A collection is named by the id the facade gave it (``graphql_objects.collection_by_id``: its own
id, which survives a rename) or, for tags, by entity, project and name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ariadne import ObjectType

from cairn.errors import NotFoundError
from cairn.server.wandb_compat import graphql_objects
from cairn.server.wandb_compat.context import Ctx, Info, ctx
from cairn.service import collections, edits
from cairn.service.fields import bounded

if TYPE_CHECKING:
    from cairn.protocol import CollectionInfo

mutation = ObjectType("Mutation")


def _collection(c: Ctx, collection_id: str) -> CollectionInfo:
    """Raises: NotFoundError (unknown, or not readable by the caller)."""
    found = graphql_objects.collection_by_id(c, collection_id)
    if found is None:
        raise NotFoundError(f"artifact collection '{collection_id}' not found")
    return found


def _edit(c: Ctx, found: CollectionInfo, **changes: Any) -> dict[str, Any]:
    description = changes.pop("description", found.description)
    tags = changes.pop("tags", found.tags)
    edited = edits.edit_collection(
        c.store, c.caller, found.entity, found.project, found.name, description, tags, **changes
    )
    return {"artifactCollection": graphql_objects.info_obj(c, edited)}


def _rename(c: Ctx, collection_id: str, input: dict[str, Any]) -> dict[str, Any]:
    found = _collection(c, collection_id)
    name = input.get("name")
    description = input.get("description", found.description)
    return _edit(c, found, description=description, new_name=name or None)


@mutation.field("updateArtifactSequence")
def update_sequence(_obj: Any, info: Info, input: dict[str, Any]) -> Any:
    return _rename(ctx(info), input["artifactSequenceID"], input)


@mutation.field("updateArtifactPortfolio")
def update_portfolio(_obj: Any, info: Info, input: dict[str, Any]) -> Any:
    return _rename(ctx(info), input["artifactPortfolioID"], input)


@mutation.field("moveArtifactSequence")
def move_sequence(_obj: Any, info: Info, input: dict[str, Any]) -> Any:
    c = ctx(info)
    found = _collection(c, input["artifactSequenceID"])
    return _edit(c, found, new_type=input["destinationArtifactTypeName"])


def _delete(c: Ctx, collection_id: str) -> dict[str, Any]:
    found = _collection(c, collection_id)
    edits.delete_collection(c.store, c.caller, found.entity, found.project, found.name)
    typename = "ArtifactSequence" if found.is_sequence else "ArtifactPortfolio"
    return {"artifactCollection": {"__typename": typename, "state": "DELETED"}}


@mutation.field("deleteArtifactSequence")
def delete_sequence(_obj: Any, info: Info, input: dict[str, Any]) -> Any:
    return _delete(ctx(info), input["artifactSequenceID"])


@mutation.field("deleteArtifactPortfolio")
def delete_portfolio(_obj: Any, info: Info, input: dict[str, Any]) -> Any:
    return _delete(ctx(info), input["artifactPortfolioID"])


def _tagged(c: Ctx, input: dict[str, Any]) -> tuple[CollectionInfo, list[str]]:
    found = collections.get_collection(
        c.store,
        c.caller,
        input["entityName"],
        input["projectName"],
        input["artifactCollectionName"],
    )
    names = [t["tagName"] for t in bounded(input["tags"], c.max_page, "tags")]
    return found, names


@mutation.field("createArtifactCollectionTagAssignments")
def add_tags(_obj: Any, info: Info, input: dict[str, Any]) -> Any:
    c = ctx(info)
    found, names = _tagged(c, input)
    _edit(c, found, tags=list(dict.fromkeys([*found.tags, *names])))
    return {"tags": [graphql_objects.tag_obj(name) for name in names]}


@mutation.field("deleteArtifactCollectionTagAssignments")
def delete_tags(_obj: Any, info: Info, input: dict[str, Any]) -> Any:
    c = ctx(info)
    found, names = _tagged(c, input)
    _edit(c, found, tags=[tag for tag in found.tags if tag not in names])
    return {"success": True}


BINDABLES = [mutation]
