"""`tenantstatus check`, `watch` and `receive` as subprocesses against real processes."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator

import httpx2 as httpx
import pytest

from tests.client.conftest import Operator
from tests.client.issuer import AUDIENCE, Issuer
from tests.support.processes import CLI, ServiceProcess, free_port


def test_check_exits_0_and_prints_the_state_of_a_running_tenant(
    service: ServiceProcess, operator: Operator
) -> None:
    ctx = operator.add()
    result = service.cli("check", ctx, check=False)
    assert result.returncode == 0, result.stderr
    assert f"{ctx}: Running (running)" in result.stdout


def test_check_exits_1_for_a_tenant_that_is_not_running(
    service: ServiceProcess, operator: Operator
) -> None:
    ctx = operator.add()
    operator.operate(ctx, "suspend")
    result = service.cli("check", ctx, check=False)
    assert result.returncode == 1
    assert "Suspended (not running)" in result.stdout


def test_check_json_prints_the_wire_answer(service: ServiceProcess, operator: Operator) -> None:
    ctx = operator.add()
    result = service.cli("check", ctx, "--json", "--url", service.url, check=False)
    document = json.loads(result.stdout)
    assert document["ContextIdentifier"] == ctx
    assert document["IsRunning"] is True


def test_check_against_an_unreachable_service_says_so_in_one_line(
    service: ServiceProcess,
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    result = service.cli("check", "Cust1", "--url", dead, check=False)
    assert result.returncode == 3
    assert result.stderr.startswith("error: cannot reach")
    assert len(result.stderr.strip().splitlines()) == 1


def test_check_with_an_unknown_environment_is_a_usage_error(service: ServiceProcess) -> None:
    result = service.cli("check", "Cust1", "--env", "production", check=False)
    assert result.returncode == 2
    assert "unknown environment 'production'" in result.stderr


def _start(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*CLI, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def test_watch_shows_the_state_then_each_change(
    service: ServiceProcess, operator: Operator
) -> None:
    ctx = operator.add()
    watcher = _start("watch", ctx, "--url", service.url, "--max-wait", "0.2", "--max-events", "2")
    try:
        assert watcher.stdout is not None
        first = watcher.stdout.readline()
        assert f"{ctx}: Running" in first
        operator.operate(ctx, "suspend")
        second = watcher.stdout.readline()
        assert f"{ctx}: Suspended (not running)" in second
        assert watcher.wait(timeout=30) == 0
    finally:
        watcher.kill()
        watcher.communicate()


@pytest.fixture
def receiving(issuer: Issuer) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = free_port()
    process = _start("receive", "--port", str(port), "--issuer", issuer.url, "--audience", AUDIENCE)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url, timeout=1)
            break
        except httpx.TransportError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError(f"receive did not start: {process.communicate()}") from None
            time.sleep(0.05)
    yield url, process
    process.terminate()
    process.communicate(timeout=30)


def test_receive_prints_each_verified_notification(
    receiving: tuple[str, subprocess.Popen[str]], issuer: Issuer
) -> None:
    url, process = receiving
    expired = {**issuer.claims(), "exp": issuer.claims()["iat"] - 600}
    refused = httpx.post(url, json=issuer.notification(token=issuer.sign(expired)))
    assert refused.status_code == 401
    body = issuer.notification("Cust36660", 5, PublicEndpoint="sod3.superoffice.com")
    assert httpx.post(url, json=body).status_code == 200
    assert process.stdout is not None
    printed = json.loads(process.stdout.readline())
    assert printed["ContextIdentifier"] == "Cust36660"
    assert printed["Change"] == "Move"
    assert printed["PublicEndpoint"] == "sod3.superoffice.com"
    assert "Token" not in printed


def test_receive_prints_a_test_notification_marked_as_a_test(
    receiving: tuple[str, subprocess.Popen[str]], issuer: Issuer
) -> None:
    url, process = receiving
    test = issuer.notification(token=issuer.sign({**issuer.claims(), "test": True}))
    answer = httpx.post(url, json=test)
    assert answer.status_code == 200 and answer.json()["status"] == "test"
    assert httpx.post(url, json=issuer.notification("Cust36660", 2)).status_code == 200
    assert process.stdout is not None
    # One line each, in order: were the test not printed, the first would be Cust36660's.
    test_line = json.loads(process.stdout.readline())
    assert (test_line["ContextIdentifier"], test_line.get("Test")) == ("Cust12345", True)
    assert test_line["Change"] == "Upgrade" and next(iter(test_line)) == "Test"
    real_line = json.loads(process.stdout.readline())
    assert (real_line["ContextIdentifier"], real_line["Test"]) == ("Cust36660", False)
