"""The portal's templates (Jinja2, autoescaped everywhere) and its one stylesheet.

Pages link the status page's stylesheet and `portal.css`, each under a URL that
carries its content hash; the Content-Security-Policy allows no script at all.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from tenantstatus.service.status.rendering import ASSETS as STATUS_ASSETS

__all__ = ["CONTENT_SECURITY_POLICY", "PORTAL_CSS", "PORTAL_CSS_URL", "render"]

TEMPLATES = Path(__file__).resolve().parent / "templates"

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

PORTAL_CSS = (TEMPLATES / "portal.css").read_bytes()
PORTAL_CSS_URL = f"/portal/assets/portal.{hashlib.sha256(PORTAL_CSS).hexdigest()[:12]}.css"
_STATUS_CSS_URL = next(a.url for a in STATUS_ASSETS.values() if a.name == "status.css")

_environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,
)
_environment.globals["stylesheets"] = (_STATUS_CSS_URL, PORTAL_CSS_URL)


def render(template: str, **context: Any) -> bytes:
    """Render `template` with `context`, UTF-8 encoded."""
    return _environment.get_template(template).render(**context).encode()
