"""The ways into the portal and out: the token login, the single-use link, logout."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from tenantstatus.service.portal.forms import FormError, read_form
from tenantstatus.service.portal.pages import (
    access_of,
    current_session,
    end_session_cookie,
    login_csrf_matches,
    page,
    redirect,
    session_form,
    set_session_cookie,
    with_login_csrf,
)
from tenantstatus.service.services import services_of

__all__ = ["router"]

router = APIRouter(prefix="/portal", include_in_schema=False)

_LOGGED_OUT = "You have logged out."
_NOT_AN_APPLICATION = (
    "That is not the token of an application here; paste the tsapp_ token you were given."
)
_SPENT_LINK = (
    "This link has expired or was used already; ask the operator for a new one, "
    "or log in with the application's token."
)
_STALE_FORM = "The form had expired; it is fresh now, so send it again."


def _notices(request: Request) -> list[str]:
    return [_LOGGED_OUT] if request.query_params.get("notice") == "logged-out" else []


def _login_page(
    request: Request, *, status: int = 200, problems: list[str] | None = None
) -> Response:
    return with_login_csrf(
        request,
        lambda csrf: page(
            "login.html", status=status, problems=problems, notices=_notices(request), csrf=csrf
        ),
    )


@router.get("/login")
async def login_form(request: Request) -> Response:
    """The login form: the application's API token."""
    if await current_session(request) is not None:
        return redirect("/portal")
    return _login_page(request)


@router.post("/login")
async def login(request: Request) -> Response:
    """Open a session with the application's token."""
    try:
        fields = await read_form(request)
    except FormError as exc:
        return _login_page(request, status=400, problems=[str(exc)])
    if not login_csrf_matches(request, fields):
        return _login_page(request, status=403, problems=[_STALE_FORM])
    token = fields.get("token", "")
    if not token.strip():
        return _login_page(request, status=422, problems=["Paste the application's API token."])
    opened = await access_of(services_of(request)).login(token)
    if opened is None:
        return _login_page(request, status=401, problems=[_NOT_AN_APPLICATION])
    response = redirect("/portal")
    set_session_cookie(response, request, opened[0])
    return response


def _enter_page(
    request: Request, token: str, *, status: int = 200, problems: list[str] | None = None
) -> Response:
    return with_login_csrf(
        request,
        lambda csrf: page("enter.html", status=status, problems=problems, csrf=csrf, token=token),
    )


@router.get("/enter")
async def enter_form(
    request: Request, token: Annotated[str, Query(max_length=100)] = ""
) -> Response:
    """A link's landing page: one button that spends the link (a GET never does)."""
    if not token.startswith("tspl_"):
        return page("message.html", status=404, title="Not a portal link", detail=_SPENT_LINK)
    return _enter_page(request, token)


@router.post("/enter")
async def enter(request: Request) -> Response:
    """Spend a single-use link for a session."""
    try:
        fields = await read_form(request)
    except FormError as exc:
        return page("message.html", status=400, title="Not a portal link", detail=str(exc))
    token = fields.get("token", "")[:100]
    if not login_csrf_matches(request, fields):
        return _enter_page(request, token, status=403, problems=[_STALE_FORM])
    opened = await access_of(services_of(request)).enter(token)
    if opened is None:
        return page(
            "message.html", status=401, title="This link no longer works", detail=_SPENT_LINK
        )
    response = redirect("/portal")
    set_session_cookie(response, request, opened[0])
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    """End the session here and now."""
    checked = await session_form(request)
    if isinstance(checked, Response):
        return checked
    session, _ = checked
    await access_of(services_of(request)).logout(session.token)
    response = redirect("/portal/login?notice=logged-out")
    end_session_cookie(response, request)
    return response
