"""The portal's pages and actions, each for the session's own application only.

No route takes an application id: the session names it, so no URL or form field can
reach another application's data. A delivery id in a form is looked up as the
session's application's, and is "not found" otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.responses import Response

from tenantstatus.delivery.url_safety import UnsafeUrl
from tenantstatus.model import TEST_CONTEXT_IDENTIFIER, ChangeType, TenantState, parse_instant
from tenantstatus.service.errors import ServiceError
from tenantstatus.service.portal.pages import (
    PortalSession,
    current_session,
    page,
    redirect,
    session_form,
    zone_of,
)
from tenantstatus.service.portal.rendering import PORTAL_CSS, PORTAL_CSS_URL
from tenantstatus.service.portal.views import delivery_views
from tenantstatus.service.push import delivery_actions
from tenantstatus.service.push.schemas import UrlBody
from tenantstatus.service.services import services_of
from tenantstatus.service.status.views import Moment, state_counts, tenant_rows
from tenantstatus.store.push_records import DeliveryStatus

__all__ = ["CUSTOMERS_PAGE", "DELIVERIES_PAGE", "router"]

DELIVERIES_PAGE = 25
CUSTOMERS_PAGE = 50
_PREFIX = re.compile(r"[A-Za-z0-9_-]{1,64}")
_DELIVERY_ID = re.compile(r"msg_[0-9a-f]{32}")
_CURSOR = re.compile(r"[1-9][0-9]{0,17}")
_NOTICES = {
    "url": "The State Change URL is changed; the next notification goes there.",
    "test": "A test notification is queued; its attempt shows below in a moment.",
    "redelivered": "The delivery is queued again, from the first step of the retry schedule.",
}

router = APIRouter(prefix="/portal", include_in_schema=False)


def _login() -> Response:
    return redirect("/portal/login")


@router.get(PORTAL_CSS_URL.removeprefix("/portal"))
async def stylesheet() -> Response:
    """The portal's stylesheet, cached for good: its URL changes with its content."""
    return Response(
        PORTAL_CSS,
        media_type="text/css; charset=utf-8",
        headers={"cache-control": "public, max-age=31536000, immutable"},
    )


def _home(
    request: Request,
    session: PortalSession,
    *,
    status: int = 200,
    problems: list[str] | None = None,
    url_value: str | None = None,
) -> Response:
    application = session.application
    zone = zone_of(request)
    notice = _NOTICES.get(request.query_params.get("notice", ""))
    return page(
        "home.html",
        status=status,
        session=session,
        problems=problems,
        notices=[notice] if notice else [],
        current="home",
        application=application,
        url_value=application.url if url_value is None else url_value,
        created=Moment(application.created_at, zone),
        disabled_at=None
        if application.disabled_at is None
        else Moment(application.disabled_at, zone),
        previous_until=None
        if application.previous_secret_until is None
        else Moment(application.previous_secret_until, zone),
        change_types=list(ChangeType.__members__),
        test_tenant=TEST_CONTEXT_IDENTIFIER,
    )


@router.get("")
async def home(request: Request) -> Response:
    """The application: its URL, status and secret, and the test and recover forms."""
    session = await current_session(request)
    if session is None:
        return _login()
    return _home(request, session)


@router.get("/customers")
async def customers(request: Request) -> Response:
    """The tenants that approved the application, their state, counts and search."""
    session = await current_session(request)
    if session is None:
        return _login()
    store = services_of(request).store
    application_id = session.application.id
    query = request.query_params
    problems: list[str] = []
    prefix = query.get("q", "").strip(" ")[:64] or None
    if prefix is not None and _PREFIX.fullmatch(prefix) is None:
        problems.append("Search by the start of a ContextIdentifier: letters, digits, _ and -.")
        prefix = None
    state_name = query.get("state", "")[:32]
    state = TenantState.from_name(state_name) if state_name else None
    if state_name and state is None:
        problems.append("There is no such state; here are customers in every state.")
    after = query.get("after", "")[:64] or None
    if after is not None and _PREFIX.fullmatch(after) is None:
        problems.append("That page link is broken; here is the first page.")
        after = None
    found = await store.customer_page(
        application_id, prefix=prefix, state=state, after=after, limit=CUSTOMERS_PAGE
    )
    counts = await store.customer_counts(application_id)
    rows = tenant_rows(found.tenants, zone_of(request))
    next_query = None
    if found.has_next and rows:
        next_query = {"q": prefix, "state": state.name if state else None}
        next_query["after"] = rows[-1].context_identifier
    return page(
        "customers.html",
        status=400 if problems else 200,
        session=session,
        problems=problems,
        current="customers",
        counts=state_counts(counts),
        total=sum(counts.values()),
        rows=rows,
        q=prefix or "",
        state=state,
        next_query={k: v for k, v in next_query.items() if v} if next_query else None,
    )


async def _deliveries_page(
    request: Request,
    session: PortalSession,
    *,
    status: int = 200,
    problems: list[str] | None = None,
    notices: list[str] | None = None,
) -> Response:
    store = services_of(request).store
    query = request.query_params
    problems = list(problems or [])
    after_text = query.get("after", "")[:20]
    after = int(after_text) if _CURSOR.fullmatch(after_text) else None
    if after_text and after is None:
        problems.append("That page link is broken; here is the first page.")
    status_text = query.get("status", "")[:16]
    known = {s.value: s for s in DeliveryStatus}
    wanted = known.get(status_text)
    if status_text and wanted is None:
        problems.append("There is no such delivery status; here is every delivery.")
    found = await store.delivery_page(
        session.application.id, status=wanted, before_seq=after, limit=DELIVERIES_PAGE + 1
    )
    more = len(found) > DELIVERIES_PAGE
    found = found[:DELIVERIES_PAGE]
    notice = _NOTICES.get(query.get("notice", ""))
    next_query = None
    if more:
        next_query = {"after": str(found[-1][0].seq)}
        if wanted is not None:
            next_query["status"] = wanted.value
    return page(
        "deliveries.html",
        status=400 if problems and status == 200 else status,
        session=session,
        problems=problems,
        notices=(notices or []) + ([notice] if notice else []),
        current="deliveries",
        deliveries=delivery_views(found, zone_of(request)),
        statuses=[s.value for s in DeliveryStatus],
        wanted=wanted,
        first_page=after is None,
        next_query=next_query,
    )


@router.get("/deliveries")
async def deliveries(request: Request) -> Response:
    """The application's deliveries, newest first, each with every attempt; paged."""
    session = await current_session(request)
    if session is None:
        return _login()
    return await _deliveries_page(request, session)


def _one_line(error: Exception) -> str:
    if isinstance(error, UnsafeUrl):
        return f"That URL is refused: {error.reason}."
    if isinstance(error, ServiceError):
        return str(error.detail)
    return str(error).splitlines()[0][:300]


def _validated_url(fields: Mapping[str, str]) -> str:
    try:
        return UrlBody.model_validate({"Url": fields.get("url", "").strip()}).Url
    except ValidationError as exc:
        message = exc.errors()[0]["msg"].removeprefix("Value error, ")
        raise ValueError(f"That URL cannot be used: {message}.") from exc


@router.post("/url")
async def change_url(request: Request) -> Response:
    """Change the State Change URL, under the same rules as the API."""
    checked = await session_form(request)
    if isinstance(checked, Response):
        return checked
    session, fields = checked
    services = services_of(request)
    try:
        url = _validated_url(fields)
        await services.applications.set_url(session.application.id, url)
    except (ValueError, ServiceError) as exc:
        return _home(
            request, session, status=422, problems=[_one_line(exc)], url_value=fields.get("url")
        )
    return redirect("/portal?notice=url")


@router.post("/rotate-secret")
async def rotate_secret(request: Request) -> Response:
    """A new webhook secret, shown on this page once; the old one signs 24 hours more."""
    checked = await session_form(request)
    if isinstance(checked, Response):
        return checked
    session, _ = checked
    services = services_of(request)
    rotated = await services.applications.rotate_secret(session.application.id)
    renewed = PortalSession(session.token, rotated.application)
    until = rotated.application.previous_secret_until
    return page(
        "secret.html",
        session=renewed,
        current="home",
        secret=rotated.secret,
        previous_until=None if until is None else Moment(until, zone_of(request)),
    )


@router.post("/test")
async def send_test(request: Request) -> Response:
    """Queue a test notification, as `tenantstatus app test` does."""
    checked = await session_form(request)
    if isinstance(checked, Response):
        return checked
    session, fields = checked
    tenant = fields.get("tenant", "").strip() or None
    change_name = fields.get("change_type", "Upgrade")
    try:
        if change_name not in ChangeType.__members__:
            raise ValueError("Choose one of the ChangeTypes listed.")
        if tenant is not None and _PREFIX.fullmatch(tenant) is None:
            raise ValueError("A tenant is a ContextIdentifier: letters, digits, _ and -.")
        await delivery_actions.send_test(
            services_of(request),
            session.application.id,
            session.application.id,
            context_identifier=tenant,
            change_type=ChangeType[change_name],
        )
    except (ValueError, ServiceError) as exc:
        return _home(request, session, status=422, problems=[_one_line(exc)])
    return redirect("/portal/deliveries?notice=test")


@router.post("/recover")
async def recover(request: Request) -> Response:
    """Send again every dead delivery created since an instant, as `deliveries recover`."""
    checked = await session_form(request)
    if isinstance(checked, Response):
        return checked
    session, fields = checked
    since_text = fields.get("since", "").strip()
    try:
        since = _instant(since_text)
        done = await delivery_actions.recover(
            services_of(request), session.application.id, session.application.id, since
        )
    except (ValueError, ServiceError) as exc:
        return _home(request, session, status=422, problems=[_one_line(exc)])
    more = " More remain: recover again." if done.remaining else ""
    notice = f"{done.recovered} dead deliveries since {since_text} are queued again.{more}"
    return await _deliveries_page(request, session, notices=[notice])


def _instant(text: str) -> datetime:
    """An instant as typed: ISO 8601, UTC when it names no zone."""
    if not text:
        raise ValueError("Give an instant, such as 2026-12-01T00:00:00Z.")
    for candidate in (text, text + "Z"):
        try:
            return parse_instant(candidate)
        except ValueError:
            continue
    raise ValueError(f"{text[:40]!r} is not an instant; write it as 2026-12-01T00:00:00Z.")


@router.post("/redeliver")
async def redeliver(request: Request) -> Response:
    """Send one delivery again, as `deliveries redeliver` does."""
    checked = await session_form(request)
    if isinstance(checked, Response):
        return checked
    session, fields = checked
    delivery_id = fields.get("delivery", "")
    try:
        if _DELIVERY_ID.fullmatch(delivery_id) is None:
            raise ValueError("That is not a delivery id.")
        await delivery_actions.redeliver(services_of(request), session.application.id, delivery_id)
    except (ValueError, ServiceError) as exc:
        status = 404 if isinstance(exc, ServiceError) and exc.status == 404 else 422
        return await _deliveries_page(request, session, status=status, problems=[_one_line(exc)])
    return redirect("/portal/deliveries?notice=redelivered")
