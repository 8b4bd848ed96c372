"""Sign a page of catch-up notifications off the event loop, on every core.

A page of 100 with RS256 is 100 fresh RSA signatures (about 0.25 ms each). OpenSSL
signs with the GIL released, so the page is cut into one slice per thread and the
slices are signed at once: the event loop stays free and the page takes about
1/threads of the time. ECDSA (ES256) signs fast enough to stay on the loop, as the
dispatcher does (BENCHMARKS.md, "Catch-up feed").
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from tenantstatus.delivery.envelope import notification_body, notification_token
from tenantstatus.store.push_records import Delivery
from tenantstatus.tokens import SigningKeyRing

__all__ = ["PageSigner", "SignedNotification", "sign_bodies"]

# Fewer signatures than this are not worth a thread hop each.
_MIN_SLICE = 8


@dataclass(frozen=True, slots=True)
class SignedNotification:
    """A fresh token and the exact wire body that carries it."""

    token: str
    body: bytes


def sign_bodies(
    deliveries: Sequence[Delivery], *, ring: SigningKeyRing, issuer: str, now: datetime
) -> list[SignedNotification]:
    """Each delivery's wire body with a fresh token, in order."""
    signed = []
    for delivery in deliveries:
        token = notification_token(delivery, ring=ring, issuer=issuer, now=now)
        signed.append(SignedNotification(token, notification_body(delivery, token)))
    return signed


class PageSigner:
    """Signs pages in `threads` threads (0: on the caller's thread); the pool starts lazily."""

    def __init__(self, threads: int) -> None:
        self.threads = threads
        self._pool: ThreadPoolExecutor | None = None

    async def sign(
        self, deliveries: Sequence[Delivery], *, ring: SigningKeyRing, issuer: str, now: datetime
    ) -> list[SignedNotification]:
        """The wire bodies of `deliveries`, in order, signed with `ring` at `now`."""
        slow = ring.active.algorithm.startswith(("RS", "PS"))
        if self.threads <= 0 or not slow or not deliveries:
            return sign_bodies(deliveries, ring=ring, issuer=issuer, now=now)
        pool = self._pool
        if pool is None:
            pool = self._pool = ThreadPoolExecutor(
                self.threads, thread_name_prefix="tenantstatus-page-sign"
            )
        size = max(_MIN_SLICE, -(-len(deliveries) // self.threads))
        loop = asyncio.get_running_loop()
        slices = [deliveries[i : i + size] for i in range(0, len(deliveries), size)]
        signed = await asyncio.gather(
            *(
                loop.run_in_executor(
                    pool, functools.partial(sign_bodies, part, ring=ring, issuer=issuer, now=now)
                )
                for part in slices
            )
        )
        return [one for part in signed for one in part]

    def close(self) -> None:
        """Stop the threads (after the running slices finish)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
