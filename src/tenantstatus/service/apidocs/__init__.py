"""The API documentation pages, `/docs` (Swagger UI) and `/redoc` (ReDoc), served offline.

The viewers' files come from the `fastapi-offline` package (Swagger UI is Apache-2.0,
ReDoc MIT; see that package's README), the start-up script and style sheet from this
one. All of them are served from `/docs/assets/` under a name that carries their
content hash, so a browser keeps them for a year, and nothing is fetched from
elsewhere. The pages' Content-Security-Policy says so too: scripts from this origin only.

    >>> app.include_router(api_docs_router(openapi_url="/openapi.json", title="tenantstatus"))
"""

from __future__ import annotations

import hashlib
import html
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from types import MappingProxyType

from fastapi import APIRouter
from starlette.responses import Response

from tenantstatus.service.problems import problem

__all__ = [
    "ASSET_PREFIX",
    "DOCS_ASSETS",
    "DOCS_CONTENT_SECURITY_POLICY",
    "REDOC_CONTENT_SECURITY_POLICY",
    "DocAsset",
    "api_docs_router",
]

ASSET_PREFIX = "/docs/assets/"

# Swagger UI's style sheet draws its icons from data: URLs.
DOCS_CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
# ReDoc writes its styles into <style> elements at run time (styled-components), and
# its search index runs in a worker it builds from a blob: URL.
REDOC_CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src blob:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

_HERE = Path(__file__).resolve().parent
_VIEWERS = files("fastapi_offline") / "static"
_HEADERS = {"x-content-type-options": "nosniff", "referrer-policy": "same-origin"}
_IMMUTABLE = "public, max-age=31536000, immutable"


@dataclass(frozen=True, slots=True)
class DocAsset:
    """A file the documentation pages load, named by its content hash."""

    name: str
    body: bytes
    media_type: str

    @property
    def url(self) -> str:
        """Where the pages link it; it changes whenever the content does."""
        stem, _, suffix = self.name.rpartition(".")
        digest = hashlib.sha256(self.body).hexdigest()[:12]
        return f"{ASSET_PREFIX}{stem}.{digest}.{suffix}"


def _assets() -> Mapping[str, DocAsset]:
    js, css = "text/javascript; charset=utf-8", "text/css; charset=utf-8"
    found = [
        DocAsset(name, (_VIEWERS / name).read_bytes(), media_type)
        for name, media_type in (
            ("swagger-ui-bundle.js", js),
            ("swagger-ui.css", css),
            ("redoc.standalone.js", js),
            ("favicon.png", "image/png"),
        )
    ]
    found += [
        DocAsset(name, (_HERE / name).read_bytes(), media_type)
        for name, media_type in (("swagger-init.js", js), ("apidocs.css", css))
    ]
    return MappingProxyType({asset.name: asset for asset in found})


DOCS_ASSETS = _assets()
_BY_URL = MappingProxyType({a.url.removeprefix(ASSET_PREFIX): a for a in DOCS_ASSETS.values()})


def _url(name: str) -> str:
    return html.escape(DOCS_ASSETS[name].url)


def _swagger_page(title: str, openapi_url: str) -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)} - API</title>
<link rel="icon" type="image/png" href="{_url("favicon.png")}">
<link rel="stylesheet" href="{_url("swagger-ui.css")}">
<link rel="stylesheet" href="{_url("apidocs.css")}">
<script src="{_url("swagger-ui-bundle.js")}" defer></script>
<script src="{_url("swagger-init.js")}" defer></script>
</head>
<body>
<div id="swagger-ui" data-openapi-url="{html.escape(openapi_url)}"></div>
<noscript>The API viewer needs JavaScript; the document itself is
<a href="{html.escape(openapi_url)}">{html.escape(openapi_url)}</a>.</noscript>
</body>
</html>
"""


def _redoc_page(title: str, openapi_url: str) -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)} - API reference</title>
<link rel="icon" type="image/png" href="{_url("favicon.png")}">
<link rel="stylesheet" href="{_url("apidocs.css")}">
</head>
<body>
<redoc spec-url="{html.escape(openapi_url)}"></redoc>
<noscript>The API reference needs JavaScript; the document itself is
<a href="{html.escape(openapi_url)}">{html.escape(openapi_url)}</a>.</noscript>
<script src="{_url("redoc.standalone.js")}"></script>
</body>
</html>
"""


def _page(body: str, policy: str) -> Response:
    return Response(
        body.encode(),
        media_type="text/html; charset=utf-8",
        headers={**_HEADERS, "content-security-policy": policy, "cache-control": "no-cache"},
    )


def api_docs_router(*, openapi_url: str, title: str) -> APIRouter:
    """`/docs`, `/redoc` and their assets, for the document at `openapi_url`."""
    router = APIRouter(include_in_schema=False)
    swagger = _swagger_page(title, openapi_url)
    redoc = _redoc_page(title, openapi_url)

    @router.get("/docs")
    async def docs() -> Response:
        return _page(swagger, DOCS_CONTENT_SECURITY_POLICY)

    @router.get("/redoc")
    async def reference() -> Response:
        return _page(redoc, REDOC_CONTENT_SECURITY_POLICY)

    @router.get(ASSET_PREFIX + "{name}")
    async def asset(name: str) -> Response:
        found = _BY_URL.get(name)
        if found is None:
            return problem(404, "Not found", f"no documentation asset {name[:80]!r}")
        return Response(
            found.body,
            media_type=found.media_type,
            headers={**_HEADERS, "cache-control": _IMMUTABLE},
        )

    return router
