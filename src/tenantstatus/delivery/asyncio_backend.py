"""An httpcore2 network backend straight on asyncio transports.

httpcore2's default backend goes through anyio's socket streams: every read and write
enters a cancel scope and a checkpoint, and a delivery makes several of each. On the
dispatcher's path that was half the CPU of a POST. This backend implements httpcore2's
public `AsyncNetworkBackend` interface with one `asyncio.Protocol` per connection:
writes go to the transport at once (waiting only when the transport asks to pause),
reads wait on a future with a timer for the timeout, and TLS is `loop.start_tls`.
`GuardedNetworkBackend` dials through it; it never resolves names (it is given the
checked IP literal).
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Iterable
from typing import Any, cast

import httpcore2

__all__ = ["AsyncioBackend", "AsyncioStream"]

_READ_BUFFER_LIMIT = 256 * 1024
# OpenSSL's X509_V_ERR_ codes for a chain that ends in a CA nobody trusts.
_UNKNOWN_ISSUER = frozenset({2, 18, 19, 20})  # UNABLE_TO_GET_ISSUER_CERT{,_LOCALLY}, SELF_SIGNED_*


class _Connection(asyncio.Protocol):
    """Buffers what arrives and wakes the one reader; wakes the one writer on resume."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.eof = False
        self.error: Exception | None = None
        self.paused = False
        self.reader: asyncio.Future[None] | None = None
        self.writer: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) > _READ_BUFFER_LIMIT and self.transport is not None:
            self.transport.pause_reading()
        _wake(self.reader)

    def eof_received(self) -> bool:
        self.eof = True
        _wake(self.reader)
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        self.error = exc
        _wake(self.reader)
        self.resume_writing()

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        _wake(self.writer)


def _wake(waiter: asyncio.Future[None] | None) -> None:
    if waiter is not None and not waiter.done():
        waiter.set_result(None)


async def _wait(waiter: asyncio.Future[None], seconds: float | None) -> bool:
    """Wait until `waiter` is woken or `seconds` pass; False if the time ran out.

    A timer is much cheaper than `asyncio.timeout` or `wait_for` on this path.
    """
    if seconds is None:
        await waiter
        return True
    expired = False

    def expire() -> None:
        nonlocal expired
        expired = True
        _wake(waiter)

    timer = asyncio.get_running_loop().call_later(seconds, expire)
    try:
        await waiter
    finally:
        timer.cancel()
    return not expired


class AsyncioStream(httpcore2.AsyncNetworkStream):
    """One TCP (or TLS) connection, as httpcore2 reads and writes it."""

    def __init__(self, connection: _Connection) -> None:
        self._connection = connection

    @property
    def _transport(self) -> asyncio.Transport:
        # Set by connection_made, before connect_tcp returns this stream.
        return cast(asyncio.Transport, self._connection.transport)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        """Up to `max_bytes` bytes; b"" once the peer has closed its side."""
        connection = self._connection
        if not connection.buffer and not connection.eof:
            waiter = asyncio.get_running_loop().create_future()
            connection.reader = waiter
            try:
                woken = await _wait(waiter, timeout)
            finally:
                connection.reader = None
            if not woken:
                raise httpcore2.ReadTimeout(f"no data within {timeout:g} s")
        if connection.buffer:
            chunk = bytes(connection.buffer[:max_bytes])
            del connection.buffer[:max_bytes]
            if len(connection.buffer) <= _READ_BUFFER_LIMIT // 2:
                self._transport.resume_reading()
            return chunk
        if connection.error is not None:
            raise httpcore2.ReadError(str(connection.error)) from connection.error
        return b""

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        """Hand `buffer` to the transport; wait only while it asks writers to pause."""
        if not buffer:
            return
        connection = self._connection
        if connection.error is not None or self._transport.is_closing():
            raise httpcore2.WriteError("the connection is closed")
        self._transport.write(buffer)
        if connection.paused:
            waiter = asyncio.get_running_loop().create_future()
            connection.writer = waiter
            try:
                woken = await _wait(waiter, timeout)
            finally:
                connection.writer = None
            if not woken:
                raise httpcore2.WriteTimeout(f"could not write within {timeout:g} s")
        if connection.error is not None:
            raise httpcore2.WriteError(str(connection.error)) from connection.error

    async def aclose(self) -> None:
        """Close the connection without waiting for the peer."""
        self._transport.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> httpcore2.AsyncNetworkStream:
        """Upgrade to TLS; `server_hostname` is used for SNI and certificate checks."""
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                transport = await loop.start_tls(
                    self._transport,
                    self._connection,
                    ssl_context,
                    server_hostname=server_hostname,
                )
        except TimeoutError:
            self._transport.close()
            raise httpcore2.ConnectTimeout(f"TLS handshake took over {timeout:g} s") from None
        except (OSError, ssl.SSLError) as exc:
            self._transport.close()
            raise httpcore2.ConnectError(_handshake_failure(exc)) from exc
        self._connection.transport = cast(asyncio.Transport, transport)
        return self

    def get_extra_info(self, info: str) -> Any:
        """`ssl_object`, `client_addr`, `server_addr`, `socket` and `is_readable`."""
        if info == "is_readable":
            return bool(self._connection.buffer) or self._connection.eof
        name = {"client_addr": "sockname", "server_addr": "peername"}.get(info, info)
        if name not in ("ssl_object", "sockname", "peername", "socket"):
            return None
        return self._transport.get_extra_info(name)


def _handshake_failure(exc: OSError | ssl.SSLError) -> str:
    """What went wrong in a TLS handshake, in words an operator can act on."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        detail = exc.verify_message or exc.reason or str(exc)
        hint = (
            "; if a private CA issued it, trust that CA with SSL_CERT_FILE (docs/deployment.md)"
            if exc.verify_code in _UNKNOWN_ISSUER
            else ""
        )
        return f"TLS handshake failed: the receiver's certificate was refused ({detail}){hint}"
    # asyncio raises a bare ConnectionResetError, with no message, when the peer
    # closes before the handshake is done (sslproto's eof_received).
    if isinstance(exc, ConnectionError | ssl.SSLEOFError | ssl.SSLZeroReturnError):
        detail = f" ({exc})" if str(exc) else ""
        return (
            f"TLS handshake failed: the receiver closed the connection during the handshake{detail}"
        )
    return f"TLS handshake failed: {str(exc) or type(exc).__name__}"


class AsyncioBackend(httpcore2.AsyncNetworkBackend):
    """Dials TCP connections with `loop.create_connection`."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore2's interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        """Connect to `host:port`; `host` should be an IP literal (nothing is resolved twice)."""
        loop = asyncio.get_running_loop()
        connection = _Connection()
        try:
            async with asyncio.timeout(timeout):
                await loop.create_connection(
                    lambda: connection,
                    host,
                    port,
                    local_addr=None if local_address is None else (local_address, 0),
                )
        except TimeoutError:
            raise httpcore2.ConnectTimeout(f"connecting took over {timeout:g} s") from None
        except OSError as exc:
            raise httpcore2.ConnectError(str(exc)) from exc
        stream = AsyncioStream(connection)
        sock = stream.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for option in socket_options or ():
            sock.setsockopt(*option)
        return stream

    async def sleep(self, seconds: float) -> None:
        """Wait between connection retries."""
        await asyncio.sleep(seconds)
