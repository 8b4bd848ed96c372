"""The public state API's hot path: `GET /api/state/{ContextIdentifier}`.

A bare ASGI app mounted in front of the framework's router. It answers from the
`StateCache` and never touches the database.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from tenantstatus.model import CONTEXT_IDENTIFIER_PATTERN
from tenantstatus.service.problems import PROBLEM_JSON, problem_body
from tenantstatus.service.state.cache import Answer, StateCache, ValidityClock

__all__ = ["PREFIX", "StateRoute"]

PREFIX = "/api/state/"
_PREFIX_LENGTH = len(PREFIX)
_JSON = b"application/json"
_VARY = (b"vary", b"accept-encoding")


Headers = list[tuple[bytes, bytes]]


class StateRoute:
    """Serve `/api/state/...` from memory; pass every other request to `app`."""

    def __init__(self, app: ASGIApp, cache: StateCache, clock: ValidityClock) -> None:
        self.app = app
        self.cache = cache
        self.clock = clock
        self.served = 0

    def respond(
        self, method: str, path: str, if_none_match: bytes | None
    ) -> tuple[int, Headers, bytes]:
        """Status, headers and body for a state API request; no I/O.

        The ASGI entry point and the server's fast path (`fast_protocol`) both use it.
        """
        self.served += 1
        head_only = method == "HEAD"
        if method != "GET" and not head_only:
            body = problem_body(405, "Method Not Allowed", "The state API answers GET and HEAD.")
            return _with_body(405, [(b"allow", b"GET, HEAD")], PROBLEM_JSON_BYTES, body, False)
        context_identifier = path[_PREFIX_LENGTH:]
        answer = self.cache.get(context_identifier)
        if answer is None:
            if CONTEXT_IDENTIFIER_PATTERN.fullmatch(context_identifier) is None:
                detail = (
                    f"{context_identifier[:80]!r} is not a ContextIdentifier: it must match "
                    f"{CONTEXT_IDENTIFIER_PATTERN.pattern}"
                )
                body = problem_body(400, "Invalid ContextIdentifier", detail)
                return _with_body(400, [], PROBLEM_JSON_BYTES, body, head_only)
            answer = Answer.unknown(context_identifier)
        valid_until, max_age = self.clock.stamp(answer.not_after)
        headers = [
            (b"cache-control", b"public, max-age=%d" % max_age),
            (b"etag", answer.etag),
            _VARY,
        ]
        if if_none_match is not None and _matches(if_none_match, answer.etag):
            return 304, headers, b""
        body = answer.head + valid_until + answer.tail
        return _with_body(200, headers, _JSON, body, head_only)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        if_none_match = None
        for name, value in scope["headers"]:
            if name == b"if-none-match":
                if_none_match = value
                break
        status, headers, body = self.respond(scope["method"], path, if_none_match)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


PROBLEM_JSON_BYTES = PROBLEM_JSON.encode()


def _matches(if_none_match: bytes, etag: bytes) -> bool:
    candidates = [c.strip() for c in if_none_match.split(b",")]
    return etag in candidates or b"*" in candidates or etag[2:] in candidates


def _with_body(
    status: int, headers: Headers, content_type: bytes, body: bytes, head_only: bool
) -> tuple[int, Headers, bytes]:
    headers = [
        *headers,
        (b"content-type", content_type),
        (b"content-length", str(len(body)).encode()),
    ]
    return status, headers, b"" if head_only else body
