"""The per-key token bucket (``service.rate_limit``), on a clock the test moves."""

from __future__ import annotations

import dataclasses
import threading

import pytest

from cairn.errors import CommError, RateLimitError
from cairn.service.limits import DEFAULT_LIMITS
from cairn.service.rate_limit import RateLimiter, limiter_for


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def refused(limiter: RateLimiter, key: str) -> RateLimitError:
    with pytest.raises(RateLimitError) as caught:
        limiter.check(key)
    return caught.value


def test_a_key_gets_a_burst_of_its_rate_then_waits() -> None:
    clock = Clock()
    limiter = RateLimiter(3, clock=clock)
    for _ in range(3):
        limiter.check("k")
    error = refused(limiter, "k")
    assert error.retry_after == 1
    assert isinstance(error, CommError)
    assert "3 per second" in str(error)
    clock.now += 0.34  # one request back (3 per second)
    limiter.check("k")
    refused(limiter, "k")
    clock.now += 10  # never more than the burst
    for _ in range(3):
        limiter.check("k")
    refused(limiter, "k")


def test_refused_requests_are_not_counted() -> None:
    clock = Clock()
    limiter = RateLimiter(1, clock=clock)
    limiter.check("k")
    for _ in range(5):
        refused(limiter, "k")
    clock.now += 1
    limiter.check("k")


def test_slow_rates_ask_for_a_longer_wait_in_whole_seconds() -> None:
    clock = Clock()
    limiter = RateLimiter(0.4, clock=clock)  # a burst of 1, one request per 2.5 s
    limiter.check("k")
    assert refused(limiter, "k").retry_after == 3
    clock.now += 1
    assert refused(limiter, "k").retry_after == 2
    clock.now += 1.5
    limiter.check("k")


def test_keys_are_counted_apart() -> None:
    limiter = RateLimiter(1, clock=Clock())
    limiter.check("a")
    refused(limiter, "a")
    limiter.check("b")


def test_idle_keys_are_forgotten() -> None:
    clock = Clock()
    limiter = RateLimiter(2, clock=clock)
    for key in ("a", "b", "c"):
        limiter.check(key)
    assert len(limiter) == 3
    clock.now += 0.5
    limiter.check("c")
    clock.now += 0.6  # a and b full again (1.1 s >= burst / rate); c not yet
    limiter.check("d")
    assert len(limiter) == 2
    clock.now += 60
    limiter.check("e")
    assert len(limiter) == 1


def test_at_most_max_keys_buckets_are_kept() -> None:
    limiter = RateLimiter(1, max_keys=100, clock=Clock())
    for i in range(1000):
        limiter.check(f"key-{i}")
    assert len(limiter) == 100
    refused(limiter, "key-999")  # the most recent are kept
    limiter.check("key-0")  # the oldest was dropped: a fresh bucket (lenient by one burst)


def test_concurrent_requests_of_one_key_share_its_bucket() -> None:
    limiter = RateLimiter(50, clock=Clock())  # the clock stands still: exactly 50 pass
    passed = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        for _ in range(20):
            try:
                limiter.check("k")
            except RateLimitError:
                continue
            passed.append(1)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(passed) == 50


@pytest.mark.parametrize(
    "args",
    [
        {"rate": 0},
        {"rate": -1},
        {"rate": float("nan")},
        {"rate": float("inf")},
        {"rate": 1, "burst": 0.5},
        {"rate": 1, "max_keys": 0},
    ],
)
def test_nonsense_is_refused(args: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RateLimiter(**args)  # type: ignore[arg-type]


def test_the_limiter_of_the_limits() -> None:
    assert DEFAULT_LIMITS.rate_limit is None and limiter_for(DEFAULT_LIMITS) is None
    limiter = limiter_for(dataclasses.replace(DEFAULT_LIMITS, rate_limit=5))
    assert limiter is not None and (limiter.rate, limiter.burst) == (5, 5)


def test_rate_limit_error_waits_at_least_a_second() -> None:
    assert RateLimitError("x", retry_after=0).retry_after == 1
    assert RateLimitError("x", retry_after=12).retry_after == 12
    assert RateLimitError("x").retry_after == 1
