"""Two-phase key rotation: a receiver that keeps its verifier refuses nothing across it."""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from tenantstatus.client import (
    AsyncNotificationVerifier,
    NotificationReceiver,
    VerifiedNotification,
)
from tenantstatus.model import parse_instant
from tests.client.conftest import AsyncRecordingTransport
from tests.client.loopback import LoopbackServer
from tests.push.conftest import PUSH_ENV, register, tenant
from tests.support.processes import ServiceProcess, free_port

PUBLISH_SECONDS = 3
TENANTS = [f"Rotating{n}" for n in range(8)]

Message = MutableMapping[str, Any]
App = Callable[..., Any]


@pytest.fixture(params=[0, 2], ids=["in-process", "two-dispatch-processes"])
def service(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServiceProcess]:
    env = {
        **PUSH_ENV,
        "TENANTSTATUS_KEY_PUBLISH_SECONDS": str(PUBLISH_SECONDS),
        "TENANTSTATUS_DELIVERY_PROCESSES": str(request.param),
    }
    running = ServiceProcess(tmp_path / "data", env=env).start()
    yield running
    running.stop()


@dataclass
class Vendor:
    """What the vendor's receiver saw: each answer's status, each notification accepted."""

    statuses: Counter[int] = field(default_factory=Counter)
    accepted: list[VerifiedNotification] = field(default_factory=list)

    def recording(self, app: App) -> App:
        async def wrapped(scope: Message, receive: Any, send: Any) -> None:
            async def sending(message: Message) -> None:
                if message["type"] == "http.response.start":
                    self.statuses[message["status"]] += 1
                await send(message)

            await app(scope, receive, sending)

        return wrapped

    async def handle(self, verified: VerifiedNotification) -> None:
        self.accepted.append(verified)

    def signed_with(self, kid: str) -> list[VerifiedNotification]:
        return [v for v in list(self.accepted) if v.key_id == kid]


class Traffic:
    """Suspends and resumes the tenants in turn, one delivery each, until stopped."""

    def __init__(self, service: ServiceProcess) -> None:
        self.service = service
        self.issued = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        with self.service.admin() as admin:
            turn = 0
            while not self._stop.is_set():
                ctx = TENANTS[turn % len(TENANTS)]
                operation = "suspend" if (turn // len(TENANTS)) % 2 == 0 else "resume"
                response = admin.post(
                    f"/admin/tenants/{ctx}/operations", json={"Operation": operation}
                )
                assert response.status_code == 200, response.text
                self.issued += 1
                turn += 1
                self._stop.wait(0.01)  # a steady stream, not a flood on two cores


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_rotation_mid_flow_refuses_no_notification(service: ServiceProcess) -> None:
    port = free_port()
    app = register(service, f"http://127.0.0.1:{port}/notify")
    for ctx in TENANTS:
        tenant(service, ctx, app)
    vendor = Vendor()
    fetches = AsyncRecordingTransport()
    verifier = AsyncNotificationVerifier.for_service(service.url, app.id, transport=fetches)
    receiver = NotificationReceiver(verifier, handler=vendor.handle)
    with LoopbackServer(vendor.recording(receiver), port=port), Traffic(service) as traffic:
        wait_until(lambda: len(vendor.accepted) >= 40, "deliveries before the rotation")
        old_kid = vendor.accepted[0].key_id
        out = service.cli("keys", "rotate").stdout
        keys = json.loads(service.cli("keys", "list", "--json").stdout)["Keys"]
        new = keys[-1]
        assert re.search(rf"published {new['Kid']} .* {old_kid} signs until then", out), out
        signs_from = parse_instant(new["SignsFrom"])
        # Phase one: the new key is in the JWKS, the old one still signs.
        jwks = httpx.get(f"{service.url}/.well-known/jwks.json")
        assert new["Kid"] in {k["kid"] for k in jwks.json()["keys"]}
        if _now() < signs_from:
            assert next(k for k in keys if k["Active"])["Kid"] == old_kid
        assert jwks.headers["cache-control"] == f"public, max-age={PUBLISH_SECONDS // 2}"
        # Phase two: the new key signs, on every dispatcher.
        wait_until(lambda: len(vendor.signed_with(new["Kid"])) >= 40, "the new key to sign")
        traffic.stop()
        wait_until(lambda: len(vendor.accepted) >= traffic.issued, "every delivery accepted")
    assert vendor.statuses == Counter({200: traffic.issued}), "no notification was refused"
    assert all(_issued(v) >= int(signs_from.timestamp()) for v in vendor.signed_with(new["Kid"]))
    assert all(_issued(v) <= signs_from.timestamp() + 1 for v in vendor.signed_with(old_kid)), (
        "the old key stopped signing when the new one started"
    )
    jwks_fetches = [url for url, _ in fetches.seen if url.endswith("/jwks.json")]
    assert len(jwks_fetches) == 2, "one fetch at the start, one for the new kid"


def _issued(verified: VerifiedNotification) -> int:
    return int(verified.claims["iat"])


def _now() -> datetime:
    return datetime.now(UTC)
