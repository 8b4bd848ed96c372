"""Fixtures for the client tests: a fake clock, tenant installations, an operator, verifiers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import pytest

from tenantstatus.client import NotificationVerifier
from tests.client.installation import Installations
from tests.client.issuer import AUDIENCE, Issuer
from tests.client.loopback import LoopbackServer
from tests.support.clock import ManualClock as FakeClock
from tests.support.processes import ServiceProcess


class Operator:
    """Drives tenants on the real service through its operator API."""

    def __init__(self, service: ServiceProcess, installations: Installations) -> None:
        self.service = service
        self.installations = installations

    def add(self, state: str = "Running", shard: str = "sod2", label: str = "Release_1") -> str:
        """A new tenant with a unique id, living on `shard` of the installations."""
        ctx = f"Cust{uuid.uuid4().int % 10**12}"
        endpoint = self.installations.place(ctx, shard, label)
        body: dict[str, Any] = {
            "ContextIdentifier": ctx,
            "Endpoint": endpoint,
            "State": state,
            "VersionDocument": self.installations.documents[ctx],
        }
        self._post("/admin/tenants", body)
        return ctx

    def operate(self, ctx: str, operation: str, **parameters: Any) -> dict[str, Any]:
        """Run an operation (`upgrade`, `suspend`, `move`, ...) on the tenant now."""
        return self._post(
            f"/admin/tenants/{ctx}/operations", {"Operation": operation, **parameters}
        )

    def move(self, ctx: str, shard: str) -> str:
        """Move the tenant's installation to `shard` and tell the service; the new Endpoint."""
        endpoint = self.installations.place(ctx, shard)
        self.operate(ctx, "move", Endpoint=endpoint)
        return endpoint

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        with self.service.admin() as admin:
            response = admin.post(path, json=body)
        assert response.status_code in (200, 201), response.text
        result: dict[str, Any] = response.json()
        return result


class RecordingTransport(httpx.BaseTransport):
    """A real HTTP transport that remembers every request and its status."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.seen: list[tuple[str, int]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        self.seen.append((str(request.url), response.status_code))
        return response

    def close(self) -> None:
        self.inner.close()


class AsyncRecordingTransport(httpx.AsyncBaseTransport):
    """The async twin of `RecordingTransport`."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.seen: list[tuple[str, int]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        self.seen.append((str(request.url), response.status_code))
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def installations() -> Iterator[Installations]:
    sites = Installations()
    with LoopbackServer(sites.app) as server:
        sites.url = server.url
        yield sites


@pytest.fixture
def operator(service: ServiceProcess, installations: Installations) -> Operator:
    return Operator(service, installations)


@pytest.fixture(scope="session")
def issuer_server() -> Iterator[tuple[Issuer, LoopbackServer]]:
    signer = Issuer()
    with LoopbackServer(signer.app) as server:
        signer.url = server.url
        yield signer, server


@pytest.fixture
def issuer(issuer_server: tuple[Issuer, LoopbackServer]) -> Iterator[Issuer]:
    """The session's issuer, with its published keys reset after each test."""
    signer, _ = issuer_server
    published = set(signer.published)
    yield signer
    signer.published = published
    signer.jwks_status = 200
    signer.jwks_delay = 0.0


_open_verifiers: list[NotificationVerifier] = []


def closed_after_test(verifier: NotificationVerifier) -> NotificationVerifier:
    """`verifier`, to be closed when the test ends."""
    _open_verifiers.append(verifier)
    return verifier


def verifier_for(issuer: Issuer, **options: Any) -> NotificationVerifier:
    """A verifier of `issuer`'s notifications to AUDIENCE, closed when the test ends."""
    return closed_after_test(NotificationVerifier.for_service(issuer.url, AUDIENCE, **options))


@pytest.fixture(autouse=True)
def _close_verifiers() -> Iterator[None]:
    """Close the verifiers the test opened with `verifier_for` or `closed_after_test`."""
    yield
    while _open_verifiers:
        _open_verifiers.pop().close()
