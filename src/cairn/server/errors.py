"""Errors as JSON: every failure answers ``{"error": {"code": ..., "message": ...}}``.

The codes are stable (the client maps them back to the exceptions embedded mode raises):

=================  ======  ===============================================
code               status  raised for
=================  ======  ===============================================
unauthenticated    401     missing, unknown or revoked key; bad signature
forbidden          403     readable, but the caller's role does not allow it
not_found          404     unknown or unreadable thing (``NotFoundError``, ``KeyError``)
conflict           409     other ``CommError`` (e.g. aliases still set, blob missing)
digest_mismatch    400     uploaded bytes do not match their digest
invalid_argument   400     ``ValueError``
invalid_request    422     a body or parameter that does not fit the schema
too_large          413     a body over the limit
length_required    411     an upload without ``Content-Length``
rate_limited       429     the key sent more than its rate (``RateLimitError``);
                           ``Retry-After`` says how many seconds to wait
not_ready          503     work the request needs is under way (``NotReadyError``:
                           a large upload still being verified); nothing was
                           done, ``Retry-After`` says when to send it again
method_not_allowed 405
internal           500     anything else (logged, message withheld)
=================  ======  ===============================================
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from cairn.errors import (
    AuthenticationError,
    AuthorizationError,
    CommError,
    CorruptionError,
    NotFoundError,
    NotReadyError,
    RateLimitError,
)
from cairn.server.bodies import BodyTooLarge, LengthRequired

if TYPE_CHECKING:
    from fastapi import FastAPI, Request

log = logging.getLogger(__name__)

_HTTP_CODES = {
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
}


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )


def retry_after(exc: RateLimitError | NotReadyError) -> dict[str, str]:
    """The ``Retry-After`` header of a refusal for rate, or of a request sent too early
    (whole seconds, at least 1)."""
    return {"Retry-After": str(max(1, exc.retry_after))}


def classify(exc: Exception) -> tuple[int, str]:
    """The HTTP status and error code of a service exception."""
    if isinstance(exc, AuthenticationError):
        return 401, "unauthenticated"
    if isinstance(exc, AuthorizationError):
        return 403, "forbidden"
    if isinstance(exc, NotFoundError):
        return 404, "not_found"
    if isinstance(exc, RateLimitError):
        return 429, "rate_limited"
    if isinstance(exc, NotReadyError):
        return 503, "not_ready"
    if isinstance(exc, CommError):
        return 409, "conflict"
    if isinstance(exc, CorruptionError):
        return 400, "digest_mismatch"
    if isinstance(exc, ValueError):
        return 400, "invalid_argument"
    if isinstance(exc, KeyError):
        return 404, "not_found"
    return 500, "internal"


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into the JSON body above."""

    async def on_error(_request: Request, exc: Exception) -> JSONResponse:
        status, code = classify(exc)
        if status == 500:
            log.exception("unexpected error", exc_info=exc)
            return error_response(500, code, "internal server error")
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        headers = retry_after(exc) if isinstance(exc, RateLimitError | NotReadyError) else None
        return error_response(status, code, str(message), headers)

    async def on_http(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        code = _HTTP_CODES.get(exc.status_code, "invalid_request")
        return error_response(exc.status_code, code, str(exc.detail))

    async def on_validation(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}"
            for e in exc.errors()[:5]
        )
        return error_response(422, "invalid_request", problems or "invalid request")

    async def on_too_large(_request: Request, exc: Exception) -> JSONResponse:
        return error_response(413, "too_large", str(exc))

    async def on_length_required(_request: Request, exc: Exception) -> JSONResponse:
        return error_response(411, "length_required", str(exc))

    for cls in (CommError, ValueError, KeyError, Exception):
        app.add_exception_handler(cls, on_error)
    app.add_exception_handler(BodyTooLarge, on_too_large)
    app.add_exception_handler(LengthRequired, on_length_required)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
