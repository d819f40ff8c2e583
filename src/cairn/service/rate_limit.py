"""Requests per second per API key (``Limits.rate_limit``; DESIGN §5).

A token bucket per key: a key may send ``rate`` requests per second on average, and a
burst of ``burst`` at once (by default as many as its rate, at least one). A request over
it is refused with ``RateLimitError`` before anything is done, carrying how long to wait
(the server answers 429 with ``Retry-After``). Off unless the server is given a rate.

Memory stays bounded however many keys call: a bucket left alone for ``burst / rate``
seconds is full again, exactly like a new one, so it is dropped then; and at most
``max_keys`` buckets are kept, the least recently used going first when there are more
(its key, if it comes back, starts with a full bucket: lenient by at most one burst).

Each app process counts on its own: N processes behind one address allow N times the
rate. Nothing here knows HTTP; the server calls ``check`` once it knows the caller's key.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING

from cairn.errors import RateLimitError

if TYPE_CHECKING:
    from collections.abc import Callable

    from cairn.service.limits import Limits

MAX_KEYS = 100_000
"""How many keys' buckets a limiter keeps at most (about 100 bytes each)."""


class RateLimiter:
    """A token bucket per API key id (thread-safe).

    Raises (at construction): ValueError for a rate or burst that is not a positive
    finite number, a burst under 1, or ``max_keys`` under 1.
    """

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        *,
        max_keys: int = MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not (math.isfinite(rate) and rate > 0):
            raise ValueError(f"Invalid rate limit {rate!r}: expected requests per second > 0")
        capacity = max(1.0, rate) if burst is None else burst
        if not (math.isfinite(capacity) and capacity >= 1):
            raise ValueError(f"Invalid burst {burst!r}: expected a number of requests >= 1")
        if max_keys < 1:
            raise ValueError(f"Invalid max_keys {max_keys!r}: expected at least 1")
        self.rate = float(rate)
        self.burst = float(capacity)
        self.max_keys = max_keys
        self._clock = clock
        self._refill_seconds = self.burst / self.rate  # an untouched bucket is full by then
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # (tokens, at)
        self._lock = threading.Lock()

    def check(self, key_id: str) -> None:
        """Count one request of ``key_id``, or refuse it.

        Raises: RateLimitError (with ``retry_after``: the whole seconds, at least 1, until
        the key may send again) when the key has no request left; nothing is counted then.
        """
        now = self._clock()
        with self._lock:
            self._forget_full(now)
            tokens, at = self._buckets.pop(key_id, (self.burst, now))
            tokens = min(self.burst, tokens + max(0.0, now - at) * self.rate)
            if tokens >= 1:
                self._buckets[key_id] = (tokens - 1, now)
                while len(self._buckets) > self.max_keys:
                    self._buckets.popitem(last=False)
                return
            self._buckets[key_id] = (tokens, now)
        wait = max(1, math.ceil((1 - tokens) / self.rate))
        raise RateLimitError(
            f"too many requests: this key may send {self.rate:g} per second; retry after {wait} s",
            retry_after=wait,
        )

    def __len__(self) -> int:
        """How many keys' buckets are kept."""
        with self._lock:
            return len(self._buckets)

    def _forget_full(self, now: float) -> None:
        """Drop the buckets untouched long enough to be full again (the oldest come first)."""
        while self._buckets:
            _tokens, at = next(iter(self._buckets.values()))
            if now - at < self._refill_seconds:
                return
            self._buckets.popitem(last=False)


def limiter_for(limits: Limits) -> RateLimiter | None:
    """The limiter of ``limits.rate_limit`` (a burst of as many), or None when it is off.

    Raises: ValueError for a rate that is not a positive finite number.
    """
    return None if limits.rate_limit is None else RateLimiter(limits.rate_limit)
