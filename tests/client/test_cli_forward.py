"""`tenantstatus receive --forward-to`: a real service, the real CLI, a real local app."""

from __future__ import annotations

import json
import queue
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import httpx2 as httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from standardwebhooks import Webhook

from tenantstatus import __version__
from tenantstatus.cli.forward import forwarded_headers
from tests.push.conftest import (
    PUSH_ENV,
    Registered,
    operate,
    recorded_attempts,
    register,
    tenant,
)
from tests.support.processes import ServiceProcess, free_port
from tests.support.receivers import Receiver

TENANTSTATUS = Path(sys.executable).with_name("tenantstatus")


@pytest.fixture(scope="module")
def delivering(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """A service that may deliver to loopback http, as a vendor's laptop would need."""
    process = ServiceProcess(tmp_path_factory.mktemp("forward") / "data", env=PUSH_ENV).start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def app() -> Iterator[Receiver]:
    """The vendor's local app: records what it gets (see tests/support/receivers)."""
    running = Receiver().start()
    yield running
    running.stop()


class Output:
    """The lines a process prints, read on a thread so a missing line fails, not hangs."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        assert process.stdout is not None
        self.stream = process.stdout
        self.reader = threading.Thread(target=self._read, args=(self.stream,), daemon=True)
        self.reader.start()

    def close(self) -> None:
        """Once the process has exited: wait for the reader, then close the pipe."""
        self.reader.join(timeout=10)
        self.stream.close()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.put(line)

    def line(self) -> str:
        return self.lines.get(timeout=20)

    def json(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.line())
        return document


@contextmanager
def forwarding(
    service: ServiceProcess, forward_to: str, *extra: str, as_json: bool = True
) -> Iterator[tuple[Registered, str, Output]]:
    """An application registered at a `receive --forward-to` the installed script runs."""
    assert TENANTSTATUS.exists(), TENANTSTATUS
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    registered = register(service, url, name=f"forward-{uuid.uuid4().hex[:8]}")
    command = [
        str(TENANTSTATUS),
        "receive",
        "--port",
        str(port),
        "--issuer",
        service.url,
        "--audience",
        registered.id,
        "--webhook-secret",
        registered.secret,
        "--forward-to",
        forward_to,
        *(["--json"] if as_json else []),
        *extra,
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
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
    output = Output(process)
    try:
        yield registered, url, output
    finally:
        process.terminate()
        process.wait(timeout=30)
        output.close()
        assert process.stderr is not None
        process.stderr.close()


def change(service: ServiceProcess, registered: Registered) -> tuple[str, str]:
    """A new tenant approved for `registered`, then suspended: (tenant, delivery id)."""
    ctx = f"Fwd{uuid.uuid4().int % 10**10}"
    tenant(service, ctx, registered)
    operate(service, ctx, "suspend")
    with service.admin() as admin:
        listed = admin.get("/admin/deliveries", params={"application": registered.id}).json()
    (delivery,) = listed["Deliveries"]
    return ctx, str(delivery["Id"])


def test_a_real_change_reaches_the_app_unchanged_and_the_service_records_its_answers(
    delivering: ServiceProcess, app: Receiver
) -> None:
    name = f"flaky-{uuid.uuid4().hex[:8]}"
    with forwarding(delivering, f"{app.url}/flaky/1/{name}") as (registered, url, output):
        ctx, delivery_id = change(delivering, registered)
        failed, succeeded = recorded_attempts(delivering, delivery_id, 2)[:2]
        first, second = output.json(), output.json()
        got = app.received(name)
        assert len(got) == 2
        # Only the app's 200 made it "accepted": a repeat is answered without a third forward.
        repeat = httpx.post(url, content=got[1].body, headers=_without_host(got[1].headers))
        assert (repeat.status_code, repeat.json()["status"]) == (200, "duplicate")
        assert output.json()["Refused"] == "DuplicateDelivery"
        assert len(app.received(name)) == 2
    assert (failed["StatusCode"], failed["ResponseExcerpt"]) == (500, "not yet")
    assert (succeeded["StatusCode"], succeeded["ResponseExcerpt"]) == (200, "accepted")
    with delivering.admin() as admin:
        detail = admin.get(f"/admin/deliveries/{delivery_id}").json()
    assert detail["Delivery"]["Status"] == "delivered"
    for received in got:
        # The app's own check, with a third-party library and the app's secret: it passes
        # only if body, webhook-id, webhook-timestamp and webhook-signature are unchanged.
        document = Webhook(registered.secret).verify(received.body, received.headers)
        assert document["ContextIdentifier"] == ctx
        assert received.headers["webhook-id"] == delivery_id
        assert received.headers["content-type"].startswith("application/json")
        assert received.headers["host"] == app.url.removeprefix("http://")
        # The service's own headers, not the forwarder's: nothing is rewritten on the way.
        assert received.headers["user-agent"] == f"tenantstatus/{__version__}"
    for line, status in ((first, 500), (second, 200)):
        assert line["Delivery"] == delivery_id
        assert line["ContextIdentifier"] == ctx
        assert line["Change"] == "Suspend"
        assert line["WebhookSignature"] == "verified"
        assert line["StatusCode"] == status
        assert line["Error"] is None
        assert isinstance(line["LatencyMs"], int)


def _without_host(headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k not in ("host", "content-length")}


def test_without_json_each_forward_is_one_readable_line(
    delivering: ServiceProcess, app: Receiver
) -> None:
    name = f"ok-{uuid.uuid4().hex[:8]}"
    forward_to = f"{app.url}/ok/{name}"
    with forwarding(delivering, forward_to, as_json=False) as (registered, _, output):
        ctx, delivery_id = change(delivering, registered)
        line = output.line()
    assert re.fullmatch(
        rf"\S+Z  {ctx} Suspend delivery {delivery_id}: verified token \(key \S+\) and "
        rf"webhook signature; {re.escape(forward_to)} answered 200 in \d+ ms\n",
        line,
    ), line


def forged_body(service: ServiceProcess, registered: Registered) -> bytes:
    """A notification whose token names one of the service's keys but is signed by another."""
    kid = httpx.get(f"{service.url}/.well-known/jwks.json").json()["keys"][0]["kid"]
    now = int(datetime.now(UTC).timestamp())
    claims = {
        "iss": service.url,
        "aud": registered.id,
        "sub": "CustForged",
        "ctx": "CustForged",
        "change_type": 6,
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "jti": "msg_forged",
    }
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})
    return json.dumps({"ContextIdentifier": "CustForged", "ChangeType": 6, "Token": token}).encode()


def test_a_forged_notification_is_refused_and_never_reaches_the_app(
    delivering: ServiceProcess, app: Receiver
) -> None:
    name = f"ok-{uuid.uuid4().hex[:8]}"
    with forwarding(delivering, f"{app.url}/ok/{name}") as (registered, url, output):
        refused = httpx.post(
            url,
            content=forged_body(delivering, registered),
            headers={"content-type": "application/json"},
        )
        line = output.json()
    assert refused.status_code == 401, refused.text
    assert line["Refused"] == "InvalidSignature"
    assert (line["StatusCode"], line["Forwarded"]) == (401, False)
    # The forward happens before the answer, so a forwarded forgery would be here already.
    assert app.received(name) == []


def test_an_app_that_is_down_gets_502_recorded_by_the_service(
    delivering: ServiceProcess,
) -> None:
    down = f"http://127.0.0.1:{free_port()}/hook"
    with forwarding(delivering, down) as (registered, _, output):
        _, delivery_id = change(delivering, registered)
        (first, *_) = recorded_attempts(delivering, delivery_id, 1)
        line = output.json()
    assert first["StatusCode"] == 502
    assert first["ResponseExcerpt"].startswith(
        f"tenantstatus receive: cannot reach the app at {down}"
    )
    assert (line["StatusCode"], line["Delivery"]) == (502, delivery_id)
    assert line["Error"].startswith("cannot reach the app")


def test_an_app_slower_than_the_forward_timeout_gets_504(
    delivering: ServiceProcess, app: Receiver
) -> None:
    name = f"hang-{uuid.uuid4().hex[:8]}"
    with forwarding(delivering, f"{app.url}/hang/{name}", "--forward-timeout", "0.3") as (
        registered,
        _,
        output,
    ):
        _, delivery_id = change(delivering, registered)
        (first, *_) = recorded_attempts(delivering, delivery_id, 1)
        line = output.json()
    assert first["StatusCode"] == 504
    assert "did not answer within 0.3 s" in first["ResponseExcerpt"]
    assert line["StatusCode"] == 504


def usage_error(*options: str) -> str:
    """What `receive` with these options writes to stderr; it must exit 2 in one line."""
    trusted = ("--issuer", "http://127.0.0.1:1", "--audience", "app")
    result = subprocess.run(
        [str(TENANTSTATUS), "receive", *trusted, *options],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return result.stderr


@pytest.mark.parametrize(
    "bad", ["ftp://127.0.0.1/hook", "127.0.0.1:3000/hook", "http://", "http://[::1"]
)
def test_a_bad_forward_url_is_one_line_and_exit_2(bad: str) -> None:
    assert usage_error("--forward-to", bad).startswith(f"error: --forward-to {bad!r} is not")


def test_a_forward_timeout_that_is_not_positive_is_one_line_and_exit_2() -> None:
    stderr = usage_error("--forward-to", "http://127.0.0.1:3000/", "--forward-timeout", "0")
    assert stderr.startswith("error: --forward-timeout must be a positive number of seconds")


def test_hop_by_hop_headers_host_and_those_connection_names_are_not_forwarded() -> None:
    sent = {
        "host": "127.0.0.1:8091",
        "connection": "keep-alive, x-hop",
        "x-hop": "1",
        "keep-alive": "timeout=5",
        "te": "trailers",
        "transfer-encoding": "chunked",
        "content-length": "120",
        "content-type": "application/json",
        "user-agent": "tenantstatus/1",
        "webhook-id": "msg_1",
        "webhook-timestamp": "1764633600",
        "webhook-signature": "v1,abc=",
    }
    assert forwarded_headers(sent) == {
        "content-type": "application/json",
        "user-agent": "tenantstatus/1",
        "webhook-id": "msg_1",
        "webhook-timestamp": "1764633600",
        "webhook-signature": "v1,abc=",
    }
