"""The calendar routes: `/status/{ContextIdentifier}/calendar.ics` and, for the operator,
`/status/calendar.ics`."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from tenantstatus.model import is_valid_context_identifier
from tenantstatus.service.parameters import PageContextPath
from tenantstatus.service.problems import problem
from tenantstatus.service.services import services_of
from tenantstatus.service.status.access import BASIC_CHALLENGE, is_operator
from tenantstatus.service.status.calendar import (
    CALENDAR_EVENTS,
    FINISHED_KEPT,
    calendar_events,
    calendar_ics,
)
from tenantstatus.service.status.planning import WINDOW_TITLES
from tenantstatus.service.status.timing import HandlerTimer

__all__ = ["add_calendars"]

_ICS = "text/calendar; charset=utf-8"
_COMMON = {"x-content-type-options": "nosniff", "referrer-policy": "same-origin"}
_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"description": "The calendar (RFC 5545)", "content": {"text/calendar": {}}},
}


async def _calendar(request: Request, context_identifier: str | None) -> bytes | None:
    services = services_of(request)
    now = services.clock.now()
    data = await services.store.calendar_data(
        context_identifier,
        finished_since=now - FINISHED_KEPT,
        limit=CALENDAR_EVENTS,
        window_operations=list(WINDOW_TITLES),
    )
    if context_identifier is not None and context_identifier not in data.tenants:
        return None
    base = services.issuer.rstrip("/")
    if context_identifier is None:
        name, url = "Maintenance of every tenant", f"{base}/status"
    else:
        name, url = f"{context_identifier}: maintenance", f"{base}/status/{context_identifier}"
    return calendar_ics(calendar_events(data, base_url=base, now=now), name=name, url=url)


def _answer(body: bytes, timer: HandlerTimer, *, private: bool) -> Response:
    return Response(
        body,
        media_type=_ICS,
        headers={
            **_COMMON,
            "cache-control": "private, max-age=60" if private else "public, max-age=60",
            "server-timing": timer.header(),
        },
    )


def add_calendars(router: APIRouter, *, public_overview: bool) -> None:
    """Add both calendars; call before `/status/{ContextIdentifier}` is added, which would
    otherwise take `/status/calendar.ics` for a tenant's page."""

    @router.get(
        "/status/calendar.ics",
        response_class=Response,
        summary="Maintenance calendar of every tenant",
        responses={
            **_RESPONSES,
            401: {"description": "Needs the operator token (unless the overview is public)"},
        },
    )
    async def all_tenants_calendar(request: Request) -> Response:
        """Every tenant's planned windows and upgrades, those under way, and those that
        ran or were cancelled in the last 30 days, as one iCalendar file."""
        timer = HandlerTimer()
        if not (public_overview or is_operator(request)):
            return problem(
                401,
                "Operator token needed",
                "The calendar of every tenant is for the operator; each tenant has its own.",
                headers={"www-authenticate": BASIC_CHALLENGE},
            )
        body = await _calendar(request, None)
        return _answer(body or b"", timer, private=not public_overview)

    @router.get(
        "/status/{ContextIdentifier}/calendar.ics",
        response_class=Response,
        summary="Maintenance calendar of a tenant",
        responses={**_RESPONSES, 404: {"description": "No such tenant"}},
    )
    async def tenant_calendar(request: Request, context_identifier: PageContextPath) -> Response:
        """The tenant's planned windows and upgrades as iCalendar: a stable UID per
        window, SEQUENCE raised on every change, STATUS:CANCELLED once cancelled."""
        timer = HandlerTimer()
        body = None
        if is_valid_context_identifier(context_identifier):
            body = await _calendar(request, context_identifier)
        if body is None:
            return problem(404, "Not found", f"no tenant {context_identifier[:80]!r}")
        return _answer(body, timer, private=False)
