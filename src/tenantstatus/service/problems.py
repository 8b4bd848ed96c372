"""RFC 9457 problem details: the one shape of every error the service answers."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

__all__ = ["PROBLEM_JSON", "problem", "problem_body"]

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
