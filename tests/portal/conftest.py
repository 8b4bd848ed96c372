"""A service whose two applications have customers and deliveries, and a browser-less portal
client that logs in as a person would: GET the form, POST it with its CSRF token."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import anyio
import httpx2 as httpx
import pytest

from tenantstatus.service.auth import hash_token
from tenantstatus.store import SqlStore
from tests.push.conftest import PUSH_ENV, Registered, operate, register, tenant
from tests.support.processes import ServiceProcess
from tests.support.receivers import Receiver

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a page."""
    found = _CSRF.search(html)
    assert found is not None, html[:2000]
    return found.group(1)


class PortalClient:
    """One browser's worth of cookies against the portal, without following redirects."""

    def __init__(self, service: ServiceProcess) -> None:
        self.http = httpx.Client(base_url=service.url, follow_redirects=False, timeout=10.0)

    def close(self) -> None:
        self.http.close()

    def login(self, token: str) -> httpx.Response:
        form = self.http.get("/portal/login")
        return self.http.post("/portal/login", data={"csrf": csrf_of(form.text), "token": token})

    def enter(self, link_url: str) -> httpx.Response:
        landing = self.http.get(link_url)
        assert landing.status_code == 200, landing.text
        token = link_url.split("token=", 1)[1]
        return self.http.post("/portal/enter", data={"csrf": csrf_of(landing.text), "token": token})

    def csrf(self) -> str:
        home = self.http.get("/portal")
        assert home.status_code == 200, home.status_code
        return csrf_of(home.text)

    def act(self, path: str, **fields: str) -> httpx.Response:
        """POST a portal form with this session's CSRF token."""
        return self.http.post(path, data={"csrf": self.csrf(), **fields})

    @property
    def session_cookie(self) -> str:
        value = self.http.cookies.get("tsportal")
        assert value, "no session cookie"
        return str(value)


@dataclass
class World:
    """Application A (with customers and deliveries) and application B, on one service."""

    service: ServiceProcess
    receiver: Receiver
    a: Registered
    b: Registered
    a_delivery: str
    b_delivery: str

    def portal(self) -> PortalClient:
        return PortalClient(self.service)

    def delivery(self, delivery_id: str) -> dict[str, Any]:
        with self.service.admin() as admin:
            found: dict[str, Any] = admin.get(f"/admin/deliveries/{delivery_id}").json()
        return found

    def application(self, application: Registered) -> dict[str, Any]:
        with self.service.admin() as admin:
            found: dict[str, Any] = admin.get(f"/admin/applications/{application.id}").json()
        return found

    def link(self, application: Registered) -> str:
        with self.service.admin() as admin:
            minted = admin.post(f"/admin/applications/{application.id}/portal-link")
        assert minted.status_code == 201, minted.text
        url: str = minted.json()["Url"]
        return url

    def store_call(self, call: Callable[[SqlStore], Any]) -> Any:
        """Run `call` on the service's own database, beside the running service."""

        async def run() -> Any:
            store = SqlStore(f"sqlite+aiosqlite:///{self.service.data_dir / 'tenantstatus.db'}")
            await store.open()
            try:
                return await call(store)
            finally:
                await store.close()

        # A thread of its own: Playwright's sync API may hold this thread's event loop.
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(anyio.run, run).result()

    def stale_session(self, application: Registered, token: str, began: datetime) -> None:
        """Store a session for `application` that began at `began` and has ended since."""
        self.store_call(
            lambda store: store.add_portal_session(
                hash_token(token), application.id, now=began, expires_at=began, keep=10
            )
        )


def wait_for_status(world: World, delivery_id: str, status: str, attempts: int = 1) -> None:
    deadline = time.monotonic() + 20
    while True:
        detail = world.delivery(delivery_id)
        if detail["Delivery"]["Status"] == status and len(detail["Attempts"]) >= attempts:
            return
        assert time.monotonic() < deadline, detail
        time.sleep(0.05)


@pytest.fixture(scope="session")
def portal_world(tmp_path_factory: pytest.TempPathFactory, receiver: Receiver) -> Iterator[World]:
    """A service of its own (sessions are stored there), two applications, three tenants."""
    service = ServiceProcess(tmp_path_factory.mktemp("portal") / "data", env=PUSH_ENV).start()
    a = register(service, f"{receiver.url}/markup/portal-a", "Awesome <App>")
    b = register(service, f"{receiver.url}/ok/portal-b", "Bee App")
    tenant(service, "PortalA1", a)
    tenant(service, "PortalA2", a, state="Provisioning")
    tenant(service, "PortalB1", b)
    operate(service, "PortalA1", "suspend")
    operate(service, "PortalB1", "suspend")
    a_delivery = receiver.wait_for("portal-a", 1)[0].headers["webhook-id"]
    b_delivery = receiver.wait_for("portal-b", 1)[0].headers["webhook-id"]
    world = World(service, receiver, a, b, a_delivery, b_delivery)
    wait_for_status(world, a_delivery, "delivered")
    yield world
    service.stop()
