"""Dispatch processes: started with the service, replaced when they die, gone with it."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest

from tests.push.conftest import PUSH_ENV, operate, register, tenant
from tests.support.processes import ServiceProcess
from tests.support.receivers import Receiver


def dispatch_children(pid: int) -> list[int]:
    """The `tenantstatus dispatch` processes under `pid`."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        for child in task.read_text().split():
            try:
                command = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"dispatch" in command:
                found.append(int(child))
    return sorted(found)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_until(condition: object, what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[ServiceProcess]:
    env = {**PUSH_ENV, "TENANTSTATUS_DELIVERY_PROCESSES": "2"}
    running = ServiceProcess(tmp_path / "data", env=env).start()
    yield running
    running.stop()


def serve_pid(service: ServiceProcess) -> int:
    assert service.process is not None
    return service.process.pid


def test_the_service_starts_its_dispatch_processes_and_counts_their_attempts(
    service: ServiceProcess, receiver: Receiver
) -> None:
    wait_until(lambda: len(dispatch_children(serve_pid(service))) == 2, "two dispatch processes")
    app = register(service, f"{receiver.url}/ok/dp-metrics")
    tenant(service, "DpMetrics", app)
    operate(service, "DpMetrics", "suspend")
    receiver.wait_for("dp-metrics", 1)

    def delivered_counted() -> bool:
        metrics = httpx.get(f"{service.url}/metrics").text
        return 'tenantstatus_delivery_attempts_total{outcome="delivered"} 1.0' in metrics

    # The attempt happened in a dispatch process; the service's /metrics reports it.
    wait_until(delivered_counted, "the delivery in the service's metrics", timeout=5)


def test_a_dispatch_process_that_dies_is_replaced_and_nothing_is_lost(
    service: ServiceProcess, receiver: Receiver
) -> None:
    app = register(service, f"{receiver.url}/ok/dp-replaced")
    tenant(service, "DpReplaced", app)
    wait_until(lambda: len(dispatch_children(serve_pid(service))) == 2, "two dispatch processes")
    before = dispatch_children(serve_pid(service))
    for pid in before:
        os.kill(pid, signal.SIGKILL)
    operate(service, "DpReplaced", "suspend")  # while no dispatch process runs
    wait_until(
        lambda: len(set(dispatch_children(serve_pid(service))) - set(before)) == 2,
        "both dispatch processes started again",
    )
    (got,) = receiver.wait_for("dp-replaced", 1)
    assert got.headers["webhook-id"].startswith("msg_")


def test_dispatch_processes_leave_when_their_service_is_killed(
    service: ServiceProcess, receiver: Receiver
) -> None:
    wait_until(lambda: len(dispatch_children(serve_pid(service))) == 2, "two dispatch processes")
    children = dispatch_children(serve_pid(service))
    service.stop(signal.SIGKILL)
    wait_until(lambda: not any(alive(pid) for pid in children), "no dispatch process left")


def test_dispatch_processes_stop_with_a_graceful_stop(service: ServiceProcess) -> None:
    wait_until(lambda: len(dispatch_children(serve_pid(service))) == 2, "two dispatch processes")
    children = dispatch_children(serve_pid(service))
    service.stop(signal.SIGTERM)
    assert not any(alive(pid) for pid in children)
