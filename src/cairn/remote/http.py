"""HTTP for the remote backend: one connection-reusing client, retries, errors as exceptions.

Every call of the REST API goes through ``ApiClient.call``. Failures come back from the
server as ``{"error": {"code", "message"}}`` and are raised as the very exception classes
embedded mode raises (``raise_for``), so the SDK behaves the same in both modes. Retries
(with exponential backoff and jitter) cover network errors and 5xx answers of idempotent
calls; a request that never reached the server (connection refused) is retried for every
call, since nothing can have happened. Signed transfer URLs are fetched by a second client
that never carries the API key: the signature is the credential, and an S3 presigned URL
refuses a second authorization.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from cairn.errors import (
    AuthenticationError,
    AuthorizationError,
    CommError,
    CorruptionError,
    NotFoundError,
)

API_PREFIX = "/api/v1"
ATTEMPTS = 5
BACKOFF_SECONDS = 0.25
BACKOFF_MAX_SECONDS = 8.0
TIMEOUT = httpx.Timeout(connect=10.0, read=300.0, write=300.0, pool=60.0)
POOL = httpx.Limits(max_connections=32, max_keepalive_connections=32)

T = TypeVar("T")


def raise_for(response: httpx.Response) -> None:
    """Raise the embedded-mode exception of an error answer (nothing for a 2xx).

    Raises:
        AuthenticationError: ``unauthenticated`` (missing, unknown or revoked key).
        AuthorizationError: ``forbidden``.
        NotFoundError: ``not_found`` (a ``CommError``, as embedded mode raises).
        CommError: ``conflict``, 5xx and unknown codes.
        CorruptionError: ``digest_mismatch``.
        ValueError: ``invalid_argument``, ``invalid_request``, ``too_large``.
    """
    if response.is_success:
        return
    code, message = _error_of(response)
    context = {"status": response.status_code, "code": code}
    if code == "unauthenticated":
        raise AuthenticationError(message, context=context)
    if code == "forbidden":
        raise AuthorizationError(message, context=context)
    if code == "not_found":
        raise NotFoundError(message, context=context)
    if code == "digest_mismatch":
        raise CorruptionError(message, context=context)
    if code in ("invalid_argument", "invalid_request", "too_large"):
        raise ValueError(message)
    raise CommError(message, context=context)


def _error_of(response: httpx.Response) -> tuple[str, str]:
    try:
        body = response.json()
        error = body["error"]
        return str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        text = response.text[:200].strip() or response.reason_phrase
        code = {401: "unauthenticated", 403: "forbidden", 404: "not_found"}.get(
            response.status_code, "unknown"
        )
        return code, f"HTTP {response.status_code} from {response.request.url}: {text}"


def with_retries(action: Callable[[], T], idempotent: bool, what: str) -> T:
    """Run ``action`` (one HTTP exchange), retrying network errors and 5xx answers.

    ``action`` raises ``httpx.TransportError`` for network errors and returns the answer;
    ``RetryableStatus`` (raised by ``action``) marks a 5xx worth retrying. Non-idempotent
    actions are retried only when the connection was never made.

    Raises:
        CommError: the last attempt failed on the network or with a 5xx (names ``what``).
    """
    attempt = 0
    while True:
        attempt += 1
        try:
            return action()
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            failure: Exception = exc
        except (httpx.TransportError, RetryableStatus) as exc:
            if not idempotent:
                raise _comm_error(what, exc) from exc
            failure = exc
        if attempt >= ATTEMPTS:
            raise _comm_error(what, failure) from failure
        delay = min(BACKOFF_MAX_SECONDS, BACKOFF_SECONDS * 2 ** (attempt - 1))
        time.sleep(delay * (0.5 + random.random() / 2))


def _comm_error(what: str, exc: Exception) -> CommError:
    if isinstance(exc, RetryableStatus):
        try:
            raise_for(exc.response)
        except CommError as error:
            return error
    return CommError(f"{what} failed: {type(exc).__name__}: {exc}", exc=exc)


class RetryableStatus(Exception):
    """A 5xx answer (or 429) of an attempt; carries the response for the final error."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


def check_retryable(response: httpx.Response) -> httpx.Response:
    """Raise ``RetryableStatus`` for 5xx and 429 answers; return others unchanged."""
    if response.status_code >= 500 or response.status_code == 429:
        response.read()
        raise RetryableStatus(response)
    return response


class ApiClient:
    """The REST API of one server, called with one API key (thread-safe).

    Raises (at construction): ValueError for a base URL that is not http(s).
    """

    def __init__(self, base_url: str, api_key: str | None) -> None:
        base = base_url.rstrip("/")
        if not base.startswith(("http://", "https://")):
            raise ValueError(f"Invalid CAIRN_BASE_URL {base_url!r}: expected http:// or https://")
        headers = {"User-Agent": "cairn-client"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self.base_url = base
        self.api = httpx.Client(
            base_url=base + API_PREFIX, headers=headers, timeout=TIMEOUT, limits=POOL
        )
        self.transfers = httpx.Client(timeout=TIMEOUT, limits=POOL, follow_redirects=True)

    def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        idempotent: bool | None = None,
    ) -> httpx.Response:
        """One API call; returns the 2xx answer.

        ``idempotent`` defaults to True for GET, PUT and DELETE.

        Raises: see ``raise_for``; ``CommError`` when the server cannot be reached.
        """
        retry = method in ("GET", "PUT", "DELETE") if idempotent is None else idempotent
        query = {k: v for k, v in (params or {}).items() if v is not None}

        def attempt() -> httpx.Response:
            return check_retryable(self.api.request(method, path, json=json, params=query))

        response = with_retries(attempt, retry, f"{method} {self.base_url}{API_PREFIX}{path}")
        raise_for(response)
        return response

    def close(self) -> None:
        self.api.close()
        self.transfers.close()
