"""How the portal answers: its pages, its cookies, and the session a request carries.

The session cookie is HttpOnly, SameSite=Strict, scoped to `/portal`, and Secure
unless the page is served on loopback (where there is no TLS to require). Before
a session exists, the login and link forms carry a double-submit token: a random
cookie and the same value in the form, so no other site can log a browser in.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from tenantstatus.service.portal.forms import FormError, read_form
from tenantstatus.service.portal.rendering import CONTENT_SECURITY_POLICY, render
from tenantstatus.service.portal.sessions import (
    SESSION_LIFETIME,
    PortalAccess,
    csrf_matches,
    csrf_token,
)
from tenantstatus.service.services import Services, services_of
from tenantstatus.service.status.zones import ReaderZone
from tenantstatus.store.push_records import Application

__all__ = [
    "LOGIN_COOKIE",
    "SESSION_COOKIE",
    "PortalSession",
    "access_of",
    "current_session",
    "end_session_cookie",
    "login_csrf_matches",
    "page",
    "redirect",
    "session_form",
    "set_session_cookie",
    "with_login_csrf",
    "zone_of",
]

SESSION_COOKIE = "tsportal"
LOGIN_COOKIE = "tsportal_login"
_PATH = "/portal"
_HTML = "text/html; charset=utf-8"
_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
}


@dataclass(frozen=True, slots=True)
class PortalSession:
    """A logged-in request: its application and the CSRF token its forms carry."""

    token: str
    application: Application

    @property
    def csrf(self) -> str:
        """The token every form of this session carries."""
        return csrf_token(self.token)


def access_of(services: Services) -> PortalAccess:
    """The portal's sessions and links, on the service's store and clock."""
    return PortalAccess(services.store, services.clock)


def zone_of(request: Request) -> ReaderZone:
    """The reader's zone, as the status pages remember it, else UTC."""
    return ReaderZone.choose(None, request.cookies.get("tz"))


def page(
    template: str,
    *,
    status: int = 200,
    session: PortalSession | None = None,
    problems: list[str] | None = None,
    notices: list[str] | None = None,
    **context: Any,
) -> Response:
    """An HTML page; never cached, never framed, no script."""
    context.setdefault("current", "")
    body = render(
        template,
        session=session,
        problems=problems or [],
        notices=notices or [],
        **context,
    )
    return Response(
        body, status_code=status, media_type="text/html; charset=utf-8", headers=_HEADERS
    )


def redirect(url: str) -> Response:
    """See Other: after a POST, the browser GETs `url`."""
    return RedirectResponse(url, status_code=303, headers=_HEADERS)


def _secure(request: Request) -> bool:
    host = request.url.hostname or ""
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return True


def set_session_cookie(response: Response, request: Request, token: str) -> None:
    """Hand the browser its session, and forget the login form's token."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        path=_PATH,
        secure=_secure(request),
        httponly=True,
        samesite="strict",
    )
    response.delete_cookie(
        LOGIN_COOKIE, path=_PATH, secure=_secure(request), httponly=True, samesite="strict"
    )


def end_session_cookie(response: Response, request: Request) -> None:
    """Make the browser drop its session cookie."""
    response.delete_cookie(
        SESSION_COOKIE, path=_PATH, secure=_secure(request), httponly=True, samesite="strict"
    )


def with_login_csrf(request: Request, render_with: Callable[[str], Response]) -> Response:
    """A login or link page, its form carrying the browser's login token (new if need be)."""
    value = request.cookies.get(LOGIN_COOKIE, "")
    fresh = len(value) != 43
    if fresh:
        value = secrets.token_urlsafe(32)
    response = render_with(value)
    if fresh:
        response.set_cookie(
            LOGIN_COOKIE,
            value,
            max_age=3600,
            path=_PATH,
            secure=_secure(request),
            httponly=True,
            samesite="strict",
        )
    return response


def login_csrf_matches(request: Request, fields: Mapping[str, str]) -> bool:
    """Whether the form's token is the one in the browser's login cookie."""
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    sent = fields.get("csrf", "")
    return len(cookie) == 43 and hmac.compare_digest(cookie, sent)


async def current_session(request: Request) -> PortalSession | None:
    """The request's live session and its application, or None."""
    token = request.cookies.get(SESSION_COOKIE)
    application = await access_of(services_of(request)).application_of(token)
    if token is None or application is None:
        return None
    return PortalSession(token, application)


async def session_form(request: Request) -> tuple[PortalSession, Mapping[str, str]] | Response:
    """A logged-in POST's session and fields, or the page refusing it.

    No live session: 401 with a way back in. A missing or wrong CSRF token: 403.
    A form it cannot read: 400. Nothing is changed in any of these cases.
    """
    session = await current_session(request)
    if session is None:
        return page(
            "message.html",
            status=401,
            title="Log in again",
            detail="Your portal session has ended or never began; nothing was changed.",
        )
    try:
        fields = await read_form(request)
    except FormError as exc:
        return page("message.html", status=400, session=session, title="Not sent", detail=str(exc))
    if not csrf_matches(session.token, fields.get("csrf")):
        return page(
            "message.html",
            status=403,
            session=session,
            title="Not sent",
            detail="The form's security token is missing or old; reload the page and try again.",
        )
    return session, fields
