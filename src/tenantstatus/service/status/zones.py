"""The reader's time zone: UTC on the wire, the reader's own zone on the page.

The page is rendered in the zone named by the `tz` query parameter, else by the
`tz` cookie (which the page's script sets from the browser), else in UTC, so it
reads correctly without JavaScript.

    >>> ReaderZone.choose("Europe/Oslo", None).name
    'Europe/Oslo'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from urllib.parse import unquote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tenantstatus.model import format_instant

__all__ = ["Moment", "ReaderZone", "format_clock", "format_moment"]

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+){0,2}")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True, slots=True)
class ReaderZone:
    """An IANA time zone the page is shown in."""

    name: str
    tz: tzinfo

    @classmethod
    def utc(cls) -> ReaderZone:
        """UTC, the default."""
        return cls("UTC", UTC)

    @classmethod
    def parse(cls, name: str | None) -> ReaderZone | None:
        """The zone called `name`, or None when there is no such zone."""
        if not name or len(name) > 64 or _NAME.fullmatch(name) is None:
            return None
        if name in ("UTC", "Etc/UTC"):
            return cls.utc()
        try:
            return cls(name, ZoneInfo(name))
        except (ZoneInfoNotFoundError, ValueError, OSError):
            return None

    @classmethod
    def choose(cls, query: str | None, cookie: str | None) -> ReaderZone:
        """The zone from the query, else from the cookie (URL-encoded), else UTC."""
        from_cookie = None if cookie is None else cls.parse(unquote(cookie))
        return cls.parse(query) or from_cookie or cls.utc()

    def abbreviation(self, instant: datetime) -> str:
        """The zone's abbreviation at `instant`, e.g. CET or CEST."""
        return instant.astimezone(self.tz).tzname() or self.name


def format_moment(instant: datetime, zone: ReaderZone, *, seconds: bool = False) -> str:
    """`Wed 25 Nov 2026, 22:04 CET`: an instant as a person reads it in `zone`."""
    local = instant.astimezone(zone.tz)
    clock = f"{local:%H:%M:%S}" if seconds else f"{local:%H:%M}"
    return (
        f"{_WEEKDAYS[local.weekday()]} {local.day} {_MONTHS[local.month - 1]} {local.year}, "
        f"{clock} {local.tzname() or zone.name}"
    )


def format_clock(instant: datetime, zone: ReaderZone) -> str:
    """`22:04 CET`: the time of day of an instant in `zone`."""
    local = instant.astimezone(zone.tz)
    return f"{local:%H:%M} {local.tzname() or zone.name}"


@dataclass(frozen=True, slots=True)
class Moment:
    """An instant: UTC for machines (`iso`), the reader's zone for people (`text`)."""

    instant: datetime
    zone: ReaderZone

    @property
    def iso(self) -> str:
        """ISO 8601 in UTC with a Z, for `<time datetime>`."""
        return format_instant(self.instant)[:19] + "Z"

    @property
    def text(self) -> str:
        """The instant in the reader's zone."""
        return format_moment(self.instant, self.zone)
