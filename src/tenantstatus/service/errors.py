"""The service's exceptions and how each becomes a problem+json answer.

Exception
 ├── TransitionRefused        (lifecycle)  -> 409, names the state and the allowed operations
 ├── InvalidOperation         (lifecycle)  -> 422
 ├── UnknownScheduledOperation             -> 404
 ├── StoreUnavailable, DBAPIError, OSError  -> 503, Retry-After (the database is away)
 ├── NotFound                              -> 404
 ├── UnknownApplication                    -> 404
 └── InvalidApplication, UnsafeUrl         -> 422
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from tenantstatus.delivery.url_safety import UnsafeUrl
from tenantstatus.lifecycle import InvalidOperation, TransitionRefused
from tenantstatus.service.applications import InvalidApplication, UnknownApplication
from tenantstatus.service.problems import problem
from tenantstatus.service.tenants import UnknownScheduledOperation
from tenantstatus.store import StoreUnavailable

__all__ = ["NotFound", "install_error_handlers"]

log = logging.getLogger(__name__)


class NotFound(LookupError):
    """The thing the request names does not exist."""


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, TransitionRefused)  # noqa: S101
    allowed = [str(op) for op in exc.allowed]
    current = None if exc.current is None else exc.current.name
    return problem(
        409,
        "Operation not allowed",
        f"{exc.reason}. Allowed now: {', '.join(allowed) or 'none'}.",
        ContextIdentifier=exc.context_identifier,
        Operation=str(exc.operation),
        CurrentState=current,
        AllowedOperations=allowed,
    )


async def _invalid(request: Request, exc: Exception) -> Response:
    return problem(422, "Invalid operation", str(exc))


async def _validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)  # noqa: S101
    errors = [
        {"loc": [str(part) for part in error.get("loc", ())], "msg": str(error.get("msg", ""))}
        for error in exc.errors()[:20]
    ]
    first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
    where = ".".join(first["loc"][1:]) or "request"
    return problem(422, "Invalid request", f"{where}: {first['msg']}", errors=errors)


async def _not_found(request: Request, exc: Exception) -> Response:
    return problem(404, "Not found", str(exc) or "no such resource")


async def _unknown_scheduled(request: Request, exc: Exception) -> Response:
    return problem(404, "Not found", f"no pending scheduled operation has id {exc}")


async def _unavailable(request: Request, exc: Exception) -> Response:
    log.warning("store unavailable: %s", exc)
    return problem(
        503,
        "Database unavailable",
        "The database cannot be reached; the operation did not happen. Try again shortly.",
        headers={"Retry-After": "5"},
    )


async def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)  # noqa: S101
    return problem(
        exc.status_code,
        _TITLES.get(exc.status_code, "Error"),
        str(exc.detail),
        headers=dict(exc.headers or {}),
    )


async def _unknown_application(request: Request, exc: Exception) -> Response:
    return problem(404, "Not found", f"no application {exc}")


async def _unacceptable(request: Request, exc: Exception) -> Response:
    return problem(422, "Not acceptable", str(exc))


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return problem(500, "Internal error", "The service failed unexpectedly; it has been logged.")


_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    413: "Request body too large",
}


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error as problem+json, never with a stack trace."""
    app.add_exception_handler(TransitionRefused, _refused)
    app.add_exception_handler(InvalidOperation, _invalid)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(UnknownScheduledOperation, _unknown_scheduled)
    app.add_exception_handler(StoreUnavailable, _unavailable)
    app.add_exception_handler(DBAPIError, _unavailable)
    app.add_exception_handler(OSError, _unavailable)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(UnknownApplication, _unknown_application)
    app.add_exception_handler(InvalidApplication, _unacceptable)
    app.add_exception_handler(UnsafeUrl, _unacceptable)
    app.add_exception_handler(Exception, _unexpected)
