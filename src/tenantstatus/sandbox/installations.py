"""Simulated tenant installations: what each sandbox tenant's `Endpoint` points at.

One server holds every simulated host; the host is a path segment, so a tenant at
`{base}/sim/sod2/Cust1` can move to `{base}/sim/sod3/Cust1` without DNS.

    GET  {Endpoint}/api            the API version document; `v1` is {Endpoint}/api/v1/
    ANY  {Endpoint}/api/v1/...     a JSON echo of the call, while the tenant runs
    GET  /sim/_stats               calls per tenant: served, misdirected, in notice and
                                   while not running; and what the tooling did (`Tooling`)

An installation answers `421 Misdirected Request` ("Wrong subdomain used to access
tenant") on a host the tenant has moved away from, and `503` with `Retry-After` while
it is down (see `availability`). The state comes from the service itself, through a
`TenantDirectory`, so whatever changes a tenant (a scenario, the operator CLI) changes
its installation at the same moment.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tenantstatus.clock import Clock
from tenantstatus.lifecycle import Tenant
from tenantstatus.sandbox.availability import Availability, availability
from tenantstatus.sandbox.releases import Release
from tenantstatus.store import HistoryEntry

__all__ = ["MISDIRECTED", "Counters", "InstallationSite", "TenantDirectory"]

PREFIX = "/sim"
#: The body of a 421, as the platform words it.
MISDIRECTED = "Wrong subdomain used to access tenant"
_PROBLEM = "application/problem+json"
_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
_ECHO_BODY_LIMIT = 4096
_DEFAULT_RETRY_AFTER = 60


class TenantDirectory(Protocol):
    """Where the installations learn what the service says about a tenant."""

    async def tenant(self, context_identifier: str) -> Tenant | None:
        """The tenant as the service holds it now, or None when it does not exist."""
        ...

    async def last_change(self, context_identifier: str) -> HistoryEntry | None:
        """The tenant's latest history entry."""
        ...

    async def next_change(self, context_identifier: str) -> datetime | None:
        """When the tenant's next scheduled operation runs, if one is pending."""
        ...


@dataclass(slots=True)
class Counters:
    """Calls one tenant's installation received."""

    served: int = 0
    misdirected: int = 0
    in_notice: int = 0
    while_not_running: int = 0

    def to_json(self) -> dict[str, int]:
        """The counters with their wire names."""
        return {
            "Served": self.served,
            "Misdirected": self.misdirected,
            "InNotice": self.in_notice,
            "WhileNotRunning": self.while_not_running,
        }


class InstallationSite:
    """The ASGI app behind every simulated tenant's Endpoint, under `/sim`."""

    def __init__(
        self,
        directory: TenantDirectory,
        clock: Clock,
        *,
        base_url: str,
        notice: float,
        known: tuple[str, ...] = (),
        scenario_view: Callable[[], dict[str, Any]] | None = None,
        tooling_view: Callable[[], dict[str, Any] | None] | None = None,
    ) -> None:
        self.directory = directory
        self.clock = clock
        self.base_url = base_url.rstrip("/")
        self.notice = notice
        self.counters: dict[str, Counters] = {ctx: Counters() for ctx in known}
        self._scenario_view = scenario_view or (lambda: {})
        self._tooling_view = tooling_view or (lambda: None)
        self.app = Starlette(
            routes=[
                Route(PREFIX, self._index, methods=["GET"]),
                Route(f"{PREFIX}/", self._index, methods=["GET"]),
                Route(f"{PREFIX}/_stats", self._stats, methods=["GET"]),
                Route(f"{PREFIX}/_scenario", self._scenario, methods=["GET"]),
                Route(PREFIX + "/{host}/{ctx}", self._call, methods=_METHODS),
                Route(PREFIX + "/{host}/{ctx}/{rest:path}", self._call, methods=_METHODS),
            ]
        )

    def endpoint(self, host: str, context_identifier: str) -> str:
        """The Endpoint of a tenant whose installation lives on `host`."""
        return f"{self.base_url}{PREFIX}/{host}/{context_identifier}"

    def host_of(self, endpoint: str) -> str | None:
        """The simulated host an Endpoint points at, or None when it is not in the sandbox."""
        path = urlsplit(endpoint).path.rstrip("/").split("/")
        if len(path) >= 4 and "/" + path[-3] == PREFIX:
            return path[-2]
        return None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)

    async def _call(self, request: Request) -> Response:
        host, ctx = request.path_params["host"], request.path_params["ctx"]
        rest = request.path_params.get("rest", "")
        tenant = await self.directory.tenant(ctx)
        if tenant is None:
            return _problem(404, "No such tenant", f"The sandbox has no tenant {ctx}.")
        counters = self.counters.setdefault(ctx, Counters())
        now = self.clock.now()
        served_as = Availability.UP
        if not tenant.state.is_running:
            last = await self.directory.last_change(ctx)
            served_as = availability(tenant, last, now=now, notice=self.notice)
        if served_as is Availability.DOWN:
            counters.while_not_running += 1
        if not urlsplit(tenant.endpoint).path.rstrip("/").endswith(f"{PREFIX}/{host}/{ctx}"):
            counters.misdirected += 1
            return PlainTextResponse(MISDIRECTED, status_code=421)
        if served_as is Availability.DOWN:
            return await self._down(tenant, now)
        if served_as is Availability.NOTICE:
            counters.in_notice += 1
        response = await self._answer(request, tenant, host, rest)
        if response.status_code < 400:
            counters.served += 1
        return response

    async def _answer(self, request: Request, tenant: Tenant, host: str, rest: str) -> Response:
        endpoint = self.endpoint(host, tenant.context_identifier)
        if rest in ("api", "api/"):
            release = Release.of(tenant.version_name, tenant.file_version)
            document = {**release.document(endpoint), **tenant.version_document}
            document["v1"] = endpoint + "/api/v1/"
            return JSONResponse(document)
        if rest == "api/v1" or rest.startswith("api/v1/"):
            body = await request.body()
            return JSONResponse(
                {
                    "ContextIdentifier": tenant.context_identifier,
                    "Host": host,
                    "Method": request.method,
                    "Path": rest.removeprefix("api/v1").lstrip("/"),
                    "Query": request.url.query,
                    "Version": tenant.version_name,
                    "Body": body[:_ECHO_BODY_LIMIT].decode("utf-8", "replace"),
                }
            )
        return _problem(
            404, "Not found", f"The installation answers {endpoint}/api and {endpoint}/api/v1/..."
        )

    async def _down(self, tenant: Tenant, now: datetime) -> Response:
        upcoming = await self.directory.next_change(tenant.context_identifier)
        retry_after = _DEFAULT_RETRY_AFTER
        if upcoming is not None and upcoming > now:
            retry_after = max(1, math.ceil((upcoming - now).total_seconds()))
        return _problem(
            503,
            "Tenant not running",
            f"{tenant.context_identifier} is {tenant.state.name}; ask the state API when "
            "it runs again.",
            headers={"Retry-After": str(retry_after)},
            State=tenant.state.name,
        )

    async def _index(self, request: Request) -> Response:
        tenants = []
        for ctx in sorted(self.counters):
            tenant = await self.directory.tenant(ctx)
            if tenant is not None:
                entry = {"ContextIdentifier": ctx, "Endpoint": tenant.endpoint}
                tenants.append({**entry, "State": tenant.state.name})
        return JSONResponse(
            {
                "Tenants": tenants,
                "Stats": f"{self.base_url}{PREFIX}/_stats",
                "Scenario": f"{self.base_url}{PREFIX}/_scenario",
            }
        )

    async def _stats(self, request: Request) -> Response:
        tenants: dict[str, Any] = {}
        for ctx, counters in sorted(self.counters.items()):
            tenant = await self.directory.tenant(ctx)
            entry: dict[str, Any] = counters.to_json()
            if tenant is not None:
                entry["State"] = tenant.state.name
                entry["Host"] = self.host_of(tenant.endpoint)
            tenants[ctx] = entry
        total = sum(c.while_not_running for c in self.counters.values())
        document: dict[str, Any] = {"Tenants": tenants, "WhileNotRunning": total}
        tooling = self._tooling_view()
        if tooling is not None:
            document["Tooling"] = tooling
        return JSONResponse(document)

    async def _scenario(self, request: Request) -> Response:
        return JSONResponse(self._scenario_view())


def _problem(
    status: int,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    document = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(document, status_code=status, headers=headers, media_type=_PROBLEM)
