"""The dispatcher: claims due outbox rows, POSTs them, records every attempt.

Workers are asyncio tasks bounded by `concurrency`; outcomes are written back in small
batches so the database is not the bottleneck. Delivery is at least once: a crash
after a POST and before its outcome is written means the same delivery, with the same
`webhook-id`, is sent again.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx2 as httpx

from tenantstatus.clock import Clock
from tenantstatus.delivery.envelope import Envelope, seal_envelope
from tenantstatus.delivery.recipients import RecipientDirectory
from tenantstatus.retry import RetrySchedule, parse_retry_after
from tenantstatus.store.push_records import Attempt, Delivery, DeliveryOutcome, DeliveryStatus
from tenantstatus.store.roles import Outbox
from tenantstatus.tokens import SigningKeyRing

__all__ = ["Dispatcher", "DispatcherSettings", "Observer"]

log = logging.getLogger(__name__)

_EXCERPT = 1024


@dataclass(frozen=True, slots=True)
class DispatcherSettings:
    """How hard and how patiently the dispatcher works."""

    concurrency: int = 64
    timeout: float = 15.0
    schedule: RetrySchedule = field(default_factory=RetrySchedule)
    poll_interval: float = 1.0
    flush_interval: float = 0.02
    flush_size: int = 200
    signing_threads: int = 1
    # Held deliveries kept per disabled application; older ones are dropped (logged).
    max_held: int = 10_000
    held_sweep_interval: float = 5.0

    @property
    def lease(self) -> timedelta:
        """How long a claimed delivery stays with its worker before another may take it."""
        return timedelta(seconds=self.timeout * 2 + 30)


Observer = Callable[[str, float | None], None]


class Dispatcher:
    """Sends outbox rows to applications' State Change URLs."""

    def __init__(
        self,
        store: Outbox,
        recipients: RecipientDirectory,
        ring: Callable[[], SigningKeyRing],
        transport: httpx.AsyncBaseTransport,
        clock: Clock,
        *,
        issuer: str,
        settings: DispatcherSettings = DispatcherSettings(),
        observe: Observer | None = None,
        report_depth: Callable[[int], None] | None = None,
    ) -> None:
        self._report_depth = report_depth
        self.store = store
        self.recipients = recipients
        self.ring = ring
        self.transport = transport
        self._timeouts = httpx.Timeout(settings.timeout).as_dict()
        self.clock = clock
        self.issuer = issuer
        self.settings = settings
        self._observe = observe or (lambda outcome, latency: None)
        self._wakeup = asyncio.Event()
        self._slots = asyncio.Semaphore(settings.concurrency)
        self._pending: list[DeliveryOutcome] = []
        self._flushed = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._signer = (
            ThreadPoolExecutor(settings.signing_threads, thread_name_prefix="tenantstatus-sign")
            if settings.signing_threads > 0
            else None
        )

    def wake(self) -> None:
        """Look for work now (an operation just wrote outbox rows)."""
        self._wakeup.set()

    def start(self) -> None:
        """Start claiming and sending."""
        self._tasks = [
            asyncio.create_task(self._claim_loop(), name="tenantstatus-dispatcher"),
            asyncio.create_task(self._flush_loop(), name="tenantstatus-outcomes"),
        ]
        if self._report_depth is not None:
            self._tasks.append(asyncio.create_task(self._depth_loop(self._report_depth)))
        self._tasks.append(asyncio.create_task(self._held_loop(), name="tenantstatus-held"))

    async def stop(self) -> None:
        """Stop claiming, let in-flight deliveries finish (bounded), write their outcomes."""
        for task in self._tasks[:1]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._in_flight:
            await asyncio.wait(self._in_flight, timeout=self.settings.timeout + 1)
        for task in self._tasks[1:]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._flush()
        self._tasks = []
        if self._signer is not None:
            self._signer.shutdown(wait=False)

    async def _claim(self, limit: int) -> list[Delivery]:
        return await self.store.claim_deliveries(
            self.clock.now(), limit=limit, lease=self.settings.lease
        )

    async def _claim_loop(self) -> None:
        while True:
            self._wakeup.clear()
            try:
                free = self._free_slots()
                claimed = await self._claim(free) if free else []
            except Exception:
                log.exception("claiming deliveries failed; retrying")
                claimed = []
            for delivery in claimed:
                await self._slots.acquire()
                task = asyncio.create_task(self._run(delivery))
                self._in_flight.add(task)
                task.add_done_callback(self._in_flight.discard)
            if claimed and len(claimed) == free:
                await asyncio.sleep(0)
                continue
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation
            # that races with the event, and stop() then waits forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.poll_interval):
                    await self._wakeup.wait()

    def _free_slots(self) -> int:
        return self.settings.concurrency - len(self._in_flight)

    async def _run(self, delivery: Delivery) -> None:
        started = time.perf_counter()
        try:
            await self._deliver(delivery)
        except Exception as exc:
            # A bug must not strand the delivery under its lease: it is retried on
            # schedule like any failure, and the traceback goes to the log.
            log.exception("delivery %s failed unexpectedly", delivery.id)
            self._retry(
                delivery,
                self.clock.now(),
                started,
                error=f"internal error ({type(exc).__name__}); see the service log",
            )
        finally:
            self._slots.release()
            # Refill as soon as half the slots are free, not at the next flush or poll:
            # finished deliveries stay leased until their outcomes are written.
            if self._free_slots() >= max(1, self.settings.concurrency // 2):
                self._wakeup.set()

    async def _deliver(self, delivery: Delivery) -> None:
        now = self.clock.now()
        recipient = await self.recipients.get(delivery.application_id, now)
        if recipient is None:
            self._finish(
                delivery,
                Attempt(now, 0, error="the application no longer exists"),
                DeliveryStatus.DEAD,
            )
            return
        ring = self.ring()
        seal = functools.partial(
            seal_envelope,
            delivery,
            ring=ring,
            issuer=self.issuer,
            webhook_secrets=list(recipient.secrets),
            now=now,
        )
        envelope = await self._seal(seal, ring.active.algorithm)
        started = time.perf_counter()
        try:
            response = await self._post(recipient.endpoint, envelope)
        except httpx.TimeoutException:
            self._retry(
                delivery, now, started, error=f"no answer within {self.settings.timeout:g} s"
            )
            return
        except httpx.HTTPError as exc:
            self._retry(delivery, now, started, error=f"{type(exc).__name__}: {exc}"[:500])
            return
        latency = time.perf_counter() - started
        excerpt = response.content[:_EXCERPT].decode("utf-8", errors="replace")
        attempt = Attempt(now, int(latency * 1000), response.status_code, None, excerpt)
        status = response.status_code
        if 200 <= status < 300:
            self._observe("delivered", latency)
            self._finish(delivery, attempt, DeliveryStatus.DELIVERED)
        elif status == 410:
            # Held, not dead: the receiver refused the subscription, not this
            # notification, so `app enable` sends it again, before anything newer. A
            # test is tried once, so it ends here.
            self._observe("gone", latency)
            reason = "the receiver answered 410 Gone"
            self._finish(
                delivery,
                Attempt(now, attempt.latency_ms, status, reason, excerpt),
                DeliveryStatus.DEAD if delivery.test else DeliveryStatus.HELD,
                disable=reason,
            )
        else:
            error = f"HTTP {status}" + (
                " (redirects are not followed)" if 300 <= status < 400 else ""
            )
            retry_after = parse_retry_after(response.headers.get("retry-after"), self.clock.now())
            self._retry(
                delivery,
                now,
                started,
                error=error,
                status=status,
                excerpt=excerpt,
                retry_after=retry_after,
            )

    async def _post(self, url: httpx.URL, envelope: Envelope) -> httpx.Response:
        # Straight to the transport: a delivery needs none of AsyncClient's cookies,
        # auth or redirect handling, which cost a fifth of a POST.
        request = httpx.Request(
            "POST",
            url,
            content=envelope.body,
            headers=envelope.headers,
            extensions={"timeout": self._timeouts},
        )
        response = await self.transport.handle_async_request(request)
        try:
            await response.aread()
        finally:
            await response.aclose()
        return response

    async def _seal(self, seal: Callable[[], Envelope], algorithm: str) -> Envelope:
        # An RSA signature takes ~0.25 ms and cryptography releases the GIL for it, so
        # a thread signs while the loop sends; an ECDSA one takes less than the hop.
        if self._signer is None or not algorithm.startswith(("RS", "PS")):
            return seal()
        return await asyncio.get_running_loop().run_in_executor(self._signer, seal)

    def _retry(
        self,
        delivery: Delivery,
        now: datetime,
        started: float,
        *,
        error: str,
        status: int | None = None,
        excerpt: str | None = None,
        retry_after: timedelta | None = None,
    ) -> None:
        latency = time.perf_counter() - started
        attempt = Attempt(now, int(latency * 1000), status, error, excerpt)
        # The delay counts from the end of the attempt: counted from its start, a step
        # shorter than the timeout would have elapsed by the time the attempt timed out.
        # A test is tried once: its outcome shows at once, and it never holds back the
        # real notifications queued behind it for the same tenant.
        when = (
            None
            if delivery.test
            else self.settings.schedule.next_attempt(
                delivery.attempts + 1, self.clock.now(), retry_after=retry_after
            )
        )
        if when is None:
            self._observe("dead", latency)
            self._finish(delivery, attempt, DeliveryStatus.DEAD)
        else:
            self._observe("failed", latency)
            self._pending.append(
                DeliveryOutcome(delivery.seq, attempt, DeliveryStatus.PENDING, when)
            )
            self._nudge()

    def _finish(
        self,
        delivery: Delivery,
        attempt: Attempt,
        status: DeliveryStatus,
        *,
        disable: str | None = None,
    ) -> None:
        self._pending.append(DeliveryOutcome(delivery.seq, attempt, status, None, disable))
        if disable is not None:
            self.recipients.forget(delivery.application_id)
        self._nudge()

    def _nudge(self) -> None:
        if len(self._pending) >= self.settings.flush_size:
            self._flushed.set()

    async def _flush(self) -> None:
        batch, self._pending = self._pending, []
        if not batch:
            return
        try:
            await self.store.record_outcomes(batch)
        except Exception:
            log.exception("recording %d delivery outcomes failed; they will be retried", len(batch))
            self._pending[:0] = batch
            return
        # Outcomes may unblock the next delivery of the same pair.
        self.wake()

    async def _depth_loop(self, report: Callable[[int], None]) -> None:
        while True:
            with contextlib.suppress(Exception):
                report(await self.store.outbox_depth())
            await asyncio.sleep(5)

    async def _held_loop(self) -> None:
        # A disabled application's held deliveries are bounded: beyond `max_held`, the
        # oldest go (its newest notifications say the tenant's current state).
        while True:
            try:
                dropped = await self.store.drop_excess_held(
                    self.settings.max_held, self.clock.now()
                )
            except Exception:
                log.exception("dropping excess held deliveries failed; retrying")
                dropped = {}
            for application_id, count in dropped.items():
                log.warning(
                    "dropped the %d oldest held deliveries of %s: more than %d held while "
                    "it is disabled",
                    count,
                    application_id,
                    self.settings.max_held,
                )
            await asyncio.sleep(self.settings.held_sweep_interval)

    async def _flush_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.flush_interval):
                    await self._flushed.wait()
            self._flushed.clear()
            await self._flush()
