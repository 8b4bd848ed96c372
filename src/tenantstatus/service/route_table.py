"""The app's routes as one flat table: path, methods and dependencies of each.

FastAPI keeps an included router as one entry of `app.routes`; `fastapi.routing.
iter_route_contexts` opens them. The 405 answer (`Allow`) and the OpenAPI document
(which routes are operator-only) both read routes through here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from re import Pattern
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts

__all__ = ["RouteEntry", "allowed_methods", "route_entries"]

_METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


@dataclass(frozen=True, slots=True)
class RouteEntry:
    """One route: its path template and regex, its methods and what it depends on."""

    path_format: str
    path_regex: Pattern[str]
    methods: frozenset[str]
    dependant: Dependant | None

    def depends_on(self, call: Callable[..., Any]) -> bool:
        """Whether `call` is among the route's dependencies, at any depth."""
        pending = [] if self.dependant is None else list(self.dependant.dependencies)
        while pending:
            dependency = pending.pop()
            if dependency.call is call:
                return True
            pending.extend(dependency.dependencies)
        return False


def route_entries(app: FastAPI) -> Iterator[RouteEntry]:
    """Every route that has a path and methods, included routers opened."""
    for route in iter_route_contexts(app.routes):
        path_format = route.path_format
        regex = getattr(route, "path_regex", None)
        if path_format is None or regex is None or not route.methods:
            continue
        dependant = getattr(route, "dependant", None)
        yield RouteEntry(path_format, regex, frozenset(route.methods), dependant)


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """The methods of the resource at `path`, in the usual order.

    A path that some route spells out exactly (`/admin/tenants/import`) is that
    resource, even where a template (`/admin/tenants/{ContextIdentifier}`) matches too.
    """
    matching = [entry for entry in route_entries(app) if entry.path_regex.match(path)]
    exact = [entry for entry in matching if entry.path_format == path]
    methods: set[str] = set()
    for entry in exact or matching:
        methods |= entry.methods
    known = [m for m in _METHOD_ORDER if m in methods]
    return known + sorted(methods - set(known))
