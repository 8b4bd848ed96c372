"""An httpx2 transport that dials only addresses the `UrlPolicy` allows.

The check at registration is not enough: a name that resolved to a public address
then may resolve to 127.0.0.1 now (DNS rebinding). So the connection itself is
guarded. httpcore2, under httpx2, opens every TCP connection through a network
backend's `connect_tcp(host, port)`. `GuardedNetworkBackend` resolves `host`
itself, refuses the connection if any answer is refused by the policy, and dials a
checked IP literal, so nothing between the check and the connect resolves again. TLS
still gets the original host name for SNI and certificate verification, because
httpcore2 passes the URL's host to `start_tls`, not the address dialled. Connections
are pooled per origin and kept alive as usual; each new one is checked.

httpx2's own `AsyncHTTPTransport` does not accept a network backend, so
`SafeTransport` wraps an `httpcore2.AsyncConnectionPool` through public API only. It
has no proxy support on purpose: through a proxy the address dialled would be the
proxy's. An `AsyncClient` given an explicit transport ignores proxy variables.

    client = httpx2.AsyncClient(
        transport=safe_async_transport(policy), timeout=15.0, follow_redirects=False
    )
"""

from __future__ import annotations

import contextlib
import ipaddress
import ssl
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Sequence

import anyio
import httpcore2
import httpx2 as httpx

from tenantstatus.delivery.url_safety import (
    IPAddress,
    Resolver,
    SystemResolver,
    UrlPolicy,
    host_address,
)

__all__ = [
    "DEFAULT_LIMITS",
    "GuardedNetworkBackend",
    "SafeTransport",
    "UnsafeAddress",
    "safe_async_transport",
]

DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)


class UnsafeAddress(httpx.ConnectError):
    """A delivery was stopped before connecting: its host resolved to a refused address.

    Raised before a byte is sent. `host` and `port` are the URL's; `address` is the
    refused answer; `reason` is the rule in words.
    """

    def __init__(self, host: str, port: int, address: IPAddress, reason: str) -> None:
        resolved = "" if _is_literal(host) else f", which resolved to {address}"
        super().__init__(
            f"refused to connect to {host}:{port}{resolved}: {reason}; nothing was sent "
            "(if the receiver is meant to be there, add its network to "
            "TENANTSTATUS_ALLOWED_NETWORKS)"
        )
        self.host = host
        self.port = port
        self.address = address
        self.reason = reason


def _is_literal(host: str) -> bool:
    try:
        return host_address(host) is not None
    except ValueError:
        return False


class GuardedNetworkBackend(httpcore2.AsyncNetworkBackend):
    """A network backend that resolves, checks, then dials a checked IP literal."""

    def __init__(
        self,
        policy: UrlPolicy,
        resolver: Resolver | None = None,
        dialer: httpcore2.AsyncNetworkBackend | None = None,
    ) -> None:
        self._policy = policy
        self._resolver = resolver or SystemResolver()
        self._dialer = dialer or httpcore2.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore2's interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        """Connect to the first reachable address of `host`, after checking all of them."""
        deadline = None if timeout is None else anyio.current_time() + timeout
        addresses = await self._addresses(host, port, timeout)
        for address in addresses:
            self._check(host, port, address)
        failure: Exception | None = None
        for address in addresses:
            remaining = None if deadline is None else max(0.0, deadline - anyio.current_time())
            try:
                stream = await self._dialer.connect_tcp(
                    str(address),
                    port,
                    timeout=remaining,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore2.ConnectError as exc:
                failure = exc
                continue
            await self._check_peer(stream, host, port)
            return stream
        raise failure or httpcore2.ConnectError(f"{host} resolved to no address")

    async def sleep(self, seconds: float) -> None:
        """Wait between connection retries."""
        await anyio.sleep(seconds)

    async def _addresses(self, host: str, port: int, within: float | None) -> Sequence[IPAddress]:
        try:
            literal = host_address(host)
        except ValueError as exc:
            raise httpcore2.ConnectError(str(exc)) from None
        if literal is not None:
            return [literal]
        try:
            with anyio.fail_after(within):
                addresses = await self._resolver.resolve(host, port)
        except TimeoutError:
            raise httpcore2.ConnectTimeout(f"resolving {host} timed out") from None
        except OSError as exc:
            raise httpcore2.ConnectError(f"cannot resolve {host}: {exc}") from None
        if not addresses:
            raise httpcore2.ConnectError(f"{host} resolved to no address")
        return addresses

    def _check(self, host: str, port: int, address: IPAddress) -> None:
        reason = self._policy.refusal(address)
        if reason is not None:
            raise UnsafeAddress(host, port, address, reason)

    async def _check_peer(self, stream: httpcore2.AsyncNetworkStream, host: str, port: int) -> None:
        """Check the socket's actual peer too, in case a dialler resolves or redirects."""
        peer = stream.get_extra_info("server_addr")
        if not isinstance(peer, tuple):
            return
        address = ipaddress.ip_address(str(peer[0]).partition("%")[0])
        try:
            self._check(host, port, address)
        except UnsafeAddress:
            await stream.aclose()
            raise


class SafeTransport(httpx.AsyncBaseTransport):
    """An httpx2 transport over a pooled httpcore2 connection pool with a guarded backend.

    Build it with `safe_async_transport`. Besides the address check, it refuses URL
    schemes the policy does not allow (http unless `allow_http`).
    """

    def __init__(self, policy: UrlPolicy, pool: httpcore2.AsyncConnectionPool) -> None:
        self._policy = policy
        self._pool = pool

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send one request through the pool; httpcore2 errors become httpx2 errors."""
        if request.url.scheme not in self._policy.schemes:
            raise httpx.UnsupportedProtocol(
                f"{request.url.scheme!r} URLs are refused: deliveries use https "
                "(http only with TENANTSTATUS_ALLOW_HTTP=1)"
            )
        if not isinstance(request.stream, httpx.AsyncByteStream):
            raise TypeError("SafeTransport needs an httpx2.AsyncClient request")
        core_request = httpcore2.Request(
            method=request.method,
            url=httpcore2.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _httpx_errors():
            response = await self._pool.handle_async_request(core_request)
        if not isinstance(response.stream, AsyncIterable):
            raise TypeError("httpcore2 returned a sync stream to an async transport")
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(response.stream),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        """Close every pooled connection."""
        await self._pool.aclose()


def safe_async_transport(
    policy: UrlPolicy,
    *,
    resolver: Resolver | None = None,
    limits: httpx.Limits = DEFAULT_LIMITS,
    verify: ssl.SSLContext | bool = True,
) -> SafeTransport:
    """A pooled, keep-alive transport that connects only where `policy` allows.

    `resolver` defaults to the system's; `verify` is httpx2's (True, or an
    `ssl.SSLContext` trusting a test CA). Use with `follow_redirects=False`.
    """
    pool = httpcore2.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(verify=verify),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=GuardedNetworkBackend(policy, resolver),
    )
    return SafeTransport(policy, pool)


# Most specific first: the first match wins.
_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore2.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore2.ReadTimeout, httpx.ReadTimeout),
    (httpcore2.WriteTimeout, httpx.WriteTimeout),
    (httpcore2.PoolTimeout, httpx.PoolTimeout),
    (httpcore2.TimeoutException, httpx.TimeoutException),
    (httpcore2.ConnectError, httpx.ConnectError),
    (httpcore2.ReadError, httpx.ReadError),
    (httpcore2.WriteError, httpx.WriteError),
    (httpcore2.NetworkError, httpx.NetworkError),
    (httpcore2.ProxyError, httpx.ProxyError),
    (httpcore2.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore2.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore2.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore2.ProtocolError, httpx.ProtocolError),
)


@contextlib.contextmanager
def _httpx_errors() -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        for core_error, httpx_error in _ERRORS:
            if isinstance(exc, core_error):
                raise httpx_error(str(exc)) from exc
        raise


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(self, stream: AsyncIterable[bytes]) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _httpx_errors():
            async for chunk in self._stream:
                yield chunk

    async def aclose(self) -> None:
        close = getattr(self._stream, "aclose", None)
        if close is not None:
            with _httpx_errors():
                await close()
