"""Reading JSON request bodies strictly: a key given twice, or nesting too deep to parse,
is refused with 400 before a route sees the body.

JSON allows duplicate keys and most parsers keep the last one silently, so two readers of
the same body may disagree on what it says; the server refuses such a body instead. A body
nested deeper than the parser can follow is refused the same way, never a 500. Every
router of the REST API uses ``StrictJsonRoute``; the GraphQL endpoint and ``file_stream``
call ``parse`` themselves.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import TYPE_CHECKING, Any

from fastapi import HTTPException, Request
from fastapi.routing import APIRoute

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine

    from starlette.responses import Response


class DuplicateKey(ValueError):
    """A JSON object names one key twice."""


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        counts = Counter(key for key, _value in pairs)
        twice = next(key for key, count in counts.items() if count > 1)
        raise DuplicateKey(f"the JSON body gives the key {twice!r} twice")
    return found


def parse(body: bytes) -> Any:
    """The JSON value of ``body``.

    Raises: HTTPException 400 (a duplicate key, or nesting too deep to parse),
    json.JSONDecodeError (not JSON).
    """
    try:
        return json.loads(body, object_pairs_hook=_unique)
    except DuplicateKey as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None
    except RecursionError:
        raise HTTPException(status_code=400, detail="the JSON body is nested too deeply") from None


class _StrictJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = parse(await self.body())
        return self._json


class StrictJsonRoute(APIRoute):
    """A route whose JSON body is read by ``parse``."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            return await handler(_StrictJsonRequest(request.scope, request.receive))

        return strict
