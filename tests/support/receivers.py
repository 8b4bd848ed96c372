"""A real webhook receiver on loopback that records every request, with scripted behaviours.

Paths choose the behaviour, so one receiver serves many tests:

    /ok/{name}              200
    /flaky/{n}/{name}       500 for the first n attempts of each webhook-id, then 200
    /gone/{name}            410
    /down/{name}            503, always (a receiver that is down)
    /hang/{name}            answers after 5 s (past the test service's timeout)
    /redirect/{name}        307 to /ok/{name}
    /retry-after/{name}     503 with Retry-After: 1 on the first attempt, then 200
    /markup/{name}          200 with an answer full of HTML, for pages that must escape it
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.support.private_ca import IssuedCertificate
from tests.support.processes import free_port

MARKUP_ANSWER = "<script>alert('owned')</script><b id=\"injected\">accepted</b>"


@dataclass(frozen=True)
class Received:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes
    at: float


class Receiver:
    """Starts a uvicorn server in a thread; `requests` holds what it received.

    With `tls`, it serves https with that certificate (see tests/support/private_ca).
    """

    def __init__(self, tls: IssuedCertificate | None = None) -> None:
        self.port = free_port()
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        self._attempts: Counter[tuple[str, str]] = Counter()
        app = Starlette(routes=[Route("/{path:path}", self._handle, methods=["POST"])])
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="off",
            ssl_certfile=tls.certificate_file if tls else None,
            ssl_keyfile=tls.key_file if tls else None,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def start(self) -> Receiver:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            assert time.monotonic() < deadline, "receiver did not start"
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def received(self, name: str) -> list[Received]:
        """Requests whose path ends in /name."""
        with self._lock:
            return [r for r in self.requests if r.path.rsplit("/", 1)[-1] == name]

    def notifications_by_tenant(self, name: str, *fields: str) -> dict[str, list[tuple[Any, ...]]]:
        """Per tenant, the `fields` of each notification for `name`, in the order they
        arrived, each once by webhook-id (a redelivery repeats one)."""
        seen: set[str] = set()
        found: dict[str, list[tuple[Any, ...]]] = {}
        for request in self.received(name):
            if request.headers["webhook-id"] in seen:
                continue
            seen.add(request.headers["webhook-id"])
            body = json.loads(request.body)
            found.setdefault(body["ContextIdentifier"], []).append(tuple(body[f] for f in fields))
        return found

    def wait_for(self, name: str, count: int, timeout: float = 15.0) -> list[Received]:
        """Wait until `count` requests for `name` arrived; return them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.received(name)
            if len(got) >= count:
                return got
            time.sleep(0.02)
        raise AssertionError(f"{name}: {len(self.received(name))} of {count} requests arrived")

    async def _handle(self, request: Request) -> Response:
        body = await request.body()
        path = request.url.path
        record = Received(
            path, {k.lower(): v for k, v in request.headers.items()}, body, time.time()
        )
        with self._lock:
            self.requests.append(record)
            key = (path, record.headers.get("webhook-id", ""))
            self._attempts[key] += 1
            attempt = self._attempts[key]
        parts = path.strip("/").split("/")
        kind = parts[0]
        if kind == "flaky" and attempt <= int(parts[1]):
            return PlainTextResponse("not yet", status_code=500)
        if kind == "gone":
            return PlainTextResponse("unsubscribed", status_code=410)
        if kind == "down":
            return PlainTextResponse("down for maintenance", status_code=503)
        if kind == "hang":
            await asyncio.sleep(5)
        if kind == "redirect":
            return RedirectResponse(f"/ok/{parts[-1]}", status_code=307)
        if kind == "markup":
            return PlainTextResponse(MARKUP_ANSWER)
        if kind == "retry-after" and attempt == 1:
            return PlainTextResponse("busy", status_code=503, headers={"Retry-After": "1"})
        return PlainTextResponse("accepted")
