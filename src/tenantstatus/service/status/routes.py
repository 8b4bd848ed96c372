"""The status page's routes: per-tenant page, overview, summary.json, feeds, badge.

Every route reads; nothing here changes a tenant. Each answer carries a
`Server-Timing: app;dur=…, cpu;dur=…` header: the time spent inside the handler, and
the CPU time the process spent meanwhile.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from tenantstatus.model import TenantState, is_valid_context_identifier
from tenantstatus.service.parameters import CONTEXT_IDENTIFIER_SCHEMA_PATTERN, PageContextPath
from tenantstatus.service.problems import problem
from tenantstatus.service.services import services_of
from tenantstatus.service.status.access import BASIC_CHALLENGE, is_operator
from tenantstatus.service.status.badge import badge_for
from tenantstatus.service.status.calendar_routes import add_calendars
from tenantstatus.service.status.counts import StateCounts
from tenantstatus.service.status.feeds import Feed, build_feed
from tenantstatus.service.status.notices import notice_view, notice_views
from tenantstatus.service.status.planning import plan_windows, runnable
from tenantstatus.service.status.rendering import (
    ASSETS,
    CONTENT_SECURITY_POLICY,
    render,
    render_days,
)
from tenantstatus.service.status.rollout_rows import rollout_rows
from tenantstatus.service.status.rollups import Rollup, RollupCache
from tenantstatus.service.status.statuspage_api import add_statuspage_api
from tenantstatus.service.status.summary import StatuspageParts, statuspage_parts
from tenantstatus.service.status.timing import HandlerTimer as _Timer
from tenantstatus.service.status.uptime import (
    Transition,
    compute_uptime,
    day_boundaries,
    extend_to_now,
)
from tenantstatus.service.status.views import (
    Moment,
    change_rows,
    day_cells,
    planned_rows,
    state_counts,
    tenant_page_view,
    tenant_rows,
)
from tenantstatus.service.status.zones import ReaderZone
from tenantstatus.service.tenants.service import TenantService
from tenantstatus.store import ScheduleStatus, ServiceStore
from tenantstatus.store.status_sql import TenantPageData

__all__ = ["BAR_DAYS", "PAGE_SIZE", "status_router"]

BAR_DAYS = 90
PAGE_SIZE = 50
HISTORY_ROWS = 20
FEED_ENTRIES = 50
OVERVIEW_ITEMS = 10

_PREFIX = re.compile(r"[A-Za-z0-9_-]{1,64}")
_HTML = "text/html; charset=utf-8"
_ATOM = "application/atom+xml; charset=utf-8"
_SVG = "image/svg+xml; charset=utf-8"
_COMMON = {"x-content-type-options": "nosniff", "referrer-policy": "same-origin"}

SearchQuery = Annotated[
    str | None,
    Query(
        max_length=64,
        description="Only tenants whose ContextIdentifier starts with this.",
        json_schema_extra={"pattern": "^ *[A-Za-z0-9_-]{0,64} *$", "examples": ["Cust1"]},
    ),
]
StateQuery = Annotated[
    str | None,
    Query(
        max_length=32,
        description="Only tenants in this state; empty for all.",
        json_schema_extra={"enum": ["", *(s.name for s in TenantState)]},
    ),
]
CursorQuery = Annotated[
    str | None,
    Query(
        max_length=64,
        description="A page link's cursor: a ContextIdentifier.",
        json_schema_extra={"pattern": CONTEXT_IDENTIFIER_SCHEMA_PATTERN},
    ),
]
ZoneQuery = Annotated[
    str | None,
    Query(max_length=64, description="An IANA time zone for the page, e.g. Europe/Oslo."),
]


def _store(request: Request) -> ServiceStore:
    return services_of(request).store


def _tenants(request: Request) -> TenantService:
    return services_of(request).tenants


def _now(request: Request) -> datetime:
    return services_of(request).clock.now()


def _base_url(request: Request) -> str:
    return services_of(request).issuer.rstrip("/")


def _html(
    body: bytes,
    timer: _Timer,
    *,
    status: int = 200,
    private: bool = False,
    headers: dict[str, str] | None = None,
) -> Response:
    return Response(
        body,
        status_code=status,
        media_type=_HTML,
        headers={
            **_COMMON,
            "content-security-policy": CONTENT_SECURITY_POLICY,
            "cache-control": "private, no-cache" if private else "no-cache",
            "server-timing": timer.header(),
            **(headers or {}),
        },
    )


def _error_page(
    timer: _Timer,
    status: int,
    title: str,
    detail: str,
    zone: ReaderZone,
    headers: dict[str, str] | None = None,
) -> Response:
    body = render("error.html", title=title, detail=detail, status=status, zone=zone, feeds=[])
    return _html(body, timer, status=status, headers=headers)


def _unknown_tenant(timer: _Timer, context_identifier: str, zone: ReaderZone) -> Response:
    if not is_valid_context_identifier(context_identifier):
        return _error_page(
            timer,
            404,
            "Not a tenant",
            "This address has a typo: a ContextIdentifier (such as Cust12345) starts with a "
            "letter and has at most 64 letters, digits, _ and -.",
            zone,
        )
    return _error_page(
        timer,
        404,
        f"{context_identifier} is not known here",
        f"This service knows no tenant called {context_identifier}. Check the address for "
        "a typo: identifiers are case-sensitive (Cust12345 is not cust12345) and the link "
        "may have been cut short. If the tenant was created a moment ago, reload shortly.",
        zone,
    )


async def _page_data(
    request: Request, context_identifier: str, now: datetime, recent: int
) -> TenantPageData | None:
    """The tenant with its plan and `recent` newest changes, or None if unknown."""
    if not is_valid_context_identifier(context_identifier):
        return None
    return await _store(request).tenant_page_data(
        context_identifier, checkpoint=now, known_id=None, recent=recent
    )


async def _statuspage_parts(request: Request, context_identifier: str) -> StatuspageParts | None:
    """The tenant's Statuspage documents, from one store call; None if unknown."""
    now = _now(request)
    data = await _page_data(request, context_identifier, now, HISTORY_ROWS)
    if data is None:
        return None
    tenant = data.tenant
    scheduled = runnable(data.scheduled, tenant)
    return statuspage_parts(
        tenant,
        page_url=f"{_base_url(request)}/status/{context_identifier}",
        windows=plan_windows(scheduled, tenant, now=now),
        changes=data.changes,
        now=now,
        scheduled=scheduled,
        notices=data.notices,
    )


def status_router(*, public_overview: bool = False) -> APIRouter:
    """The status routes; the overview and the feed of every tenant need the operator
    token unless `public_overview`."""
    router = APIRouter(tags=["status"])
    counts_memo: dict[int, StateCounts] = {}
    rollups = RollupCache()

    def counts_for(tenants: TenantService) -> StateCounts:
        memo = counts_memo.get(id(tenants))
        if memo is None:
            memo = counts_memo[id(tenants)] = StateCounts(tenants.cache.counts_by_state)
        return memo

    def overview_refused(request: Request, timer: _Timer, zone: ReaderZone) -> Response | None:
        if public_overview or is_operator(request):
            return None
        return _error_page(
            timer,
            401,
            "Operator login needed",
            "The overview of every tenant is for the operator: log in with any user name "
            "and the operator token as the password. Each tenant's own page is public.",
            zone,
            {"www-authenticate": BASIC_CHALLENGE},
        )

    @router.get("/status/assets/{name}", include_in_schema=False)
    async def asset(name: str) -> Response:
        found = ASSETS.get(name)
        if found is None:
            return problem(404, "Not found", f"no asset {name[:80]!r}")
        return Response(
            found.body,
            media_type=found.media_type,
            headers={**_COMMON, "cache-control": "public, max-age=31536000, immutable"},
        )

    @router.get(
        "/status",
        response_class=Response,
        summary="Status page of every tenant",
        responses={
            200: {"description": "The overview page", "content": {"text/html": {}}},
            400: {
                "description": "The page, saying which filter it could not use",
                "content": {"text/html": {}},
            },
            401: {
                "description": "Needs the operator token (unless the overview is public)",
                "content": {"text/html": {}},
            },
        },
    )
    async def overview(
        request: Request,
        q: SearchQuery = None,
        state: StateQuery = None,
        after: CursorQuery = None,
        before: CursorQuery = None,
        tz: ZoneQuery = None,
    ) -> Response:
        """An HTML page for people: counts per state, and a searchable, filterable list
        of every tenant, 50 a page."""
        timer = _Timer()
        zone = ReaderZone.choose(tz, request.cookies.get("tz"))
        refused = overview_refused(request, timer, zone)
        if refused is not None:
            return refused
        problems: list[str] = []
        prefix = (q or "").strip(" ") or None
        if prefix is not None and _PREFIX.fullmatch(prefix) is None:
            problems.append("Search by the start of a ContextIdentifier: letters, digits, _ and -.")
            prefix = None
        wanted = TenantState.from_name(state) if state else None
        if state and wanted is None:
            problems.append(f"There is no state called {state[:32]!r}.")
        for cursor in (after, before):
            if cursor is not None and not is_valid_context_identifier(cursor):
                problems.append("That page link is broken; here is the first page.")
                after = before = None
        tenants = _tenants(request)
        page = await _store(request).tenant_page(
            state=wanted, prefix=prefix, after=after, before=before, limit=PAGE_SIZE
        )
        counts = counts_for(tenants)
        total = counts.get()
        now = tenants.clock.now()
        store = _store(request)
        listed = await store.list_notices(open_only=True, limit=OVERVIEW_ITEMS)
        upgrading = {n.context_identifier for n in listed if n.operation == "upgrade"}
        # The tenant names its upgrade's version, for the heading "Upgrade to <version>".
        owners = await store.get_tenants([ctx for ctx in upgrading if ctx is not None])
        open_notices = [
            notice_view(n, zone, tenant=owners.get(n.context_identifier or ""), for_operator=True)
            for n in listed
        ]
        maintenance = [
            listing
            for state in (TenantState.OfflineMaintenance, TenantState.OnlineMaintenance)
            for listing in (await store.tenant_page(state=state, limit=OVERVIEW_ITEMS)).tenants
        ]
        coming = await store.list_scheduled(status=ScheduleStatus.PENDING, limit=OVERVIEW_ITEMS)
        rollouts = await store.list_rollouts(unfinished=True, limit=OVERVIEW_ITEMS)
        body = render(
            "overview.html",
            previous_url=_page_url(prefix, wanted, before=page.tenants[0].context_identifier)
            if page.has_previous and page.tenants
            else None,
            next_url=_page_url(prefix, wanted, after=page.tenants[-1].context_identifier)
            if page.has_next and page.tenants
            else None,
            zone=zone,
            now=Moment(now, zone),
            counts=state_counts(total),
            total=sum(total.values()),
            counts_age=round(counts.age()),
            rows=tenant_rows(page.tenants, zone),
            page=page,
            q=prefix or "",
            state=wanted,
            problems=problems,
            under_way=[n for n in open_notices if not n.planned],
            in_maintenance=tenant_rows(maintenance, zone),
            planned_next=planned_rows(coming, zone, open_notices),
            rollouts=rollout_rows(rollouts, zone),
            feeds=[("Changes of every tenant", "/status/feed.atom")],
            calendars=[("Maintenance of every tenant", "/status/calendar.ics")],
        )
        return _html(body, timer, status=400 if problems else 200, private=not public_overview)

    @router.get(
        "/status/feed.atom",
        response_class=Response,
        summary="Atom feed of every tenant",
        responses={
            200: {"description": "The feed", "content": {"application/atom+xml": {}}},
            401: {"description": "Needs the operator token (unless the overview is public)"},
        },
    )
    async def all_tenants_feed(request: Request) -> Response:
        """Atom feed of the state changes and planned operations of every tenant."""
        timer = _Timer()
        if not (public_overview or is_operator(request)):
            return problem(
                401,
                "Operator token needed",
                "The feed of every tenant is for the operator; each tenant has its own feed.",
                headers={"www-authenticate": BASIC_CHALLENGE},
            )
        store = _store(request)
        zone = ReaderZone.utc()
        changes = await store.recent_changes(limit=FEED_ENTRIES)
        planned = await store.list_scheduled(status=ScheduleStatus.PENDING, limit=FEED_ENTRIES)
        notices = await store.list_notices(open_only=False, limit=FEED_ENTRIES)
        rollout_events = await store.rollout_events(limit=FEED_ENTRIES)
        base = _base_url(request)
        feed = build_feed(
            title="All tenants: state changes",
            subtitle="State changes and planned operations of every tenant",
            self_url=f"{base}/status/feed.atom",
            alternate_url=f"{base}/status",
            base_url=base,
            changes=change_rows(changes, zone),
            planned=planned_rows(planned, zone, notice_views(notices, zone)),
            now=_now(request),
            notices=notices,
            rollout_events=rollout_events,
        )
        return _feed_response(feed, timer, private=not public_overview)

    add_calendars(router, public_overview=public_overview)

    @router.get(
        "/status/{ContextIdentifier}",
        response_class=Response,
        summary="Status page of a tenant",
        responses={
            200: {"description": "The tenant's page", "content": {"text/html": {}}},
            404: {"description": "No such tenant (an HTML page)", "content": {"text/html": {}}},
        },
    )
    async def tenant_page(
        request: Request, context_identifier: PageContextPath, tz: ZoneQuery = None
    ) -> Response:
        """One tenant's status page: state in words, since when, version, next window,
        the 90-day bar and the recent history."""
        timer = _Timer()
        zone = ReaderZone.choose(tz, request.cookies.get("tz"))
        if not is_valid_context_identifier(context_identifier):
            return _unknown_tenant(timer, context_identifier, zone)
        store = _store(request)
        now = _now(request)
        bounds = day_boundaries(now.astimezone(zone.tz).date(), BAR_DAYS, zone.tz)
        since, checkpoint = bounds[0], bounds[-2]
        rollup = rollups.get(context_identifier, zone.name, checkpoint)
        data = await store.tenant_page_data(
            context_identifier,
            checkpoint=checkpoint,
            known_id=None if rollup is None else rollup.newest_id,
            recent=HISTORY_ROWS,
        )
        if data is None:
            return _unknown_tenant(timer, context_identifier, zone)
        if rollup is None or data.late_rows:
            window = await store.state_window(context_identifier, since, checkpoint)
            flags = window.announced or [False] * len(window.transitions)
            transitions = [
                Transition(at, state, flag)
                for (at, state), flag in zip(window.transitions, flags, strict=True)
            ]
            settled = compute_uptime(transitions, now=checkpoint, zone=zone.tz, days=BAR_DAYS)
            cells = tuple(day_cells(settled, zone)[:-1])
            rollup = Rollup(
                checkpoint=checkpoint,
                newest_id=window.newest_id,
                settled=settled,
                state_at_checkpoint=transitions[-1].state if transitions else None,
                cells=cells,
                fragments=render_days(cells),
                announced_at_checkpoint=transitions[-1].announced if transitions else False,
            )
            rollups.put(context_identifier, zone.name, rollup)
        today_flags = data.today_announced or [False] * len(data.today)
        uptime = extend_to_now(
            rollup.settled,
            rollup.state_at_checkpoint,
            [
                Transition(at, state, flag)
                for (at, state), flag in zip(data.today, today_flags, strict=True)
            ],
            now=now,
            zone=zone.tz,
            announced_at_checkpoint=rollup.announced_at_checkpoint,
        )
        tenant, changes = data.tenant, data.changes
        scheduled = runnable(data.scheduled, tenant)
        view = tenant_page_view(
            tenant,
            uptime=uptime,
            windows=plan_windows(scheduled, tenant, now=now),
            scheduled=scheduled,
            changes=changes,
            now=now,
            zone=zone,
            settled_cells=rollup.cells,
            notices=data.notices,
        )
        ctx = context_identifier
        body = render(
            "tenant.html",
            view=view,
            settled=rollup.fragments,
            zone=zone,
            overview_public=public_overview,
            feeds=[(f"{ctx}: state changes", f"/status/{ctx}/feed.atom")],
            calendars=[(f"{ctx}: maintenance", f"/status/{ctx}/calendar.ics")],
        )
        return _html(body, timer)

    add_statuspage_api(router, _statuspage_parts)

    @router.get(
        "/status/{ContextIdentifier}/feed.atom",
        response_class=Response,
        summary="Atom feed of a tenant",
        responses={
            200: {"description": "The feed", "content": {"application/atom+xml": {}}},
            404: {"description": "No such tenant"},
        },
    )
    async def tenant_feed(request: Request, context_identifier: PageContextPath) -> Response:
        """Atom feed of one tenant's state changes and planned operations."""
        timer = _Timer()
        now = _now(request)
        data = await _page_data(request, context_identifier, now, FEED_ENTRIES)
        if data is None:
            return problem(404, "Not found", f"no tenant {context_identifier[:80]!r}")
        zone = ReaderZone.utc()
        changes, planned = data.changes, runnable(data.scheduled, data.tenant)
        base = _base_url(request)
        feed = build_feed(
            title=f"{context_identifier}: state changes",
            subtitle=f"State changes and planned operations of {context_identifier}",
            self_url=f"{base}/status/{context_identifier}/feed.atom",
            alternate_url=f"{base}/status/{context_identifier}",
            base_url=base,
            changes=change_rows(changes, zone),
            planned=planned_rows(planned, zone, notice_views(data.notices, zone)),
            now=now,
            notices=data.notices,
            notice_page=f"{base}/status/{context_identifier}",
        )
        return _feed_response(feed, timer)

    @router.get(
        "/status/{ContextIdentifier}/badge.svg",
        response_class=Response,
        summary="SVG badge of a tenant's state",
        responses={
            200: {"description": "The badge", "content": {"image/svg+xml": {}}},
            404: {"description": "Not a ContextIdentifier"},
        },
    )
    async def badge(request: Request, context_identifier: PageContextPath) -> Response:
        """An SVG badge: `Cust123 | running`. Unknown tenants show `unknown`."""
        timer = _Timer()
        if not is_valid_context_identifier(context_identifier):
            return problem(404, "Not found", "not a ContextIdentifier")
        answer = services_of(request).cache.get(context_identifier)
        state = TenantState.Unknown if answer is None else answer.state
        body = render("badge.svg", badge=badge_for(context_identifier, state))
        return Response(
            body,
            media_type=_SVG,
            headers={
                **_COMMON,
                "cache-control": "no-cache",
                "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'",
                "server-timing": timer.header(),
            },
        )

    return router


def _page_url(
    prefix: str | None,
    state: TenantState | None,
    *,
    after: str | None = None,
    before: str | None = None,
) -> str:
    query = {"q": prefix, "state": None if state is None else state.name}
    query.update(after=after, before=before)
    return "/status?" + urlencode({k: v for k, v in query.items() if v})


def _feed_response(feed: Feed, timer: _Timer, *, private: bool = False) -> Response:
    return Response(
        render("feed.xml", feed=feed),
        media_type=_ATOM,
        headers={
            **_COMMON,
            "cache-control": "private, max-age=60" if private else "public, max-age=60",
            "server-timing": timer.header(),
        },
    )
