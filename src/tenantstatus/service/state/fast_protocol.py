"""The state API below ASGI: uvicorn's HTTP protocol with a fast path for `/api/state/`.

Profiles put three quarters of a state API request in uvicorn's per-request machinery
(a scope, a request cycle and a task per request, two writes per response), not in the
answer itself. This protocol answers `GET`/`HEAD /api/state/...` on a keep-alive HTTP/1.1
connection the moment its headers are parsed, with one write, using the same
`StateRoute.respond` as the ASGI route; every other request (and any state request it
cannot take: one pipelined behind a request in progress, one that closes the
connection) goes to uvicorn unchanged. The connection bounds of `BoundedHttpProtocol`
(header timeout, connection cap) hold on both paths.

It relies on uvicorn's `HttpToolsProtocol` internals; `requirements.lock` pins uvicorn,
and the end-to-end state API tests run through this path.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE

from tenantstatus.service.connections import BoundedHttpProtocol
from tenantstatus.service.state.route import PREFIX, StateRoute

__all__ = ["StateFastProtocol"]

_PREFIX = PREFIX.encode()


def _find_route(app: object) -> StateRoute | None:
    """The StateRoute under uvicorn's own wrappers (they keep the next app as `.app`)."""
    for _ in range(8):
        if isinstance(app, StateRoute):
            return app
        app = getattr(app, "app", None)
        if app is None:
            return None
    return None


class StateFastProtocol(BoundedHttpProtocol):
    """uvicorn's httptools protocol, bounded, answering the state API without an ASGI cycle."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._route = _find_route(self.app)
        self._fast = False

    def on_message_begin(self) -> None:
        self._fast = False
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        route = self._route
        method = self.parser.get_method()
        if (
            route is None
            or not self.url.startswith(_PREFIX)
            or b"%" in self.url
            or b"?" in self.url
            or (self.cycle is not None and not self.cycle.response_complete)
            or self.pipeline
            or self.parser.should_upgrade()
            or not self.parser.should_keep_alive()
            or self.parser.get_http_version() != "1.1"
        ):
            super().on_headers_complete()
            return
        self._fast = True
        self.request_head_received()
        if_none_match = None
        for name, value in self.headers:
            if name == b"if-none-match":
                if_none_match = value
                break
        status, headers, body = route.respond(
            method.decode("ascii"), self.url.decode(), if_none_match
        )
        parts = [STATUS_LINE[status]]
        for name, value in (*self.server_state.default_headers, *headers):
            parts += [name, b": ", value, b"\r\n"]
        parts += [b"\r\n", body]
        self.transport.write(b"".join(parts))
        self.on_response_complete()

    def on_body(self, body: bytes) -> None:
        if not self._fast:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if not self._fast:
            super().on_message_complete()
