"""Tenant-aware httpx2 transports: send to the tenant's current Endpoint, and only while it runs.

A client built by `gate.client(ctx)` has the base URL `http://tenant.invalid` (a name
that never resolves), so a relative request such as `api/v1/Contact/1` reaches the
transport as `http://tenant.invalid/api/v1/Contact/1`; the transport rewrites it onto
the tenant's current Endpoint. An absolute URL under the current Endpoint is followed
the same way; any other URL is sent as it is. Every request first asks the gate, which
raises `TenantNotRunning` while the tenant is not running. On `421 Misdirected Request`
the transport re-pulls the state and retries once on the new Endpoint; a second 421
raises `TenantMisdirected`.
"""

from __future__ import annotations

from typing import Protocol

import httpx2 as httpx

from tenantstatus.client.cache import PulledStatus
from tenantstatus.client.errors import TenantMisdirected

__all__ = [
    "TENANT_BASE_URL",
    "AsyncGatekeeper",
    "AsyncTenantTransport",
    "Gatekeeper",
    "TenantTransport",
    "tenant_path",
]

TENANT_BASE_URL = "http://tenant.invalid"
_TENANT_HOST = "tenant.invalid"
_MISDIRECTED = 421


def tenant_path(url: httpx.URL, endpoint: str) -> str | None:
    """The part of `url` below the tenant's Endpoint, or None when it is not the tenant's."""
    if url.host == _TENANT_HOST:
        return url.raw_path.decode("ascii")
    base = endpoint.rstrip("/")
    text = str(url)
    if base and (text == base or text.startswith((base + "/", base + "?"))):
        return text[len(base) :] or "/"
    return None


class Gatekeeper(Protocol):
    """What a transport asks of its gate (sync): `TenantGate` is one."""

    def check(self, context_identifier: str) -> PulledStatus:
        """The tenant's state if it may be called; raises `TenantNotRunning` otherwise."""
        ...

    def refresh(self, context_identifier: str) -> PulledStatus:
        """Like `check`, but asks the service first."""
        ...


class AsyncGatekeeper(Protocol):
    """What a transport asks of its gate (async): `AsyncTenantGate` is one."""

    async def check(self, context_identifier: str) -> PulledStatus:
        """The tenant's state if it may be called; raises `TenantNotRunning` otherwise."""
        ...

    async def refresh(self, context_identifier: str) -> PulledStatus:
        """Like `check`, but asks the service first."""
        ...


def _misdirected_retry(
    request: httpx.Request, path: str, before: PulledStatus, moved: PulledStatus
) -> httpx.Request:
    """After a 421: the request again on the Endpoint the service now gives.

    Raises `TenantMisdirected` when the Endpoint did not change: sending it there again
    would only get another 421.
    """
    retry = _onto(request, moved.endpoint, path)
    if moved.endpoint == before.endpoint:
        raise TenantMisdirected(moved.context_identifier, str(retry.url))
    return retry


def _onto(request: httpx.Request, endpoint: str, path: str) -> httpx.Request:
    headers = httpx.Headers(request.headers)
    headers.pop("host", None)
    return httpx.Request(
        request.method,
        endpoint.rstrip("/") + path,
        headers=headers,
        content=request.content,
        extensions=request.extensions,
    )


def _discard(response: httpx.Response) -> None:
    response.read()
    response.close()


async def _adiscard(response: httpx.Response) -> None:
    await response.aread()
    await response.aclose()


class TenantTransport(httpx.BaseTransport):
    """Sends one tenant's requests through its gate (sync)."""

    def __init__(
        self,
        gate: Gatekeeper,
        context_identifier: str,
        inner: httpx.BaseTransport | None = None,
    ) -> None:
        self.gate = gate
        self.context_identifier = context_identifier
        self.inner = inner or httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Check the gate, send to the current Endpoint, follow one 421."""
        status = self.gate.check(self.context_identifier)
        path = tenant_path(request.url, status.endpoint)
        if path is None:
            return self.inner.handle_request(request)
        request.read()  # the body may be sent twice
        response = self.inner.handle_request(_onto(request, status.endpoint, path))
        if response.status_code != _MISDIRECTED:
            return response
        _discard(response)
        moved = self.gate.refresh(self.context_identifier)
        retry = _misdirected_retry(request, path, status, moved)
        response = self.inner.handle_request(retry)
        if response.status_code == _MISDIRECTED:
            _discard(response)
            raise TenantMisdirected(self.context_identifier, str(retry.url))
        return response

    def close(self) -> None:
        """Close the inner transport."""
        self.inner.close()


class AsyncTenantTransport(httpx.AsyncBaseTransport):
    """Sends one tenant's requests through its gate (async)."""

    def __init__(
        self,
        gate: AsyncGatekeeper,
        context_identifier: str,
        inner: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.gate = gate
        self.context_identifier = context_identifier
        self.inner = inner or httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Check the gate, send to the current Endpoint, follow one 421."""
        status = await self.gate.check(self.context_identifier)
        path = tenant_path(request.url, status.endpoint)
        if path is None:
            return await self.inner.handle_async_request(request)
        await request.aread()  # the body may be sent twice
        response = await self.inner.handle_async_request(_onto(request, status.endpoint, path))
        if response.status_code != _MISDIRECTED:
            return response
        await _adiscard(response)
        moved = await self.gate.refresh(self.context_identifier)
        retry = _misdirected_retry(request, path, status, moved)
        response = await self.inner.handle_async_request(retry)
        if response.status_code == _MISDIRECTED:
            await _adiscard(response)
            raise TenantMisdirected(self.context_identifier, str(retry.url))
        return response

    async def aclose(self) -> None:
        """Close the inner transport."""
        await self.inner.aclose()
