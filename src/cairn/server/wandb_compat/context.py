"""What every resolver of the facade gets: the server state, the caller, the base URL.

Resolvers translate: each field, at any depth, is read through a ``cairn.service`` call
made for ``Ctx.caller``, which checks what the caller may see. What it may not see is
null (or left out of a list), never an error that would tell it exists.
"""

from __future__ import annotations

import base64
import dataclasses
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from graphql import GraphQLResolveInfo

from cairn.errors import CommError

if TYPE_CHECKING:
    from collections.abc import Callable

    from cairn.server.state import ServerState
    from cairn.service.caller import Caller
    from cairn.service.resources import Store

# A resolver's ``info``; its context is the dict the endpoint builds ({"ctx": Ctx, ...}).
Info: TypeAlias = GraphQLResolveInfo[dict[str, Any]]
T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Ctx:
    """One GraphQL request: ``base_url`` is where signed URLs point (no trailing slash)."""

    state: ServerState
    caller: Caller
    base_url: str

    @property
    def store(self) -> Store:
        """The server's store: every service call gets it, with ``caller``."""
        return self.state.store

    @property
    def max_page(self) -> int:
        """The most items one page of a list may hold."""
        return self.state.config.limits.max_page


def ctx(info: Info) -> Ctx:
    """The request context of a resolver call."""
    value: Ctx = info.context["ctx"]
    return value


def obj(typename: str, **fields: Any) -> dict[str, Any]:
    """A GraphQL object as a dict (callable values are resolved lazily with their args)."""
    return {"__typename": typename, **fields}


def or_none(read: Callable[[], T]) -> T | None:
    """``read()``, or None when the service says the thing is not there for this caller."""
    try:
        return read()
    except CommError:
        return None


def gid(kind: str, key: str) -> str:
    """A W&B-style opaque id: base64 of ``<kind>:<key>``."""
    return base64.b64encode(f"{kind}:{key}".encode()).decode()


def page(
    items: list[Any], after: str | None, first: int | None, max_page: int
) -> tuple[list[Any], dict[str, Any]]:
    """One page of ``items`` after the offset cursor ``after`` (at most ``max_page`` of
    them); and its ``pageInfo``."""
    start = int(after) if after and after.isascii() and after.isdigit() else 0
    count = min(first if first and first > 0 else max_page, max_page)
    chunk = items[start : start + count]
    end = start + len(chunk)
    return chunk, {"endCursor": str(end), "hasNextPage": end < len(items)}
