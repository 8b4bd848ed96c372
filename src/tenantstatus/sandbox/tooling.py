"""`PlatformTooling`: the sandbox plays the platform's tooling for upgrades and restores.

It watches the operator API for tenants offline for an upgrade or a restore, however
they got there (`tenant op CTX upgrade`, a scheduled operation, a rollout), and reports
the second step through the same API, as the real tooling does, when the tenant's
simulated duration has passed (`ToolingScript.fate`):

    done    `upgrade-done` (or `restore-done`): the tenant runs the new version
    late    the same, past the longest on-time duration; or never, until someone runs
            the finishing operation by hand (`tenant op CTX upgrade-done`)
    failed  `resume`: the upgrade is rolled back, the tenant runs its old version

Bounded: at most `concurrency` upgrades in progress (more wait in the service, where
they are, until a slot frees: nothing queues here), one poller task, one timer task over
a heap of due instants and a fixed pool of reporters behind a bounded queue, whatever
the number of tenants. It remembers a counter per tenant it took on and at most
200,000 finished upgrades. Every outbound call has a timeout; a call that fails is
retried a few times, then given up (counted). `view()` is the `Tooling` part of
`/sim/_stats`.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx2 as httpx

from tenantstatus.lifecycle import Activity, Operation
from tenantstatus.sandbox.player import PlayedOperation
from tenantstatus.sandbox.tooling_script import Fate, Outcome, ToolingScript

__all__ = ["POLL_INTERVAL", "RETRY_DELAYS", "PlatformTooling", "ToolingCounters"]

log = logging.getLogger(__name__)

#: Seconds between two looks at which tenants are offline for an upgrade or restore.
POLL_INTERVAL = 0.25
_PAGE = 1000
_MAX_PAGES = 200  # 200,000 offline tenants at most per look
_REPORTERS = 8
_CALL_TIMEOUT = 5.0
#: Seconds before each new try of a report that failed; then it is given up.
RETRY_DELAYS = (0.5, 1.0, 2.0, 5.0)
_REMEMBERED = 200_000  # finished upgrades remembered, so a stale page cannot restart one
_FINISHING = {
    Activity.UPGRADING: Operation.UPGRADE_DONE,
    Activity.RESTORING: Operation.RESTORE_DONE,
}

# An upgrade is the tenant, the activity and the instant it went offline.
_Key = tuple[str, str, str]


@dataclass(slots=True)
class _Upgrade:
    key: _Key
    fate: Fate
    started: float
    tries: int = 0
    reporting: bool = False  # its report is queued or under way: the watcher keeps it

    @property
    def context_identifier(self) -> str:
        return self.key[0]

    @property
    def activity(self) -> Activity:
        return Activity(self.key[1])


@dataclass(slots=True)
class ToolingCounters:
    """What the tooling did so far, for `/sim/_stats`."""

    started: int = 0
    completed: int = 0
    completed_late: int = 0
    failed: int = 0
    finished_elsewhere: int = 0  # someone else ran the finishing operation first
    call_errors: int = 0
    given_up: int = 0
    peak_in_progress: int = 0
    waiting: int = 0  # offline tenants the last look could not take on (at the cap)


class PlatformTooling:
    """Finishes upgrades and restores through the operator API at `base_url`."""

    def __init__(
        self,
        script: ToolingScript,
        *,
        base_url: str,
        token: str,
        report: Callable[[PlayedOperation], None] | None = None,
        poll_interval: float = POLL_INTERVAL,
        retry_delays: Sequence[float] = RETRY_DELAYS,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.script = script
        self.base_url = base_url.rstrip("/")
        self.report = report or (lambda played: None)
        self.poll_interval = poll_interval
        self.retry_delays = tuple(retry_delays)
        self.counters = ToolingCounters()
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(_CALL_TIMEOUT),
            limits=httpx.Limits(max_connections=_REPORTERS + 1),
            transport=transport,
        )
        self._in_progress: dict[str, _Upgrade] = {}  # counts against the cap
        self._held: dict[str, _Upgrade] = {}  # late, never reported
        self._finished: OrderedDict[_Key, None] = OrderedDict()
        self._episodes: dict[str, int] = {}
        self._timers: list[tuple[float, int, _Key]] = []
        self._sequence = itertools.count()
        self._timer_changed = asyncio.Event()
        self._due: asyncio.Queue[_Upgrade] = asyncio.Queue(maxsize=_REPORTERS * 4)
        self._tasks: list[asyncio.Task[None]] = []
        self._origin = 0.0
        self._reached = False  # the service has answered a look

    def start(self) -> None:
        """Start watching and reporting."""
        loop = asyncio.get_running_loop()
        self._origin = loop.time()
        self._tasks = [
            asyncio.create_task(self._watch(), name="sandbox-tooling-watch"),
            asyncio.create_task(self._fire(), name="sandbox-tooling-timers"),
            *(
                asyncio.create_task(self._reporter(), name=f"sandbox-tooling-report-{i}")
                for i in range(_REPORTERS)
            ),
        ]

    async def stop(self) -> None:
        """Stop every task and close the client; upgrades under way stay as they are."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self._client.aclose()

    def view(self) -> dict[str, Any]:
        """The script and the counters, PascalCase keys."""
        c = self.counters
        return {
            "Script": self.script.to_json(),
            "InProgress": len(self._in_progress),
            "PeakInProgress": c.peak_in_progress,
            "Waiting": c.waiting,
            "Held": len(self._held),
            "Started": c.started,
            "Completed": c.completed,
            "CompletedLate": c.completed_late,
            "Failed": c.failed,
            "FinishedElsewhere": c.finished_elsewhere,
            "CallErrors": c.call_errors,
            "GivenUp": c.given_up,
        }

    # --- watching -----------------------------------------------------------------------

    async def _watch(self) -> None:
        while True:
            pages = 1
            try:
                pages = await self._look()
                self._reached = True
            except httpx.HTTPError as exc:
                # Before the first answer, the server may not listen yet: not an error.
                self.counters.call_errors += self._reached
                log.debug("the tooling could not list offline tenants: %s", exc)
            except Exception:
                log.exception("the sandbox tooling's look at offline tenants failed")
            # Thousands offline at once: look less often, so the looks cost the service
            # about one page per interval.
            await asyncio.sleep(self.poll_interval * pages)

    async def _look(self) -> int:
        """One look at every tenant offline for an upgrade or restore; the pages it read."""
        offline: dict[str, _Key] = {}
        after: str | None = None
        pages = 0
        for pages in range(1, _MAX_PAGES + 1):  # noqa: B007 (the count is the answer)
            params = {"state": "OfflineMaintenance", "limit": str(_PAGE)}
            if after is not None:
                params["after"] = after
            response = await self._client.get("/admin/tenants", params=params)
            response.raise_for_status()
            page = response.json()
            for tenant in page["Tenants"]:
                activity = tenant.get("Activity")
                if activity in _FINISHING:
                    ctx = tenant["ContextIdentifier"]
                    offline[ctx] = (ctx, activity, tenant["StateSince"])
            after = page.get("Next")
            if after is None:
                break
        self._forget_finished_elsewhere(offline)
        waiting = 0
        for ctx, key in offline.items():
            current = self._in_progress.get(ctx) or self._held.get(ctx)
            if current is not None and (current.key == key or current.reporting):
                continue  # under way; or its report is, and the next look sees what it did
            if key in self._finished:
                continue
            if len(self._in_progress) >= self.script.concurrency:
                waiting += 1
                continue
            self._take_on(key)
        self.counters.waiting = waiting
        return pages

    def _forget_finished_elsewhere(self, offline: dict[str, _Key]) -> None:
        for tracked in (self._in_progress, self._held):
            for ctx, upgrade in list(tracked.items()):
                if not upgrade.reporting and offline.get(ctx) != upgrade.key:
                    del tracked[ctx]
                    self.counters.finished_elsewhere += 1

    def _take_on(self, key: _Key) -> None:
        ctx = key[0]
        episode = self._episodes.get(ctx, 0)
        self._episodes[ctx] = episode + 1
        fate = self.script.fate(ctx, episode)
        now = asyncio.get_running_loop().time()
        upgrade = _Upgrade(key, fate, started=now)
        self.counters.started += 1
        if fate.after is None:
            self._held[ctx] = upgrade
            self._record(upgrade, "held", "late: never finished until someone runs it by hand")
            return
        self._in_progress[ctx] = upgrade
        self.counters.peak_in_progress = max(self.counters.peak_in_progress, len(self._in_progress))
        self._at(now + fate.after, key)

    # --- timers and reports -------------------------------------------------------------

    def _at(self, due: float, key: _Key) -> None:
        heapq.heappush(self._timers, (due, next(self._sequence), key))
        self._timer_changed.set()

    async def _fire(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._timer_changed.clear()
            if not self._timers:
                await self._timer_changed.wait()
                continue
            due, _, key = self._timers[0]
            delay = due - loop.time()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):  # no task of its own, unlike wait_for
                        await self._timer_changed.wait()
                continue
            heapq.heappop(self._timers)
            upgrade = self._in_progress.get(key[0])
            if upgrade is not None and upgrade.key == key:
                upgrade.reporting = True
                await self._due.put(upgrade)  # waits while every reporter is busy

    async def _reporter(self) -> None:
        while True:
            upgrade = await self._due.get()
            try:
                await self._finish(upgrade)
            except Exception:
                log.exception("the sandbox tooling failed to report %s", upgrade.key)

    async def _finish(self, upgrade: _Upgrade) -> None:
        ctx = upgrade.context_identifier
        failed = upgrade.fate.outcome is Outcome.FAILED
        operation = Operation.RESUME if failed else _FINISHING[upgrade.activity]
        try:
            response = await self._client.post(
                f"/admin/tenants/{ctx}/operations", json={"Operation": str(operation)}
            )
        except httpx.HTTPError as exc:
            self._retry(upgrade, f"{type(exc).__name__}: {exc}")
            return
        if response.status_code in (404, 409):
            self._done(upgrade)
            self.counters.finished_elsewhere += 1
            self._record(upgrade, "refused", _problem(response), operation)
            return
        if response.status_code >= 400:
            self._retry(upgrade, f"HTTP {response.status_code}: {_problem(response)}")
            return
        self._done(upgrade)
        elapsed = asyncio.get_running_loop().time() - upgrade.started
        if failed:
            self.counters.failed += 1
            self._record(upgrade, "failed", f"rolled back after {elapsed:.1f}s", operation)
        elif upgrade.fate.outcome is Outcome.LATE:
            self.counters.completed_late += 1
            self._record(upgrade, "late", f"done after {elapsed:.1f}s", operation)
        else:
            self.counters.completed += 1
            self._record(upgrade, "done", f"after {elapsed:.1f}s", operation)

    def _retry(self, upgrade: _Upgrade, why: str) -> None:
        self.counters.call_errors += 1
        if upgrade.tries >= len(self.retry_delays):
            self._done(upgrade)
            self.counters.given_up += 1
            self._record(upgrade, "given up", why)
            return
        delay = self.retry_delays[upgrade.tries]
        upgrade.tries += 1
        upgrade.reporting = False
        self._at(asyncio.get_running_loop().time() + delay, upgrade.key)

    def _done(self, upgrade: _Upgrade) -> None:
        if self._in_progress.get(upgrade.context_identifier) is upgrade:
            del self._in_progress[upgrade.context_identifier]
        self._finished[upgrade.key] = None
        while len(self._finished) > _REMEMBERED:
            self._finished.popitem(last=False)

    def _record(
        self, upgrade: _Upgrade, outcome: str, detail: str, operation: Operation | None = None
    ) -> None:
        offset = asyncio.get_running_loop().time() - self._origin
        name = str(operation) if operation is not None else upgrade.activity.value
        played = PlayedOperation(offset, upgrade.context_identifier, name, outcome, detail)
        try:
            self.report(played)
        except Exception:
            log.exception("reporting a tooling operation failed")


def _problem(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except ValueError:
        detail = None
    return str(detail or response.text)[:200]
