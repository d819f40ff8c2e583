"""Receiving a request body into a new file: the one streaming loop every upload route uses.

The body is written as it arrives (never held in memory), refused once it passes its
limit, and optionally hashed on the way, so a route that must check a part's MD5 does not
read the file again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from starlette.requests import Request


class BodyTooLarge(Exception):
    """The body passed the limit the route allows; what was written must be discarded."""


class _Hasher(Protocol):
    def update(self, data: bytes, /) -> None: ...


async def receive_body(
    request: Request, dest: Path, limit: int | None, hasher: _Hasher | None = None
) -> int:
    """Stream the body into the new file ``dest`` (feeding ``hasher`` if given); return
    how many bytes arrived.

    Raises: BodyTooLarge (more than ``limit`` bytes), FileExistsError (``dest`` exists),
    OSError.
    """
    received = 0
    with open(dest, "xb") as out:
        async for chunk in request.stream():
            received += len(chunk)
            if limit is not None and received > limit:
                raise BodyTooLarge(f"body longer than {limit} bytes")
            if hasher is not None:
                hasher.update(chunk)
            out.write(chunk)
    return received
