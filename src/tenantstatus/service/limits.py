"""Request body limits, enforced before the framework reads a byte too many."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tenantstatus.service.problems import PROBLEM_JSON, problem_body

__all__ = ["BodyLimit", "BodyTooLarge"]


class BodyTooLarge(Exception):
    """The request body is larger than the route allows."""


class BodyLimit:
    """Refuse bodies over `default` bytes (or a per-path override) with 413."""

    def __init__(
        self, app: ASGIApp, *, default: int, overrides: Mapping[str, int] | None = None
    ) -> None:
        self.app = app
        self.default = default
        self.overrides = dict(overrides or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.overrides.get(scope["path"], self.default)
        for name, value in scope["headers"]:
            if name == b"content-length" and (not value.isdigit() or int(value) > limit):
                await _refuse(send, limit)
                return
        received = 0
        started = False
        refused = False

        async def bounded_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # A body without Content-Length (chunked) is only known to be too big
                    # mid-read, inside the framework's body parsing, which turns any error
                    # there into a 400: answer 413 now and drop what the app sends after.
                    refused = True
                    if not started:
                        await _refuse(send, limit)
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        with contextlib.suppress(BodyTooLarge):
            await self.app(scope, bounded_receive, tracking_send)


async def _refuse(send: Send, limit: int) -> None:
    body = problem_body(413, "Request body too large", f"This route accepts at most {limit} bytes.")
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
