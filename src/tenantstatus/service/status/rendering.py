"""Templates (Jinja2, autoescaped everywhere) and the page's two static assets.

The stylesheet and the script are served from `/status/assets/` under a name that
carries their content hash, so browsers may keep them forever; the pages send a
Content-Security-Policy that allows nothing else.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from tenantstatus.service.status.views import DayCell, percent

__all__ = [
    "ASSETS",
    "CONTENT_SECURITY_POLICY",
    "TEMPLATES",
    "Asset",
    "DayFragments",
    "render",
    "render_days",
]

TEMPLATES = Path(__file__).resolve().parent / "templates"

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

_environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,
)


@dataclass(frozen=True, slots=True)
class Asset:
    """A static file, with a URL that changes whenever its content does."""

    name: str
    body: bytes
    media_type: str

    @property
    def digest(self) -> str:
        """A short content hash."""
        return hashlib.sha256(self.body).hexdigest()[:12]

    @property
    def url(self) -> str:
        """Where the pages link it."""
        stem, _, suffix = self.name.rpartition(".")
        return f"/status/assets/{stem}.{self.digest}.{suffix}"


def _asset(name: str, media_type: str) -> Asset:
    return Asset(name, (TEMPLATES / name).read_bytes(), media_type)


ASSETS = MappingProxyType(
    {
        asset.url.rsplit("/", 1)[1]: asset
        for asset in (
            _asset("status.css", "text/css; charset=utf-8"),
            _asset("status.js", "text/javascript; charset=utf-8"),
        )
    }
)
_URLS = {asset.name: asset.url for asset in ASSETS.values()}
_environment.globals["asset_url"] = _URLS.__getitem__
_environment.filters["percent"] = percent


def render(template: str, **context: Any) -> bytes:
    """Render `template` with `context`, UTF-8 encoded."""
    return _environment.get_template(template).render(**context).encode()


@dataclass(frozen=True, slots=True)
class DayFragments:
    """Days of the 90-day bar rendered once: the bar's items and the table's rows."""

    bar: Markup
    table: Markup


def render_days(cells: Sequence[DayCell]) -> DayFragments:
    """Render `cells` (oldest first) as bar items, oldest first, and table rows, newest first."""
    days = _environment.get_template("days.html").module
    bar_item, table_row = days.bar_item, days.table_row  # type: ignore[attr-defined]
    return DayFragments(
        bar=Markup("").join(bar_item(cell) for cell in cells),
        table=Markup("").join(table_row(cell) for cell in reversed(cells)),
    )
