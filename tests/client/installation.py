"""Simulated tenant installations: what a tenant's `Endpoint` points at in these tests.

One loopback host holds every shard: a tenant lives at `{url}/{shard}/{ctx}`. It serves
its API version document at `.../api`, answers `.../api/v1/...` calls, and answers
`421 Misdirected Request` on a shard it has moved away from, as the platform does.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


@dataclass(frozen=True)
class Call:
    """One request an installation received."""

    shard: str
    context_identifier: str
    path: str
    method: str


class Installations:
    """The tenant installations, with a record of every request they received."""

    def __init__(self) -> None:
        self.url = ""  # set once the loopback server listens
        self.home: dict[str, str] = {}
        self.documents: dict[str, dict[str, str]] = {}
        self.calls: list[Call] = []
        self.app = Starlette(
            routes=[
                Route("/{shard}/{ctx}/api", self._version),
                Route("/{shard}/{ctx}/api/v1/{rest:path}", self._call, methods=["GET", "POST"]),
            ]
        )

    def endpoint(self, context_identifier: str, shard: str) -> str:
        """The Endpoint of a tenant living on `shard`."""
        return f"{self.url}/{shard}/{context_identifier}"

    def place(self, context_identifier: str, shard: str, label: str = "Release_1") -> str:
        """Put (or move) the tenant's installation on `shard`; returns its Endpoint."""
        endpoint = self.endpoint(context_identifier, shard)
        self.home[context_identifier] = shard
        self.documents[context_identifier] = {
            "v1": f"{endpoint}/api/v1/",
            "NetServerLabel": label,
            "Version": "v1",
        }
        return endpoint

    def calls_for(self, context_identifier: str) -> list[Call]:
        """The v1 calls this tenant's installation received, in order."""
        return [c for c in self.calls if c.context_identifier == context_identifier]

    async def _version(self, request: Request) -> Response:
        ctx, shard = request.path_params["ctx"], request.path_params["shard"]
        self.calls.append(Call(shard, ctx, "api", request.method))
        if self.home.get(ctx) != shard:
            return _misdirected()
        return JSONResponse(self.documents[ctx])

    async def _call(self, request: Request) -> Response:
        ctx, shard = request.path_params["ctx"], request.path_params["shard"]
        path = request.path_params["rest"]
        self.calls.append(Call(shard, ctx, path, request.method))
        if self.home.get(ctx) != shard:
            return _misdirected()
        body = (await request.body()).decode()
        return JSONResponse({"shard": shard, "path": path, "body": body})


def _misdirected() -> Response:
    return Response("Wrong subdomain used to access tenant", status_code=421)
