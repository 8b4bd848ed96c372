"""The OpenAPI document: FastAPI's, plus the state API that the hot path serves outside it."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from tenantstatus.model import CONTEXT_IDENTIFIER_PATTERN, TenantState

__all__ = ["install_openapi"]

_STATE_ANSWER: dict[str, Any] = {
    "type": "object",
    "required": ["ContextIdentifier", "Endpoint", "State", "IsRunning", "ValidUntil", "Api"],
    "properties": {
        "ContextIdentifier": {"type": "string"},
        "Endpoint": {"type": "string", "description": "Root URL of the installation."},
        "State": {"type": "string", "enum": [s.name for s in TenantState]},
        "IsRunning": {"type": "boolean"},
        "ValidUntil": {"type": "string", "description": "7 fractional digits and Z."},
        "Api": {"type": "string", "description": "Endpoint + /api"},
        "Version": {"type": "string"},
    },
}

_PROBLEM = {"application/problem+json": {"schema": {"type": "object"}}}


def _state_path() -> dict[str, Any]:
    parameter = {
        "name": "ContextIdentifier",
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
        "description": f"The tenant id; must match {CONTEXT_IDENTIFIER_PATTERN.pattern}.",
    }
    answer = {
        "200": {
            "description": "The tenant's state; an unknown tenant is State Unknown.",
            "content": {"application/json": {"schema": _STATE_ANSWER}},
        },
        "304": {"description": "Not modified since the ETag in If-None-Match."},
        "400": {"description": "The id breaks the pattern.", "content": _PROBLEM},
    }
    operation = {
        "tags": ["state"],
        "summary": "The state of one tenant (public, cached until ValidUntil)",
        "parameters": [parameter],
        "responses": answer,
    }
    return {"get": {**operation, "operationId": "get_state"}}


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
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
