"""Statuspage's v2 public API for each tenant, under `/status/{ContextIdentifier}/api/v2/`.

A Statuspage client pointed at `{service}/status/{ContextIdentifier}` works unchanged
(the npm `statuspage.io` client's `setApiUrl`, for one). Every document is cut from one
`StatuspageParts`, read in one store call per request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from tenantstatus.service.parameters import PageContextPath
from tenantstatus.service.problems import problem
from tenantstatus.service.status.statuspage_schema import document_schema
from tenantstatus.service.status.summary import StatuspageParts
from tenantstatus.service.status.timing import HandlerTimer

__all__ = ["V2_DOCUMENTS", "V2Document", "add_statuspage_api"]

_COMMON = {"x-content-type-options": "nosniff", "referrer-policy": "same-origin"}
MOST_RECENT = 50  # Statuspage lists the 50 most recent incidents and maintenances


def _summary(parts: StatuspageParts) -> dict[str, Any]:
    return {
        "page": parts.page,
        "status": parts.status,
        "components": parts.components,
        "incidents": parts.unresolved_incidents,
        "scheduled_maintenances": parts.maintenances_in("scheduled", "in_progress", "verifying"),
    }


@dataclass(frozen=True, slots=True)
class V2Document:
    """One v2 document: what the OpenAPI document says of it, and how it is cut."""

    summary: str
    description: str
    build: Callable[[StatuspageParts], dict[str, Any]]
    keys: tuple[str, ...]


V2_DOCUMENTS: Mapping[str, V2Document] = MappingProxyType(
    {
        "summary.json": V2Document(
            "A tenant's Statuspage summary",
            "`page`, `status`, `components`, unresolved `incidents` and the "
            "`scheduled_maintenances` planned or under way.",
            _summary,
            ("page", "status", "components", "incidents", "scheduled_maintenances"),
        ),
        "status.json": V2Document(
            "A tenant's Statuspage status",
            "`page` and `status`: `indicator` (none, minor, major, critical, maintenance) "
            "and `description`.",
            lambda p: {"page": p.page, "status": p.status},
            ("page", "status"),
        ),
        "components.json": V2Document(
            "A tenant's Statuspage components",
            "`page` and `components`: one, the tenant, with its `status` (operational, "
            "degraded_performance, partial_outage, major_outage, under_maintenance).",
            lambda p: {"page": p.page, "components": p.components},
            ("page", "components"),
        ),
        "incidents.json": V2Document(
            "A tenant's Statuspage incidents",
            "The 50 most recent incidents, resolved ones too, each with its "
            "`incident_updates` newest first.",
            lambda p: {"page": p.page, "incidents": p.incidents[:MOST_RECENT]},
            ("page", "incidents"),
        ),
        "incidents/unresolved.json": V2Document(
            "A tenant's unresolved Statuspage incidents",
            "Incidents investigating, identified or monitoring.",
            lambda p: {"page": p.page, "incidents": p.unresolved_incidents},
            ("page", "incidents"),
        ),
        "scheduled-maintenances.json": V2Document(
            "A tenant's Statuspage scheduled maintenances",
            "The 50 most recent maintenances: scheduled, in progress and completed.",
            lambda p: {"page": p.page, "scheduled_maintenances": p.maintenances[:MOST_RECENT]},
            ("page", "scheduled_maintenances"),
        ),
        "scheduled-maintenances/upcoming.json": V2Document(
            "A tenant's upcoming Statuspage maintenances",
            "Maintenances still scheduled.",
            lambda p: {"page": p.page, "scheduled_maintenances": p.maintenances_in("scheduled")},
            ("page", "scheduled_maintenances"),
        ),
        "scheduled-maintenances/active.json": V2Document(
            "A tenant's active Statuspage maintenances",
            "Maintenances in progress or verifying.",
            lambda p: {
                "page": p.page,
                "scheduled_maintenances": p.maintenances_in("in_progress", "verifying"),
            },
            ("page", "scheduled_maintenances"),
        ),
    }
)

_SHAPE = (
    " In the shape of Statuspage's v2 public API: a Statuspage client pointed at "
    "`/status/{ContextIdentifier}` reads it unchanged."
)

PartsReader = Callable[[Request, str], Awaitable[StatuspageParts | None]]


def add_statuspage_api(router: APIRouter, read: PartsReader) -> None:
    """Add every v2 route, and `/status/{ContextIdentifier}/summary.json` as an alias of
    the v2 summary; `read` gives a tenant's parts, or None if it is unknown."""

    def route(document: V2Document) -> Callable[..., Awaitable[Response]]:
        async def answer(request: Request, context_identifier: PageContextPath) -> Response:
            timer = HandlerTimer()
            parts = await read(request, context_identifier)
            if parts is None:
                return problem(404, "Not found", f"no tenant {context_identifier[:80]!r}")
            return JSONResponse(
                document.build(parts),
                headers={
                    **_COMMON,
                    "cache-control": "no-cache",
                    "access-control-allow-origin": "*",
                    "server-timing": timer.header(),
                },
            )

        answer.__doc__ = document.description
        return answer

    paths = [(f"api/v2/{name}", doc) for name, doc in V2_DOCUMENTS.items()]
    paths.append(("summary.json", V2_DOCUMENTS["summary.json"]))
    for path, document in paths:
        alias = path == "summary.json"
        router.add_api_route(
            f"/status/{{ContextIdentifier}}/{path}",
            route(document),
            methods=["GET"],
            summary=document.summary + (" (alias of api/v2/summary.json)" if alias else ""),
            description=document.description + _SHAPE,
            responses={
                200: {
                    "description": "The document",
                    "content": {"application/json": {"schema": document_schema(*document.keys)}},
                },
                404: {"description": "No such tenant"},
            },
            response_class=JSONResponse,
            operation_id=("status_" + path.replace("/", "_").replace(".", "_").replace("-", "_")),
        )
