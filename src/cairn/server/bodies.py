"""Receiving a request body into a new file: the one streaming loop every upload route uses.

The body is written as it arrives (never held in memory) and optionally hashed on the way,
so a route that must check a part's MD5 does not read the file again. An upload must
declare its length (``Content-Length``; the official wandb client always does): a body
without one is refused (411), one declared longer than the size its URL was issued for is
refused before a byte is read, and a body is cut off (413) as soon as it passes what it
declared.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from pathlib import Path

    from starlette.requests import Request


class BodyTooLarge(Exception):
    """The body passed the limit the route allows; what was written must be discarded."""


class LengthRequired(Exception):
    """An upload came without ``Content-Length``."""


class _Hasher(Protocol):
    def update(self, data: bytes, /) -> None: ...


def upload_limit(request: Request, issued: int | None = None) -> int:
    """How many bytes an upload may send: its ``Content-Length``, which must not be over
    ``issued`` (the size its URL was issued for), when known.

    Raises: LengthRequired (no or an invalid ``Content-Length``), BodyTooLarge (declared
    longer than ``issued``).
    """
    declared = request.headers.get("content-length", "")
    if not declared.isascii() or not declared.isdigit():
        raise LengthRequired("an upload must declare its Content-Length")
    length = int(declared)
    if issued is not None and length > issued:
        raise BodyTooLarge(f"body of {length} bytes, longer than the {issued} bytes signed for")
    return length


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
