"""The dispatcher's httpx2 transport: pooled HTTP/1.1 with httptools parsing.

A delivery is one small POST whose answer matters only for its status and a short
excerpt. httpcore2's general pool spent 0.3-0.5 ms of CPU on each (anyio locks and
cancel scopes, h11's pure-Python state machine); at thousands of deliveries per second
that was most of the dispatcher's CPU. This transport does only what a delivery
needs: HTTP/1.1 with keep-alive, one request per connection at a time, response
framing by httptools (llhttp, the parser uvicorn uses), bodies kept up to a bound.
Connections come from an httpcore2 network backend, so `GuardedNetworkBackend`
still checks every address dialled.

    transport = Http11Transport(policy, GuardedNetworkBackend(policy), ssl_context=ctx)
    client = httpx2.AsyncClient(transport=transport, follow_redirects=False)
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import deque

import httpcore2
import httptools
import httpx2 as httpx

from tenantstatus.delivery.transport_errors import httpx_errors
from tenantstatus.delivery.url_safety import UrlPolicy

__all__ = ["Http11Transport"]

_READ_SIZE = 64 * 1024
_DEFAULT_PORTS = {b"http": 80, b"https": 443}
_NO_BODY_METHODS = frozenset({b"HEAD", b"CONNECT"})


class _Answer:
    """One response as httptools parses it; the parser calls the `on_` methods."""

    __slots__ = (
        "body",
        "complete",
        "discarded",
        "headers",
        "headers_done",
        "keep_alive",
        "max_body",
        "parser",
        "status",
    )

    def __init__(self, max_body: int) -> None:
        self.max_body = max_body
        self.parser = httptools.HttpResponseParser(self)
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = bytearray()
        self.headers_done = False
        self.keep_alive = False
        self.complete = False
        self.discarded = 0

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        # Asked here: once the message is complete, llhttp has reset these.
        self.status = self.parser.get_status_code()
        self.keep_alive = self.parser.should_keep_alive()
        self.headers_done = True

    def on_body(self, chunk: bytes) -> None:
        room = self.max_body - len(self.body)
        if room > 0:
            self.body += chunk[:room]
        self.discarded += max(0, len(chunk) - max(room, 0))

    def on_message_complete(self) -> None:
        self.complete = True


class _Connection:
    """One keep-alive connection: a network stream and when it was last used."""

    __slots__ = ("idle_since", "reused", "stream")

    def __init__(self, stream: httpcore2.AsyncNetworkStream) -> None:
        self.stream = stream
        self.idle_since = 0.0
        self.reused = False

    def is_usable(self, now: float, expiry: float) -> bool:
        # Readable while idle means the peer closed it or sent something unasked for.
        return now - self.idle_since < expiry and not self.stream.get_extra_info("is_readable")


class Http11Transport(httpx.AsyncBaseTransport):
    """HTTP/1.1 for deliveries: keep-alive pool per origin, no proxies, bounded answers.

    `max_connections` bounds open connections (a request waits up to the pool timeout
    for one); `max_keepalive` bounds idle ones; `keepalive_expiry` closes idle ones
    sooner than servers usually do. A response body is kept up to `max_body` bytes;
    up to `max_drain` more are read and dropped so the connection can be reused,
    beyond that it is closed. A request on a reused connection that the peer had
    closed, with no byte of an answer, is sent once more on a new connection.
    """

    def __init__(
        self,
        policy: UrlPolicy,
        backend: httpcore2.AsyncNetworkBackend,
        *,
        ssl_context: ssl.SSLContext,
        max_connections: int = 100,
        max_keepalive: int = 20,
        keepalive_expiry: float = 4.0,
        max_body: int = 64 * 1024,
        max_drain: int = 1024 * 1024,
    ) -> None:
        self._policy = policy
        self._backend = backend
        self._ssl_context = ssl_context
        self._slots = asyncio.Semaphore(max_connections)
        self._max_keepalive = max_keepalive
        self._keepalive_expiry = keepalive_expiry
        self._max_body = max_body
        self._max_drain = max_drain
        self._idle: dict[tuple[bytes, bytes, int], deque[_Connection]] = {}
        self._idle_count = 0
        self._closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send `request` and read its whole (bounded) answer."""
        url = request.url
        if url.scheme not in self._policy.schemes:
            raise httpx.UnsupportedProtocol(
                f"{url.scheme!r} URLs are refused: deliveries use https "
                "(http only with TENANTSTATUS_ALLOW_HTTP=1)"
            )
        method = request.method.encode("ascii")
        if method in _NO_BODY_METHODS:
            raise httpx.UnsupportedProtocol(f"{request.method} is not supported here")
        if self._closed:
            raise httpx.LocalProtocolError("the transport is closed")
        timeouts = request.extensions.get("timeout", {})
        head = _request_head(method, request)
        body = await request.aread()
        if url.port == 0:
            # Registration refuses it; a URL stored before that rule must not reach port 80.
            raise httpx.ConnectError(
                "port 0 cannot be dialled; change the State Change URL to the receiver's port"
            )
        port = url.port if url.port is not None else _DEFAULT_PORTS[url.raw_scheme]
        origin = (url.raw_scheme, url.raw_host, port)
        for _ in range(2):
            connection = await self._checkout(origin, timeouts)
            try:
                answer, keep = await self._exchange(connection, head + body, timeouts)
            except _StaleConnection:
                await self._discard(connection)
                continue
            except BaseException:
                await self._discard(connection)
                raise
            if keep:
                self._checkin(origin, connection)
            else:
                await self._discard(connection)
            return httpx.Response(
                status_code=answer[0],
                headers=answer[1],
                content=answer[2],
                extensions={"http_version": b"HTTP/1.1"},
            )
        raise httpx.RemoteProtocolError("the server closed the connection without answering")

    async def aclose(self) -> None:
        """Close every idle connection; connections in use close when their request ends."""
        self._closed = True
        idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection in connections:
                await self._discard(connection)
        self._idle_count = 0

    async def _checkout(
        self, origin: tuple[bytes, bytes, int], timeouts: dict[str, float | None]
    ) -> _Connection:
        now = time.monotonic()
        idle = self._idle.get(origin)
        while idle:
            connection = idle.pop()
            self._idle_count -= 1
            if connection.is_usable(now, self._keepalive_expiry):
                connection.reused = True
                return connection
            await self._discard(connection)
        await self._acquire_slot(timeouts.get("pool"))
        try:
            return await self._connect(origin, timeouts.get("connect"))
        except BaseException:
            self._slots.release()
            raise

    async def _acquire_slot(self, within: float | None) -> None:
        if self._slots.locked() and self._idle_count:
            await self._close_oldest_idle()
        try:
            async with asyncio.timeout(within):
                await self._slots.acquire()
        except TimeoutError:
            raise httpx.PoolTimeout(f"no connection free within {within:g} s") from None

    async def _connect(self, origin: tuple[bytes, bytes, int], within: float | None) -> _Connection:
        scheme, host, port = origin
        name = host.decode("ascii")
        with httpx_errors():
            stream = await self._backend.connect_tcp(name, port, timeout=within)
            if scheme == b"https":
                try:
                    stream = await stream.start_tls(
                        self._ssl_context, server_hostname=name, timeout=within
                    )
                except BaseException:
                    await stream.aclose()
                    raise
        return _Connection(stream)

    async def _exchange(
        self,
        connection: _Connection,
        message: bytes,
        timeouts: dict[str, float | None],
    ) -> tuple[tuple[int, list[tuple[bytes, bytes]], bytes], bool]:
        answer = _Answer(self._max_body)
        stream = connection.stream
        with httpx_errors():
            try:
                await stream.write(message, timeout=timeouts.get("write"))
            except httpcore2.WriteError:
                if connection.reused:
                    raise _StaleConnection from None
                raise
            received = 0
            while True:
                chunk = await stream.read(_READ_SIZE, timeout=timeouts.get("read"))
                if not chunk:
                    if connection.reused and received == 0:
                        raise _StaleConnection
                    if answer.headers_done and not answer.complete and _ends_at_close(answer):
                        answer.complete = True
                        break
                    raise httpcore2.RemoteProtocolError(
                        "the server closed the connection before the answer was complete"
                    )
                received += len(chunk)
                try:
                    answer.parser.feed_data(chunk)
                except httptools.HttpParserUpgrade:
                    raise httpcore2.RemoteProtocolError("the server switched protocols") from None
                except httptools.HttpParserError as exc:
                    raise httpcore2.RemoteProtocolError(f"malformed answer: {exc}") from None
                if answer.complete:
                    if 100 <= answer.status < 200:  # an interim answer: the real one follows
                        answer = _Answer(self._max_body)
                        continue
                    break
                if answer.discarded > self._max_drain:
                    return (answer.status, answer.headers, bytes(answer.body)), False
        keep = answer.keep_alive and not self._closed and self._idle_count < self._max_keepalive
        return (answer.status, answer.headers, bytes(answer.body)), keep

    def _checkin(self, origin: tuple[bytes, bytes, int], connection: _Connection) -> None:
        connection.idle_since = time.monotonic()
        self._idle.setdefault(origin, deque()).append(connection)
        self._idle_count += 1

    async def _close_oldest_idle(self) -> None:
        oldest = min(
            (c for connections in self._idle.values() for c in connections),
            key=lambda c: c.idle_since,
        )
        for connections in self._idle.values():
            if oldest in connections:
                connections.remove(oldest)
                break
        self._idle_count -= 1
        await self._discard(oldest)

    async def _discard(self, connection: _Connection) -> None:
        try:
            await connection.stream.aclose()
        finally:
            self._slots.release()


class _StaleConnection(Exception):
    """A kept-alive connection turned out closed before any answer: try a new one."""


def _ends_at_close(answer: _Answer) -> bool:
    """A response without Content-Length or chunked coding ends when the connection does."""
    names = {name.lower() for name, _ in answer.headers}
    return b"content-length" not in names and b"transfer-encoding" not in names


def _request_head(method: bytes, request: httpx.Request) -> bytes:
    lines = [method + b" " + request.url.raw_path + b" HTTP/1.1"]
    for name, value in request.headers.raw:
        if b"\r" in value or b"\n" in value or b"\r" in name or b"\n" in name:
            raise httpx.LocalProtocolError(f"header {name!r} holds a line break")
        lines.append(name + b": " + value)
    return b"\r\n".join(lines) + b"\r\n\r\n"
