"""What every resolver of the facade gets: the server state, the caller, the base URL.

Also the one authorization helper set the resolvers use, so each of them authorizes
exactly as the REST route of the same verb does (``cairn.service.authz``).
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeAlias

from graphql import GraphQLResolveInfo

from cairn.server.state import ServerState
from cairn.service.authz import Principal
from cairn.service.store import Store

# A resolver's ``info``; its context is the dict the endpoint builds ({"ctx": Ctx, ...}).
Info: TypeAlias = GraphQLResolveInfo[dict[str, Any]]


@dataclasses.dataclass(frozen=True)
class Ctx:
    """One GraphQL request: ``base_url`` is where signed URLs point (no trailing slash)."""

    state: ServerState
    principal: Principal
    base_url: str

    @property
    def store(self) -> Store:
        """The organization-wide store (database; blob area of the organization)."""
        return self.state.store

    def entity_store(self, entity: str) -> Store:
        """The store whose blob area is ``entity``'s. Raises: CommError (bad name)."""
        return self.state.for_entity(entity)


def ctx(info: Info) -> Ctx:
    """The request context of a resolver call."""
    value: Ctx = info.context["ctx"]
    return value


def obj(typename: str, **fields: Any) -> dict[str, Any]:
    """A GraphQL object as a dict (callable values are resolved lazily with their args)."""
    return {"__typename": typename, **fields}
