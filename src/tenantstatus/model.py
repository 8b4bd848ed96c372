"""The wire contract: tenant states, change types and the documents both halves exchange.

Every PascalCase wire name lives in this module and nowhere else. Parsing is
tolerant (unknown state names, unknown change types and extra keys are kept, not
refused); serialising is exact (key order and spelling as the spec writes them).

    >>> status = TenantStatus.from_json(body)
    >>> status.is_running, status.endpoint
    (True, 'https://online2.superoffice.com/Cust12345')
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = [
    "CONTEXT_IDENTIFIER_PATTERN",
    "TEST_CONTEXT_IDENTIFIER",
    "URL_TEXT_PATTERN",
    "ChangeType",
    "StateChangeNotification",
    "TenantState",
    "TenantStatus",
    "VersionInfo",
    "WireFormatError",
    "format_instant",
    "is_url_text",
    "is_valid_context_identifier",
    "parse_instant",
]

CONTEXT_IDENTIFIER_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
#: The tenant of a test notification sent without one: valid on the wire, never a real
#: tenant (the platform's are `Cust` + digits, and this service refuses to create it).
TEST_CONTEXT_IDENTIFIER = "tenantstatus-test"

# What a URL may carry unencoded (RFC 3986: unreserved and reserved characters) and
# %XX escapes. A space, quote or angle bracket must arrive percent-encoded, so a URL
# that passes can be written into JSON, HTML or a header as it is.
URL_TEXT_PATTERN = re.compile(r"(?:[A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=-]|%[0-9A-Fa-f]{2})+")


class WireFormatError(ValueError):
    """A document does not have the shape the wire contract requires."""


def is_valid_context_identifier(value: str) -> bool:
    """True when `value` matches the spec's ContextIdentifier pattern."""
    return CONTEXT_IDENTIFIER_PATTERN.fullmatch(value) is not None


def is_url_text(value: str) -> bool:
    """True when `value` holds only characters a URL carries unencoded (see URL_TEXT_PATTERN)."""
    return URL_TEXT_PATTERN.fullmatch(value) is not None


class TenantState(enum.IntEnum):
    """The lifecycle state of a tenant, with the platform's numeric codes."""

    Unknown = 0
    Provisioning = 1
    Running = 2
    Deleted = 3
    Suspended = 4
    OnlineMaintenance = 5
    OfflineMaintenance = 6
    ProvisioningFailed = 8
    Deleting = 10
    DeleteFailed = 11
    MigrationPending = 12

    @property
    def is_running(self) -> bool:
        """True exactly for the states in which the tenant's API is usable."""
        return self in _RUNNING_STATES

    @classmethod
    def from_name(cls, name: str) -> TenantState | None:
        """The state with this wire name, or None for a name this version does not know."""
        return cls.__members__.get(name)


_RUNNING_STATES = frozenset({TenantState.Running, TenantState.OnlineMaintenance})


class ChangeType(enum.IntEnum):
    """What a state change notification announces."""

    Upgrade = 0
    BackupRestored = 1
    Suspend = 2
    Resume = 3
    Delete = 4
    Move = 5


# --- instants -------------------------------------------------------------------------

_INSTANT_PATTERN = re.compile(
    r"(?P<base>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(?P<fraction>\d{1,7}))?"
    r"(?P<zone>Z|[+-]\d{2}:\d{2})"
)


def format_instant(instant: datetime, *, ticks: int = 0) -> str:
    """Format a UTC instant as .NET's round-trip format: 7 fractional digits and `Z`.

    `ticks` is the seventh digit (hundreds of nanoseconds), which `datetime` cannot hold.
    """
    if instant.tzinfo is None:
        raise ValueError("instants on the wire are timezone-aware")
    utc = instant.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond:06d}{ticks}Z"


def parse_instant_with_ticks(text: str) -> tuple[datetime, int]:
    """Parse an ISO-8601 instant; return it and its seventh fractional digit."""
    match = _INSTANT_PATTERN.fullmatch(text.strip())
    if match is None:
        raise WireFormatError(f"not an ISO-8601 instant with a zone: {text!r}")
    fraction = (match["fraction"] or "").ljust(7, "0")
    zone = "+00:00" if match["zone"] == "Z" else match["zone"]
    try:
        base = datetime.fromisoformat(match["base"] + zone)
    except ValueError as exc:
        raise WireFormatError(f"not a valid instant: {text!r}") from exc
    instant = base.astimezone(UTC) + timedelta(microseconds=int(fraction[:6]))
    return instant, int(fraction[6])


def parse_instant(text: str) -> datetime:
    """Parse an ISO-8601 instant (any zone, up to 7 fractional digits) to an aware UTC datetime."""
    return parse_instant_with_ticks(text)[0]


# --- documents ------------------------------------------------------------------------


def _load_object(data: bytes | str | Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(data, Mapping):
        return data
    try:
        loaded = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise WireFormatError(f"not JSON: {exc}") from exc
    if not isinstance(loaded, dict):
        raise WireFormatError("expected a JSON object")
    return loaded


def _require_str(document: Mapping[str, Any], key: str) -> str:
    value = document.get(key)
    if not isinstance(value, str):
        raise WireFormatError(f"{key} must be a string")
    return value


def _optional_str(document: Mapping[str, Any], key: str) -> str | None:
    value = document.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise WireFormatError(f"{key} must be a string")
    return value


def _dumps(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


_STATUS_KEYS = frozenset(
    {"ContextIdentifier", "Endpoint", "State", "IsRunning", "ValidUntil", "Api", "Version"}
)


@dataclass(frozen=True, slots=True)
class TenantStatus:
    """The state API's answer for one tenant (spec section 1).

    `state` is None when the wire carried a state name this version does not know;
    `state_name` always keeps the raw name.
    """

    context_identifier: str
    endpoint: str
    state_name: str
    is_running: bool
    valid_until: datetime
    api: str
    version: str | None = None
    valid_until_ticks: int = 0
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def state(self) -> TenantState | None:
        """The known state, or None when the name is new to this version."""
        return TenantState.from_name(self.state_name)

    @classmethod
    def from_json(cls, data: bytes | str | Mapping[str, Any]) -> TenantStatus:
        """Parse a state answer; unknown keys are kept in `extra`."""
        document = _load_object(data)
        is_running = document.get("IsRunning")
        if not isinstance(is_running, bool):
            raise WireFormatError("IsRunning must be a boolean")
        valid_until, ticks = parse_instant_with_ticks(_require_str(document, "ValidUntil"))
        return cls(
            context_identifier=_require_str(document, "ContextIdentifier"),
            endpoint=_require_str(document, "Endpoint"),
            state_name=_require_str(document, "State"),
            is_running=is_running,
            valid_until=valid_until,
            api=_require_str(document, "Api"),
            version=_optional_str(document, "Version"),
            valid_until_ticks=ticks,
            extra={k: v for k, v in document.items() if k not in _STATUS_KEYS},
        )

    def to_wire(self) -> dict[str, Any]:
        """The answer as a dict in the spec's key order."""
        document: dict[str, Any] = {
            "ContextIdentifier": self.context_identifier,
            "Endpoint": self.endpoint,
            "State": self.state_name,
            "IsRunning": self.is_running,
            "ValidUntil": format_instant(self.valid_until, ticks=self.valid_until_ticks),
            "Api": self.api,
        }
        if self.version is not None:
            document["Version"] = self.version
        document.update(self.extra)
        return document

    def to_json(self) -> bytes:
        """Compact JSON, byte for byte as the service sends it."""
        return _dumps(self.to_wire())


@dataclass(frozen=True, slots=True)
class VersionInfo:
    """The tenant installation's API version document (spec section 2): an open map of strings."""

    fields: Mapping[str, str]

    @property
    def v1(self) -> str | None:
        """The base URL of the installation's v1 API."""
        return self.fields.get("v1")

    @property
    def net_server_label(self) -> str | None:
        """The release label; the state answer's `Version` equals it."""
        return self.fields.get("NetServerLabel")

    @classmethod
    def from_json(cls, data: bytes | str | Mapping[str, Any]) -> VersionInfo:
        """Parse a version document; every value must be a string."""
        document = _load_object(data)
        if not all(isinstance(v, str) for v in document.values()):
            raise WireFormatError("every value of the version document must be a string")
        return cls(fields=dict(document))

    def to_json(self) -> bytes:
        """Compact JSON in the document's own key order."""
        return _dumps(self.fields)


_NOTIFICATION_KEYS = frozenset(
    {"ChangeType", "ContextIdentifier", "VersionName", "FileVersion", "Token", "PublicEndpoint"}
)


@dataclass(frozen=True, slots=True)
class StateChangeNotification:
    """A push notification (spec section 3).

    `change_type` is the raw integer; `known_change_type` maps it to `ChangeType`
    when this version knows it.
    """

    change_type: int
    context_identifier: str
    version_name: str
    file_version: str
    token: str
    public_endpoint: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def known_change_type(self) -> ChangeType | None:
        """The change type, or None for a code this version does not know."""
        try:
            return ChangeType(self.change_type)
        except ValueError:
            return None

    @classmethod
    def from_json(cls, data: bytes | str | Mapping[str, Any]) -> StateChangeNotification:
        """Parse a notification body; unknown keys are kept in `extra`."""
        document = _load_object(data)
        change_type = document.get("ChangeType")
        if not isinstance(change_type, int) or isinstance(change_type, bool):
            raise WireFormatError("ChangeType must be an integer")
        return cls(
            change_type=change_type,
            context_identifier=_require_str(document, "ContextIdentifier"),
            version_name=_optional_str(document, "VersionName") or "",
            file_version=_optional_str(document, "FileVersion") or "",
            token=_require_str(document, "Token"),
            public_endpoint=_optional_str(document, "PublicEndpoint"),
            extra={k: v for k, v in document.items() if k not in _NOTIFICATION_KEYS},
        )

    def to_wire(self) -> dict[str, Any]:
        """The notification as a dict in the spec's key order."""
        document: dict[str, Any] = {
            "ChangeType": self.change_type,
            "ContextIdentifier": self.context_identifier,
            "VersionName": self.version_name,
            "FileVersion": self.file_version,
            "Token": self.token,
        }
        if self.public_endpoint is not None:
            document["PublicEndpoint"] = self.public_endpoint
        document.update(self.extra)
        return document

    def to_json(self) -> bytes:
        """Compact JSON, byte for byte as the service sends it."""
        return _dumps(self.to_wire())
