"""The pull clients: thin sync and async shells around `StatusCache`.

with TenantStatusClient(env="online") as client:
    if client.is_running("Cust12345"):
        url = client.endpoint("Cust12345") + "/api/v1/Contact/1"

async with AsyncTenantStatusClient("https://status.example.com") as client:
    status = await client.get_state("Cust12345")
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Self

import anyio
import httpx2 as httpx

from tenantstatus.__about__ import __version__
from tenantstatus.client.cache import (
    PulledStatus,
    StatusCache,
    is_retryable,
    retry_after,
    version_from,
)
from tenantstatus.client.environments import base_url_for
from tenantstatus.client.errors import StatusUnavailable, TenantNotRunning
from tenantstatus.client.policy import CachePolicy, RetryPolicy
from tenantstatus.client.single_flight import SingleFlight
from tenantstatus.clock import Clock, SystemClock
from tenantstatus.model import VersionInfo

__all__ = ["AsyncTenantStatusClient", "TenantStatusClient"]

USER_AGENT = f"tenantstatus-client/{__version__}"
_ACCEPT_JSON = {"Accept": "application/json"}


def _unreachable(url: str, exc: httpx.TransportError, ctx: str | None) -> StatusUnavailable:
    reason = str(exc) or type(exc).__name__
    return StatusUnavailable(f"cannot reach {url}: {reason}", context_identifier=ctx, url=url)


def _server_error(url: str, response: httpx.Response, ctx: str | None) -> StatusUnavailable:
    return StatusUnavailable(
        f"{url} answered {response.status_code}",
        context_identifier=ctx,
        url=url,
        retry_after=retry_after(response.headers),
    )


def _no_api(status: PulledStatus) -> TenantNotRunning:
    return TenantNotRunning(
        status.context_identifier,
        status.state_name,
        retry_at=status.valid_until,
        reason="the state API gives no Api URL for it",
    )


class _BaseClient:
    def __init__(
        self,
        base_url: str | None,
        env: str | None,
        clock: Clock | None,
        cache_policy: CachePolicy | None,
        retry_policy: RetryPolicy | None,
    ) -> None:
        self._cache = StatusCache(
            base_url_for(base_url, env), cache_policy or CachePolicy(), clock or SystemClock()
        )
        self._retry = retry_policy or RetryPolicy()

    @property
    def base_url(self) -> str:
        """The state API's base URL."""
        return self._cache.base_url

    @property
    def clock(self) -> Clock:
        """The clock the cache measures freshness with."""
        return self._cache.clock

    @property
    def cache(self) -> StatusCache:
        """The cache core (for inspection; callers normally need none of it)."""
        return self._cache

    def invalidate(self, context_identifier: str) -> None:
        """Make the next lookup of this tenant ask the service."""
        self._cache.invalidate(context_identifier)

    def forget(self, context_identifier: str) -> None:
        """Drop everything cached about this tenant (after it was deleted)."""
        self._cache.forget(context_identifier)


class TenantStatusClient(_BaseClient):
    """Pull tenant states from the state API, cached until ValidUntil (sync, thread-safe).

    Build it from a base URL or an environment name (`sod`, `qaonline`, `online`).
    `transport` is the httpx2 transport seam; `clock` the time seam.
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        env: str | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 5.0,
        clock: Clock | None = None,
        cache_policy: CachePolicy | None = None,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        super().__init__(base_url, env, clock, cache_policy, retry_policy)
        self._http = httpx.Client(
            transport=transport, timeout=timeout, headers={"User-Agent": USER_AGENT}
        )
        self._lock = threading.Lock()
        self._flights = SingleFlight(threading.Event)

    def get_state(self, context_identifier: str) -> PulledStatus:
        """The tenant's state: from the cache while fresh, else from the service."""
        status = self._cache.fresh(context_identifier)
        if status is not None:
            return status
        return self._shared_pull(context_identifier)

    def is_running(self, context_identifier: str) -> bool:
        """True when the tenant's API is usable now."""
        return self.get_state(context_identifier).is_running

    def endpoint(self, context_identifier: str) -> str:
        """The tenant's current Endpoint: address it through this, never a stored URL."""
        return self.get_state(context_identifier).endpoint

    def refresh(self, context_identifier: str) -> PulledStatus:
        """Ask the service now, whatever the cache holds (revalidating with the ETag)."""
        self._cache.invalidate(context_identifier)
        return self._shared_pull(context_identifier)

    def api_version(self, context_identifier: str) -> VersionInfo:
        """The tenant installation's API version document, from the answer's Api URL."""
        status = self.get_state(context_identifier)
        cached = self._cache.version(status)
        if cached is not None:
            return cached
        if not status.api:
            raise _no_api(status)
        response = self._send(status.api, _ACCEPT_JSON, context_identifier)
        version = version_from(status.api, response.status_code, response.content)
        self._cache.store_version(status, version)
        return version

    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _shared_pull(self, ctx: str) -> PulledStatus:
        while True:
            with self._lock:
                flight, lead = self._flights.join(ctx)
            if lead:
                break
            flight.done.wait()
            status = flight.outcome()
            if status is not None:
                return status
        status, error = None, None
        try:
            status = self._pull(ctx)
            return status
        except Exception as exc:
            error = exc
            raise
        finally:
            with self._lock:
                self._flights.land(ctx, flight, status, error)

    def _pull(self, ctx: str) -> PulledStatus:
        request = self._cache.request(ctx)
        try:
            response = self._send(request.url, request.headers, ctx)
        except StatusUnavailable as exc:
            return self._cache.fail(ctx, exc)
        return self._cache.accept(request, response.status_code, response.headers, response.content)

    def _send(self, url: str, headers: Mapping[str, str], ctx: str | None) -> httpx.Response:
        run = self._retry.start()
        while True:
            try:
                response = self._http.get(url, headers=headers)
            except httpx.TransportError as exc:
                failure = _unreachable(url, exc, ctx)
            else:
                if not is_retryable(response.status_code):
                    return response
                failure = _server_error(url, response, ctx)
            time.sleep(run.next_delay(failure))


class AsyncTenantStatusClient(_BaseClient):
    """Pull tenant states from the state API, cached until ValidUntil (async).

    Concurrent callers for one uncached tenant share one request (single flight).
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        env: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 5.0,
        clock: Clock | None = None,
        cache_policy: CachePolicy | None = None,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        super().__init__(base_url, env, clock, cache_policy, retry_policy)
        self._http = httpx.AsyncClient(
            transport=transport, timeout=timeout, headers={"User-Agent": USER_AGENT}
        )
        self._flights = SingleFlight(anyio.Event)

    async def get_state(self, context_identifier: str) -> PulledStatus:
        """The tenant's state: from the cache while fresh, else from the service."""
        status = self._cache.fresh(context_identifier)
        if status is not None:
            return status
        return await self._shared_pull(context_identifier)

    async def is_running(self, context_identifier: str) -> bool:
        """True when the tenant's API is usable now."""
        return (await self.get_state(context_identifier)).is_running

    async def endpoint(self, context_identifier: str) -> str:
        """The tenant's current Endpoint: address it through this, never a stored URL."""
        return (await self.get_state(context_identifier)).endpoint

    async def refresh(self, context_identifier: str) -> PulledStatus:
        """Ask the service now, whatever the cache holds (revalidating with the ETag)."""
        self._cache.invalidate(context_identifier)
        return await self._shared_pull(context_identifier)

    async def api_version(self, context_identifier: str) -> VersionInfo:
        """The tenant installation's API version document, from the answer's Api URL."""
        status = await self.get_state(context_identifier)
        cached = self._cache.version(status)
        if cached is not None:
            return cached
        if not status.api:
            raise _no_api(status)
        response = await self._send(status.api, _ACCEPT_JSON, context_identifier)
        version = version_from(status.api, response.status_code, response.content)
        self._cache.store_version(status, version)
        return version

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _shared_pull(self, ctx: str) -> PulledStatus:
        while True:
            flight, lead = self._flights.join(ctx)
            if lead:
                break
            await flight.done.wait()
            status = flight.outcome()
            if status is not None:
                return status
            # The leader was cancelled before it had an answer: lead a new flight.
        status, error = None, None
        try:
            status = await self._pull(ctx)
            return status
        except Exception as exc:
            error = exc
            raise
        finally:
            self._flights.land(ctx, flight, status, error)

    async def _pull(self, ctx: str) -> PulledStatus:
        request = self._cache.request(ctx)
        try:
            response = await self._send(request.url, request.headers, ctx)
        except StatusUnavailable as exc:
            return self._cache.fail(ctx, exc)
        return self._cache.accept(request, response.status_code, response.headers, response.content)

    async def _send(self, url: str, headers: Mapping[str, str], ctx: str | None) -> httpx.Response:
        run = self._retry.start()
        while True:
            try:
                response = await self._http.get(url, headers=headers)
            except httpx.TransportError as exc:
                failure = _unreachable(url, exc, ctx)
            else:
                if not is_retryable(response.status_code):
                    return response
                failure = _server_error(url, response, ctx)
            await anyio.sleep(run.next_delay(failure))
