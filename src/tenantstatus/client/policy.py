"""How long the client trusts an answer, and how hard it tries to get a new one."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

from tenantstatus.client.errors import StatusUnavailable

__all__ = ["CachePolicy", "RetryPolicy", "RetryRun"]


@dataclass(frozen=True, slots=True)
class CachePolicy:
    """How the pull client caches answers.

    An answer is fresh until its `ValidUntil`, measured against the service's own
    clock (its `Date` header) and capped by `Cache-Control: max-age`, so a skewed local
    clock never stretches it; `skew_margin` absorbs the `Date` header's one-second
    resolution. When the service is unreachable, the last answer is served, marked
    stale, for at most `max_stale` past its freshness, and the client asks again at
    most every `failure_hold`.
    """

    max_entries: int = 10_000
    max_lifetime: timedelta = timedelta(hours=1)
    max_stale: timedelta = timedelta(minutes=15)
    skew_margin: timedelta = timedelta(seconds=1)
    failure_hold: timedelta = timedelta(seconds=5)

    def __post_init__(self) -> None:
        if self.max_entries < 1:
            raise ValueError("max_entries must be at least 1")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retries on connection errors, timeouts and 5xx: exponential backoff with jitter.

    `attempts` counts the first try. A `Retry-After` longer than `max_backoff` ends the
    retries at once: the caller learns when to come back instead of waiting here.
    """

    attempts: int = 3
    backoff: float = 0.2
    max_backoff: float = 5.0
    jitter: float = 0.1

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")

    def start(self) -> RetryRun:
        """A fresh count of attempts for one request."""
        return RetryRun(self)

    def delays(self) -> Iterator[float]:
        """The pause before each retry, in seconds (one fewer than `attempts`)."""
        for retry in range(self.attempts - 1):
            delay = min(self.max_backoff, self.backoff * 2**retry)
            # Jitter spreads clients that failed together; it protects nothing.
            yield delay * (1 + self.jitter * random.random())  # noqa: S311


class RetryRun:
    """The attempts of one request: after each failure, how long to wait, or give up."""

    __slots__ = ("_delays", "_policy")

    def __init__(self, policy: RetryPolicy) -> None:
        self._policy = policy
        self._delays = policy.delays()

    def next_delay(self, failure: StatusUnavailable) -> float:
        """Seconds to wait before the next attempt; raises `failure` when none is left."""
        delay = next(self._delays, None)
        if delay is None:
            raise failure
        if failure.retry_after is not None:
            if failure.retry_after > self._policy.max_backoff:
                raise failure
            delay = max(delay, failure.retry_after)
        return delay
