"""The public state API's hot path: `GET /api/state/{ContextIdentifier}`.

A bare ASGI app mounted in front of the framework's router. It answers from the
`StateCache` and never touches the database.
"""

from __future__ import annotations

from starlette.datastructures import State
from starlette.types import ASGIApp, Receive, Scope, Send

from tenantstatus.model import CONTEXT_IDENTIFIER_PATTERN
from tenantstatus.service.problems import PROBLEM_JSON, problem_body
from tenantstatus.service.state_cache import Answer, StateCache, ValidityClock

__all__ = ["PREFIX", "StateRoute"]

PREFIX = "/api/state/"
_PREFIX_LENGTH = len(PREFIX)
_JSON = b"application/json"
_VARY = (b"vary", b"accept-encoding")


class StateRoute:
    """Serve `/api/state/...` from memory; pass every other request to `app`."""

    def __init__(
        self, app: ASGIApp, cache: StateCache, clock: ValidityClock, state: State | None = None
    ) -> None:
        self.app = app
        self.cache = cache
        self.clock = clock
        self.served = 0
        # The service's parts (tenants, applications, store...), for embedders like the sandbox.
        self.state = state or State()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        self.served += 1
        method = scope["method"]
        if method != "GET" and method != "HEAD":
            await _send(
                send,
                405,
                problem_body(405, "Method Not Allowed", "The state API answers GET and HEAD."),
                PROBLEM_JSON.encode(),
                [(b"allow", b"GET, HEAD")],
                method == "HEAD",
            )
            return
        context_identifier = path[_PREFIX_LENGTH:]
        answer = self.cache.get(context_identifier)
        if answer is None:
            if CONTEXT_IDENTIFIER_PATTERN.fullmatch(context_identifier) is None:
                detail = (
                    f"{context_identifier[:80]!r} is not a ContextIdentifier: it must match "
                    f"{CONTEXT_IDENTIFIER_PATTERN.pattern}"
                )
                await _send(
                    send,
                    400,
                    problem_body(400, "Invalid ContextIdentifier", detail),
                    PROBLEM_JSON.encode(),
                    [],
                    method == "HEAD",
                )
                return
            answer = Answer.unknown(context_identifier)
        valid_until, max_age = self.clock.stamp(answer.not_after)
        headers = [
            (b"cache-control", b"public, max-age=%d" % max_age),
            (b"etag", answer.etag),
            _VARY,
        ]
        if _matches(scope, answer.etag):
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        body = answer.head + valid_until + answer.tail
        await _send(send, 200, body, _JSON, headers, method == "HEAD")


def _matches(scope: Scope, etag: bytes) -> bool:
    for name, value in scope["headers"]:
        if name == b"if-none-match":
            candidates = [c.strip() for c in value.split(b",")]
            return etag in candidates or b"*" in candidates or etag[2:] in candidates
    return False


async def _send(
    send: Send,
    status: int,
    body: bytes,
    content_type: bytes,
    headers: list[tuple[bytes, bytes]],
    head_only: bool,
) -> None:
    headers = [
        *headers,
        (b"content-type", content_type),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head_only else body})
