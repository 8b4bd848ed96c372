"""`NotificationReceiver`: the State Change URL as a mountable ASGI app.

    verifier = AsyncNotificationVerifier.for_service("https://status.example.com", "my-app")
    receiver = NotificationReceiver(verifier, gate=gate, handler=on_notification)
    app.add_route("/NotifyCustomerStateChange", receiver)  # FastAPI or Starlette
    # or on its own: uvicorn.run(receiver, port=8080)

(`app.mount(path, receiver)` works too, but Starlette then redirects `path` to `path/`.)

For each POST it verifies the notification, feeds the gate (pause, resume, move,
delete), calls the vendor's handler, and only then answers 200. A notification that
fails verification gets 400 (malformed, or a token signed for another body) or 401
(the token does not prove who sent it), never a 5xx. A repeat of an accepted delivery
gets 200 without calling the handler again. 503 means "try again later": the
issuer's keys could not be fetched, or the handler raised.

A test notification (`verified.is_test`, sent by `tenantstatus app test`) is verified
like any other, but it neither feeds the gate nor reaches `handler`: it goes to
`on_test`, if given, and is answered 200 with `"status": "test"`. So a receiver built
on this cannot mistake a test for a real change.

Run on its own, the receiver closes the verifier and the gate's client at shutdown;
mounted in another app (which does not forward lifespan events), call `aclose()`
from that app's shutdown.
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from tenantstatus.client.errors import (
    DuplicateDelivery,
    KeySetUnavailable,
    NotificationRejected,
)
from tenantstatus.client.gate import AsyncTenantGate
from tenantstatus.client.verifier_core import VerifiedNotification
from tenantstatus.client.verify import AsyncNotificationVerifier

__all__ = ["Handler", "NotificationReceiver"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
#: What the vendor supplies: a function or coroutine function taking the notification.
Handler = Callable[[VerifiedNotification], Awaitable[None] | None]

logger = logging.getLogger("tenantstatus.client.receiver")

_PROBLEM = b"application/problem+json"
_JSON = b"application/json"
_RETRY_LATER_SECONDS = b"30"


class _TooLarge(Exception):
    pass


class NotificationReceiver:
    """An ASGI app that accepts state change notifications at whatever path it is mounted."""

    def __init__(
        self,
        verifier: AsyncNotificationVerifier,
        *,
        gate: AsyncTenantGate | None = None,
        handler: Handler | None = None,
        on_test: Handler | None = None,
        max_body: int = 64 * 1024,
    ) -> None:
        self.verifier = verifier
        self.gate = gate
        self.handler = handler
        self.on_test = on_test
        self.max_body = max_body

    async def aclose(self) -> None:
        """Close the verifier's and the gate client's HTTP connections."""
        await self.verifier.aclose()
        if self.gate is not None:
            await self.gate.status_client.aclose()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        if scope["method"] != "POST":
            await _problem(
                send, 405, "Method Not Allowed", "POST a notification here.", [(b"allow", b"POST")]
            )
            return
        try:
            body = await self._body(receive)
        except _TooLarge:
            await _problem(
                send, 413, "Content Too Large", f"A notification is at most {self.max_body} bytes."
            )
            return
        headers = {
            name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]
        }
        await self._accept(body, headers, send)

    async def _accept(self, body: bytes, headers: dict[str, str], send: Send) -> None:
        try:
            verified = await self.verifier.verify(body, headers=headers, remember=False)
        except DuplicateDelivery as exc:
            self._refused(exc)
            await _answer(send, 200, {"status": "duplicate", "delivery": exc.delivery_id})
            return
        except NotificationRejected as exc:
            self._refused(exc)
            await _problem(send, exc.status_code, type(exc).__name__, str(exc))
            return
        except KeySetUnavailable as exc:
            logger.error("cannot verify notifications: %s", exc)
            await _problem(
                send,
                503,
                "Signing keys unavailable",
                str(exc),
                [(b"retry-after", _RETRY_LATER_SECONDS)],
            )
            return
        await self._deliver(verified, body, headers, send)

    def _refused(self, exc: NotificationRejected) -> None:
        if not isinstance(exc, DuplicateDelivery):
            logger.warning("rejected a notification: %s", exc)

    async def _deliver(
        self, verified: VerifiedNotification, body: bytes, headers: dict[str, str], send: Send
    ) -> None:
        # The seam `tenantstatus receive --forward-to` replaces: what happens once verified.
        try:
            if verified.is_test:
                await _call(self.on_test, verified)
            else:
                if self.gate is not None:
                    await self.gate.apply(verified)
                await _call(self.handler, verified)
        except Exception:
            logger.exception("the handler failed on delivery %s", verified.delivery_id)
            await _problem(
                send,
                503,
                "Not handled",
                "The handler failed; try again later.",
                [(b"retry-after", _RETRY_LATER_SECONDS)],
            )
            return
        self.verifier.remember(verified)
        status = "test" if verified.is_test else "accepted"
        await _answer(send, 200, {"status": status, "delivery": verified.delivery_id})

    async def _body(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise _TooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return


async def _call(handler: Handler | None, verified: VerifiedNotification) -> None:
    if handler is not None:
        result = handler(verified)
        if inspect.isawaitable(result):
            await result


async def _answer(
    send: Send,
    status: int,
    document: dict[str, Any],
    content_type: bytes = _JSON,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    body = json.dumps(document).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _problem(
    send: Send,
    status: int,
    title: str,
    detail: str,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    document = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    await _answer(send, status, document, _PROBLEM, headers)
