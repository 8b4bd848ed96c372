"""Request parameters that several routers share, declared once for the OpenAPI document."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from tenantstatus.model import CONTEXT_IDENTIFIER_PATTERN

__all__ = ["CONTEXT_IDENTIFIER_SCHEMA_PATTERN", "ContextPath", "PageContextPath"]

CONTEXT_IDENTIFIER_SCHEMA_PATTERN = f"^{CONTEXT_IDENTIFIER_PATTERN.pattern}$"
"""The ContextIdentifier rule, anchored as JSON Schema writes it."""

ContextPath = Annotated[
    str,
    Path(
        alias="ContextIdentifier",
        pattern=CONTEXT_IDENTIFIER_SCHEMA_PATTERN,
        description="The tenant id.",
        examples=["Cust12345"],
    ),
]
"""A tenant id in an API path; one that breaks the pattern is a 422 problem."""

# The pages answer a malformed id with a page of their own (404), not a 422 problem,
# so the pattern is only documented here and the handlers check it.
PageContextPath = Annotated[
    str,
    Path(
        alias="ContextIdentifier",
        description="The tenant id; one that breaks the pattern is answered 404.",
        json_schema_extra={"pattern": CONTEXT_IDENTIFIER_SCHEMA_PATTERN, "examples": ["Cust12345"]},
    ),
]
"""A tenant id in a page's path."""
