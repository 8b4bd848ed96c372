"""The tooling's bounds: its cap, its retries and a fixed set of tasks for any number.

The tooling's own logic runs as it does in the sandbox; only the operator API it
talks to sits behind httpx2's MockTransport seam, so a test can make it refuse, fail
or hold ten thousand tenants offline at once.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx2 as httpx
import pytest

from tenantstatus.sandbox.tooling import PlatformTooling
from tenantstatus.sandbox.tooling_script import ToolingScript

pytestmark = pytest.mark.anyio

SINCE = "2026-12-02T10:00:00Z"


@dataclass
class FakeOperatorApi:
    """The two routes the tooling uses, over a dict of tenants offline for an upgrade."""

    offline: set[str]
    answer: int = 200
    looks: int = 0
    reports: list[str] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            self.looks += 1
            after = request.url.params.get("after") or ""
            limit = int(request.url.params["limit"])
            page = sorted(ctx for ctx in self.offline if ctx > after)[: limit + 1]
            more = len(page) > limit
            page = page[:limit]
            tenants = [
                {"ContextIdentifier": ctx, "Activity": "upgrading", "StateSince": SINCE}
                for ctx in page
            ]
            return httpx.Response(
                200, json={"Tenants": tenants, "Next": page[-1] if more else None}
            )
        ctx = request.url.path.split("/")[3]
        self.reports.append(f"{ctx} {json.loads(request.content)['Operation']}")
        if self.answer == 200:
            self.offline.discard(ctx)
        return httpx.Response(self.answer, json={"detail": "scripted"})


def _tooling(api: FakeOperatorApi, script: ToolingScript) -> PlatformTooling:
    return PlatformTooling(
        script,
        base_url="http://sandbox.test",
        token="tsop_test",
        poll_interval=0.01,
        retry_delays=(0.01, 0.01, 0.01, 0.01),
        transport=httpx.MockTransport(api),
    )


async def _until(check: Callable[[], bool], what: str, within: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not check():
        assert loop.time() < deadline, f"not {what} within {within}s"
        await asyncio.sleep(0.01)


async def test_at_the_cap_the_rest_wait_offline_and_go_in_as_slots_free() -> None:
    api = FakeOperatorApi({f"Cust{n}" for n in range(10_001, 10_011)})
    tooling = _tooling(api, ToolingScript(duration=0.05, jitter=0, concurrency=3))
    tooling.start()
    try:
        await _until(lambda: tooling.counters.waiting == 7, "seven waiting")
        await _until(lambda: tooling.counters.completed == 10, "all ten finished")
    finally:
        await tooling.stop()
    assert tooling.view()["PeakInProgress"] == 3
    assert sorted(api.reports) == [f"Cust{n} upgrade-done" for n in range(10_001, 10_011)]


async def test_a_report_that_keeps_failing_is_tried_again_then_given_up_for_good() -> None:
    api = FakeOperatorApi({"Cust10001"}, answer=503)
    tooling = _tooling(api, ToolingScript(duration=0, jitter=0))
    tooling.start()
    try:
        await _until(lambda: tooling.counters.given_up == 1, "given up")
        looks = api.looks
        # Still offline, listed by every later look: never taken on again.
        await _until(lambda: api.looks > looks + 5, "five more looks")
    finally:
        await tooling.stop()
    assert api.reports == ["Cust10001 upgrade-done"] * 5  # the first try and four more
    assert (tooling.counters.started, tooling.counters.call_errors) == (1, 5)


async def test_a_report_the_service_refuses_lets_go_of_the_upgrade() -> None:
    api = FakeOperatorApi({"Cust10001"}, answer=409)
    tooling = _tooling(api, ToolingScript(duration=0, jitter=0))
    tooling.start()
    try:
        await _until(lambda: tooling.counters.finished_elsewhere == 1, "let go")
    finally:
        await tooling.stop()
    assert api.reports == ["Cust10001 upgrade-done"]
    assert tooling.view()["InProgress"] == 0


async def test_ten_thousand_upgrades_at_once_run_on_a_fixed_set_of_tasks() -> None:
    tenants = {f"Cust{n}" for n in range(100_000, 110_000)}
    api = FakeOperatorApi(set(tenants))
    script = ToolingScript(duration=0.5, jitter=0.5, fail=0.1, concurrency=10_000, seed=3)
    tooling = _tooling(api, script)
    before = len(asyncio.all_tasks())
    tooling.start()
    most = 0

    def finished() -> bool:
        nonlocal most
        most = max(most, len(asyncio.all_tasks()))
        return tooling.counters.completed + tooling.counters.failed == len(tenants)

    try:
        await _until(finished, "all ten thousand finished", within=120)
    finally:
        await tooling.stop()
    assert most - before == 10  # the watcher, the timer and eight reporters
    assert tooling.view()["PeakInProgress"] == len(tenants)
    failed = {ctx for ctx in tenants if script.fate(ctx, 0).outcome.value == "failed"}
    assert tooling.counters.failed == len(failed)
    assert {r for r in api.reports if r.endswith("resume")} == {f"{c} resume" for c in failed}
