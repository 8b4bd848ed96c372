"""RFC 9457 problem details: the one shape of every error the service answers.

`install_error_handlers` answers each exception of the tree in `errors`, and those the
layers below raise, as a problem document; nothing reaches a caller as a stack trace.
"""

from __future__ import annotations

import json
import logging
import socket
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from tenantstatus.delivery.url_safety import UnsafeUrl
from tenantstatus.lifecycle import InvalidOperation, TransitionRefused
from tenantstatus.service.errors import ServiceError, ServiceUnavailable
from tenantstatus.service.route_table import allowed_methods
from tenantstatus.store import StoreUnavailable

__all__ = ["PROBLEM_JSON", "install_error_handlers", "problem", "problem_body"]

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


def problem_body(status: int, title: str, detail: str, **extensions: Any) -> bytes:
    """Serialise a problem document."""
    document: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    document["detail"] = detail
    document.update(extensions)
    return json.dumps(document, ensure_ascii=False).encode()


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> Response:
    """A problem+json response."""
    return Response(
        problem_body(status, title, detail, **extensions),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


async def _service_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ServiceError)  # noqa: S101
    if exc.status >= 500:
        log.error("%s on %s %s: %s", type(exc).__name__, request.method, request.url.path, exc)
    return problem(exc.status, exc.title, exc.detail)


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


async def _unsafe_url(request: Request, exc: Exception) -> Response:
    return problem(422, "Not acceptable", str(exc))


def _is_connection_error(exc: BaseException) -> bool:
    """Whether `exc` says the database is away, rather than that the service has a bug."""
    if isinstance(exc, StoreUnavailable):
        return True
    if isinstance(exc, DBAPIError):
        return exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError)
    return isinstance(exc, ConnectionError | TimeoutError | socket.gaierror)


async def _database_error(request: Request, exc: Exception) -> Response:
    if not _is_connection_error(exc):
        return await _unexpected(request, exc)
    log.warning("store unavailable: %s", exc)
    away = ServiceUnavailable(
        "The database cannot be reached; the operation did not happen. Try again shortly."
    )
    return problem(
        away.status, away.title, away.detail, headers={"Retry-After": str(away.retry_after)}
    )


async def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)  # noqa: S101
    headers = dict(exc.headers or {})
    if exc.status_code == 400 and isinstance(exc.__cause__, ValueError):
        # FastAPI's answer to a body it cannot decode (not UTF-8): the same 422 as for
        # any other body that is not JSON, as the OpenAPI document says.
        return problem(422, "Invalid request", "body: not JSON (it is not UTF-8 text)")
    if exc.status_code == 405:
        headers = {k: v for k, v in headers.items() if k.lower() != "allow"}
        # Starlette names only the first route that matched the path; each method is a
        # route of its own here, so Allow lists them all.
        headers["allow"] = ", ".join(allowed_methods(request.app, request.scope["path"]))
    return problem(
        exc.status_code, _TITLES.get(exc.status_code, "Error"), str(exc.detail), headers=headers
    )


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
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
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(TransitionRefused, _refused)
    app.add_exception_handler(InvalidOperation, _invalid)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(UnsafeUrl, _unsafe_url)
    app.add_exception_handler(StoreUnavailable, _database_error)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(OSError, _database_error)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)
