"""The OpenAPI document: FastAPI's, plus the state API that the hot path serves outside it.

FastAPI writes what each route declares; `install_openapi` then makes the document
tell the truth about what every route shares, in one place: each error is an RFC 9457
problem document (`application/problem+json`), each route that takes a token can
answer 401 (and 403 when only the operator may call it), and each route with a body
answers a body that is not JSON with 422. (The status pages answer their errors as
HTML pages, which their routes declare.)
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from tenantstatus.model import CONTEXT_IDENTIFIER_PATTERN, TenantState
from tenantstatus.service.access import operator_principal
from tenantstatus.service.problems import PROBLEM_JSON
from tenantstatus.service.route_table import route_entries

__all__ = ["PROBLEM_SCHEMA", "install_openapi"]

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Problem",
    "description": "An RFC 9457 problem document.",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "examples": ["about:blank"]},
        "title": {"type": "string", "examples": ["Operation not allowed"]},
        "status": {"type": "integer", "examples": [409]},
        "detail": {"type": "string", "examples": ["resume is not allowed from Running."]},
        "errors": {
            "type": "array",
            "description": "For 422: what was wrong, where (at most 20).",
            "items": {
                "type": "object",
                "properties": {
                    "loc": {"type": "array", "items": {"type": "string"}},
                    "msg": {"type": "string"},
                },
            },
        },
    },
}
_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    409: "Operation not allowed",
    422: "Invalid request",
    503: "Not ready",
}
_DETAILS = {
    401: "This route needs the operator token or an application token: send "
    "'Authorization: Bearer <token>'.",
    403: "Only the operator may do this; application tokens may not.",
    409: "resume is not allowed from Running. Allowed now: upgrade, restore, suspend, delete, "
    "maintenance-online, maintenance-offline, migration-pending, move, set-version, incident.",
    422: "Endpoint: String should match pattern '^https?://...'",
}


def _problem_content(status: int, description: str) -> dict[str, Any]:
    """The problem media type, with an example that fits this status."""
    example: dict[str, Any] = {
        "type": "about:blank",
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": _DETAILS.get(status, description),
    }
    if status == 422:
        example["errors"] = [{"loc": ["body", "Endpoint"], "msg": "String should match pattern"}]
    return {PROBLEM_JSON: {"schema": _PROBLEM_REF, "example": example}}


_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}

_STATE_EXAMPLE = {
    "ContextIdentifier": "Cust12345",
    "Endpoint": "https://online2.superoffice.com/Cust12345",
    "State": "Running",
    "IsRunning": True,
    "ValidUntil": "2026-02-23T09:52:01.9342965Z",
    "Api": "https://online2.superoffice.com/Cust12345/api",
    "Version": "Release_11.10_2026.02.24-02",
}

_STATE_ANSWER: dict[str, Any] = {
    "type": "object",
    "title": "TenantStatus",
    "required": ["ContextIdentifier", "Endpoint", "State", "IsRunning", "ValidUntil", "Api"],
    "properties": {
        "ContextIdentifier": {"type": "string", "examples": ["Cust12345"]},
        "Endpoint": {
            "type": "string",
            "description": "Root URL of the installation.",
            "examples": [_STATE_EXAMPLE["Endpoint"]],
        },
        "State": {
            "type": "string",
            "enum": [s.name for s in TenantState],
            "description": "Clients must tolerate names they do not know (newer services).",
        },
        "IsRunning": {
            "type": "boolean",
            "description": "True exactly for Running and OnlineMaintenance.",
        },
        "ValidUntil": {
            "type": "string",
            "description": "Until when the answer may be cached: 7 fractional digits and Z.",
            "examples": [_STATE_EXAMPLE["ValidUntil"]],
        },
        "Api": {
            "type": "string",
            "description": "Endpoint + /api",
            "examples": [_STATE_EXAMPLE["Api"]],
        },
        "Version": {
            "type": "string",
            "description": "The release label; absent until the tenant has a version document.",
            "examples": [_STATE_EXAMPLE["Version"]],
        },
    },
    "examples": [_STATE_EXAMPLE],
}


def _state_path() -> dict[str, Any]:
    parameter = {
        "name": "ContextIdentifier",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "pattern": f"^{CONTEXT_IDENTIFIER_PATTERN.pattern}$"},
        "description": "The tenant id: a letter, then up to 63 letters, digits, _ and -.",
        "example": "Cust12345",
    }
    answer = {
        "200": {
            "description": "The tenant's state; a tenant this service does not know is "
            "State Unknown, not 404.",
            "headers": {
                "ETag": {"schema": {"type": "string"}},
                "Cache-Control": {"schema": {"type": "string", "examples": ["public, max-age=60"]}},
            },
            "content": {"application/json": {"schema": _STATE_ANSWER}},
        },
        "304": {"description": "Not modified since the ETag in If-None-Match."},
        "400": {
            "description": "The id breaks the pattern.",
            "content": _problem_content(400, "'0' is not a ContextIdentifier"),
        },
    }
    operation = {
        "tags": ["state"],
        "summary": "Get the state of a tenant",
        "description": "Public and answered from memory, never from the database. The answer "
        "may be cached until `ValidUntil` (also in `Cache-Control`), and is conditional on "
        "`If-None-Match`. Clients call this before each use of the tenant's API.",
        "parameters": [parameter],
        "responses": answer,
    }
    return {"get": {**operation, "operationId": "get_state"}}


def _operator_only(app: FastAPI) -> set[tuple[str, str]]:
    """(path, method) of every route that only the operator may call."""
    return {
        (entry.path_format, method.lower())
        for entry in route_entries(app)
        if entry.depends_on(operator_principal)
        for method in entry.methods
    }


def _complete(document: dict[str, Any], operator_only: set[tuple[str, str]]) -> None:
    """Add what every route shares, and make every error answer a problem document."""
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses: dict[str, Any] = operation.setdefault("responses", {})
            if "security" in operation:
                responses.setdefault(
                    "401",
                    {"description": "No token, or one this service does not know"},
                )
                if (path, method) in operator_only:
                    responses.setdefault(
                        "403", {"description": "Operator only: an application token may not"}
                    )
            if "requestBody" in operation:
                invalid = responses.setdefault("422", {"description": "Invalid request"})
                invalid["description"] += " (also: the body is not JSON)"
            for status, response in responses.items():
                declared = set(response.get("content", {})) - {"application/json"}
                if status[0] in "45" and not declared - {PROBLEM_JSON}:
                    given = response.get("content", {}).get(PROBLEM_JSON, {}).get("example")
                    response["content"] = _problem_content(int(status), response["description"])
                    if given is not None:  # a route's own example beats the generic one
                        response["content"][PROBLEM_JSON]["example"] = given
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["Problem"] = PROBLEM_SCHEMA


def install_openapi(app: FastAPI) -> None:
    """Make `/openapi.json` describe every route, the hot path's included."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            document["paths"] = {"/api/state/{ContextIdentifier}": _state_path()} | document[
                "paths"
            ]
            _complete(document, _operator_only(app))
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
