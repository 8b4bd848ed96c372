"""NotificationReceiver over real HTTP: uvicorn on loopback, real signed notifications."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2 as httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from tenantstatus.client import (
    AsyncNotificationVerifier,
    AsyncTenantGate,
    AsyncTenantStatusClient,
    NotificationReceiver,
    VerifiedNotification,
)
from tenantstatus.model import ChangeType
from tests.client.conftest import Operator
from tests.client.issuer import AUDIENCE, Issuer
from tests.client.loopback import LoopbackServer
from tests.support.processes import ServiceProcess


class Handled:
    """The vendor's handler: records notifications, fails on demand."""

    def __init__(self) -> None:
        self.seen: list[VerifiedNotification] = []
        self.fail_next = False

    async def __call__(self, verified: VerifiedNotification) -> None:
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("the vendor's database is down")
        self.seen.append(verified)


@pytest.fixture
def handled() -> Handled:
    return Handled()


@pytest.fixture
def receiver_url(issuer: Issuer, handled: Handled) -> Iterator[str]:
    verifier = AsyncNotificationVerifier.for_service(issuer.url, AUDIENCE)
    with LoopbackServer(NotificationReceiver(verifier, handler=handled)) as server:
        yield server.url


def _post(url: str, body: Any) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(url, content=content, headers={"Content-Type": "application/json"})


def test_a_genuine_notification_is_handled_then_answered_200(
    receiver_url: str, issuer: Issuer, handled: Handled
) -> None:
    body = issuer.notification("Cust36660", ChangeType.Move, PublicEndpoint="sod3.superoffice.com")
    response = _post(receiver_url, body)
    assert response.status_code == 200
    assert response.json()["status"] == "accepted"
    assert [v.context_identifier for v in handled.seen] == ["Cust36660"]
    assert handled.seen[0].notification.public_endpoint == "sod3.superoffice.com"


def test_a_change_type_this_version_does_not_know_is_still_accepted(
    receiver_url: str, issuer: Issuer, handled: Handled
) -> None:
    response = _post(receiver_url, issuer.notification("Cust5", 9, Extra="kept"))
    assert response.status_code == 200
    assert handled.seen[0].change_type is None
    assert handled.seen[0].notification.change_type == 9
    assert handled.seen[0].notification.extra == {"Extra": "kept"}


def test_a_notification_with_an_expired_token_gets_401(
    receiver_url: str, issuer: Issuer, handled: Handled
) -> None:
    claims = {**issuer.claims(), "exp": issuer.claims()["iat"] - 600}
    response = _post(receiver_url, issuer.notification(token=issuer.sign(claims)))
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["title"] == "TokenExpired"
    assert handled.seen == []


def test_a_body_that_is_not_json_gets_400(receiver_url: str, handled: Handled) -> None:
    response = _post(receiver_url, b"<xml>not a notification</xml>")
    assert response.status_code == 400
    assert handled.seen == []


def test_a_token_for_another_tenant_gets_400(receiver_url: str, issuer: Issuer) -> None:
    token = issuer.sign(issuer.claims(ctx="Cust1"))
    response = _post(receiver_url, issuer.notification("Cust2", token=token))
    assert response.status_code == 400
    assert response.json()["title"] == "ContextMismatch"


def test_a_repeated_delivery_gets_200_but_is_handled_once(
    receiver_url: str, issuer: Issuer, handled: Handled
) -> None:
    body = issuer.notification()
    assert _post(receiver_url, body).status_code == 200
    again = _post(receiver_url, body)
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
    assert len(handled.seen) == 1


def test_a_failing_handler_gets_503_and_the_retry_is_handled(
    receiver_url: str, issuer: Issuer, handled: Handled
) -> None:
    body = issuer.notification()
    handled.fail_next = True
    first = _post(receiver_url, body)
    assert first.status_code == 503
    assert first.headers["retry-after"] == "30"
    assert _post(receiver_url, body).status_code == 200
    assert len(handled.seen) == 1


def test_a_get_gets_405(receiver_url: str) -> None:
    response = httpx.get(receiver_url)
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


def test_an_oversized_body_gets_413(receiver_url: str) -> None:
    assert _post(receiver_url, b"{" + b" " * 70_000 + b"}").status_code == 413


def test_unavailable_signing_keys_get_503_not_blamed_on_the_sender(
    receiver_url: str, issuer: Issuer
) -> None:
    issuer.jwks_status = 500
    assert _post(receiver_url, issuer.notification()).status_code == 503


def test_mounted_in_starlette_it_feeds_the_gate(
    issuer: Issuer, service: ServiceProcess, operator: Operator
) -> None:
    ctx = operator.add()
    verifier = AsyncNotificationVerifier.for_service(issuer.url, AUDIENCE)
    gate = AsyncTenantGate(AsyncTenantStatusClient(service.url))
    receiver = NotificationReceiver(verifier, gate=gate)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await receiver.aclose()

    routes = [Route("/NotifyCustomerStateChange", receiver)]  # a Mount would add a slash
    app = Starlette(routes=routes, lifespan=lifespan)
    with LoopbackServer(app) as server:
        url = f"{server.url}/NotifyCustomerStateChange"
        assert _post(url, issuer.notification(ctx, ChangeType.Suspend)).status_code == 200
        assert gate.core.is_paused(ctx)
        assert _post(url, issuer.notification(ctx, ChangeType.Resume)).status_code == 200
        assert not gate.core.is_paused(ctx)


def test_a_test_notification_reaches_on_test_never_the_gate_or_the_handler(
    issuer: Issuer, service: ServiceProcess, operator: Operator
) -> None:
    ctx = operator.add()
    verifier = AsyncNotificationVerifier.for_service(issuer.url, AUDIENCE)
    gate = AsyncTenantGate(AsyncTenantStatusClient(service.url))
    handled, tests = Handled(), Handled()
    receiver = NotificationReceiver(verifier, gate=gate, handler=handled, on_test=tests)
    with LoopbackServer(receiver) as server:
        token = issuer.sign({**issuer.claims(ctx, ChangeType.Suspend), "test": True})
        answer = _post(server.url, issuer.notification(ctx, ChangeType.Suspend, token=token))
        assert answer.status_code == 200
        assert answer.json()["status"] == "test"
        assert not gate.core.is_paused(ctx)
        assert handled.seen == []
        assert [(v.context_identifier, v.is_test) for v in tests.seen] == [(ctx, True)]
        real = _post(server.url, issuer.notification(ctx, ChangeType.Suspend))
        assert real.json()["status"] == "accepted"
        assert gate.core.is_paused(ctx)
        assert [v.is_test for v in handled.seen] == [False]
