"""An httpx2 transport that dials only addresses the `UrlPolicy` allows.

The check at registration is not enough: a name that resolved to a public address
then may resolve to 127.0.0.1 now (DNS rebinding). So the connection itself is
guarded. httpcore2, under httpx2, opens every TCP connection through a network
backend's `connect_tcp(host, port)`. `GuardedNetworkBackend` resolves `host`
itself, refuses the connection if any answer is refused by the policy, and dials a
checked IP literal (through `AsyncioBackend`), so nothing between the check and the
connect resolves again. TLS still gets the original host name for SNI and certificate
verification, because the transport passes the URL's host to `start_tls`, not the
address dialled. Connections are pooled per origin and kept alive as usual; each new
one is checked.

httpx2's own `AsyncHTTPTransport` does not accept a network backend, so
`safe_async_transport` puts `GuardedNetworkBackend` under `Http11Transport`, the
dispatcher's lean HTTP/1.1 pool. It has no proxy support on purpose: through a proxy
the address dialled would be the proxy's. An `AsyncClient` given an explicit transport
ignores proxy variables.

    client = httpx2.AsyncClient(
        transport=safe_async_transport(policy), timeout=15.0, follow_redirects=False
    )
"""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
from collections.abc import Iterable, Sequence

import httpcore2
import httpx2 as httpx

from tenantstatus.delivery.asyncio_backend import AsyncioBackend
from tenantstatus.delivery.http11_transport import Http11Transport
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
    "UnsafeAddress",
    "safe_async_transport",
]

DEFAULT_LIMITS = httpx.Limits(
    max_connections=100, max_keepalive_connections=20, keepalive_expiry=4.0
)
_BOUND = 100


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
        self._dialer = dialer or AsyncioBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore2's interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        """Connect to the first reachable address of `host`, after checking all of them."""
        clock = asyncio.get_running_loop().time
        deadline = None if timeout is None else clock() + timeout
        addresses = await self._addresses(host, port, timeout)
        for address in addresses:
            self._check(host, port, address)
        failure: Exception | None = None
        for address in addresses:
            remaining = None if deadline is None else max(0.0, deadline - clock())
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
        await asyncio.sleep(seconds)

    async def _addresses(self, host: str, port: int, within: float | None) -> Sequence[IPAddress]:
        try:
            literal = host_address(host)
        except ValueError as exc:
            raise httpcore2.ConnectError(str(exc)) from None
        if literal is not None:
            return [literal]
        try:
            async with asyncio.timeout(within):
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


def safe_async_transport(
    policy: UrlPolicy,
    *,
    resolver: Resolver | None = None,
    limits: httpx.Limits = DEFAULT_LIMITS,
    verify: ssl.SSLContext | bool = True,
) -> Http11Transport:
    """A pooled, keep-alive transport that connects only where `policy` allows.

    `resolver` defaults to the system's; `verify` is httpx2's (True, or an
    `ssl.SSLContext` trusting a test CA). Use with `follow_redirects=False`.
    """
    return Http11Transport(
        policy,
        GuardedNetworkBackend(policy, resolver),
        ssl_context=httpx.create_ssl_context(verify=verify),
        # httpx2 reads None as "no limit"; here everything is bounded.
        max_connections=limits.max_connections or _BOUND,
        max_keepalive=limits.max_keepalive_connections or _BOUND,
        keepalive_expiry=limits.keepalive_expiry or 0.0,
    )
