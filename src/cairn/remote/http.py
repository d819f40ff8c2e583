"""HTTP for the remote backend: one connection-reusing client, retries, errors as exceptions.

Every call of the REST API goes through ``ApiClient.call``. Failures come back from the
server as ``{"error": {"code", "message"}}`` and are raised as the very exception classes
embedded mode raises (``raise_for``), so the SDK behaves the same in both modes. Retries
(with exponential backoff and jitter) cover network errors and 5xx answers of idempotent
calls; a request that never reached the server (connection refused) is retried for every
call, since nothing can have happened, and so is one refused with 429 (the key sent more
than its rate: the server did nothing) or with 503 ``not_ready`` (a large upload it
names is still being checked: nothing was done either), after the ``Retry-After`` the
server asks for (at most ``RETRY_AFTER_MAX_SECONDS``, plus jitter). Signed transfer URLs
are fetched by a second client that never carries the API key: the signature is the
credential, and an S3 presigned URL refuses a second authorization.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import math
import random
import time
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from cairn.errors import (
    AuthenticationError,
    AuthorizationError,
    CommError,
    CorruptionError,
    NotFoundError,
    NotReadyError,
    RateLimitError,
)

if TYPE_CHECKING:
    from collections.abc import Callable

API_PREFIX = "/api/v1"
ATTEMPTS = 5
BACKOFF_SECONDS = 0.25
BACKOFF_MAX_SECONDS = 8.0
RETRY_AFTER_MAX_SECONDS = 30.0
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
        RateLimitError: ``rate_limited``, or any 429 (a ``CommError``; its ``retry_after``
            from the ``Retry-After`` header).
        NotReadyError: ``not_ready`` (a ``CommError``: an upload still being verified; its
            ``retry_after`` from the ``Retry-After`` header).
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
    if code == "rate_limited" or response.status_code == 429:
        wait = retry_after_seconds(response)
        retry_after = 1 if wait is None else math.ceil(wait)
        raise RateLimitError(message, retry_after=retry_after, context=context)
    if code == "not_ready":
        wait = retry_after_seconds(response)
        raise NotReadyError(message, retry_after=1 if wait is None else math.ceil(wait))
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


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The wait a ``Retry-After`` header asks for (seconds, or an HTTP date), in seconds;
    None when there is none or it cannot be read."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def with_retries(action: Callable[[], T], idempotent: bool, what: str) -> T:
    """Run ``action`` (one HTTP exchange), retrying network errors, 5xx and 429 answers.

    ``action`` raises ``httpx.TransportError`` for network errors and returns the answer;
    ``RetryableStatus`` (raised by ``action``) marks a 5xx or 429 worth retrying.
    Non-idempotent actions are retried only when the connection was never made or the
    server refused them with 429 or 503 ``not_ready`` (it did nothing); those are retried
    after their ``Retry-After`` (at most ``RETRY_AFTER_MAX_SECONDS``, plus up to a quarter
    more).

    Raises:
        RateLimitError: the last attempt was refused with 429.
        NotReadyError: the last attempt was refused with 503 ``not_ready``.
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
            if not idempotent and not _untouched(exc):
                raise _comm_error(what, exc) from exc
            failure = exc
        if attempt >= ATTEMPTS:
            raise _comm_error(what, failure) from failure
        time.sleep(_delay(failure, attempt))


def _untouched(exc: Exception) -> bool:
    """Whether the server refused the request without doing anything: 429 (rate), or 503
    ``not_ready`` (an upload still being checked); both say when to send it again."""
    if not isinstance(exc, RetryableStatus):
        return False
    status = exc.response.status_code
    return status == 429 or (status == 503 and _error_of(exc.response)[0] == "not_ready")


def _delay(failure: Exception, attempt: int) -> float:
    """Seconds to wait before attempt ``attempt + 1``: what a 429 or a 503 ``not_ready``
    asks for, else backoff."""
    if isinstance(failure, RetryableStatus) and _untouched(failure):
        wait = retry_after_seconds(failure.response)
        if wait is not None:
            wait = min(RETRY_AFTER_MAX_SECONDS, wait)
            return wait + random.uniform(0, max(0.1, wait / 4))
    delay = min(BACKOFF_MAX_SECONDS, BACKOFF_SECONDS * 2.0 ** (attempt - 1))
    return delay * (0.5 + random.random() / 2)


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
