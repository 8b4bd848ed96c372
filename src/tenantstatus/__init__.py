"""tenantstatus: tenant lifecycle state for multi-tenant SaaS platforms.

The wire model lives here; the vendor SDK is `tenantstatus.client`, the service
`tenantstatus.service` (installed with the `server` extra).
"""

from __future__ import annotations

from tenantstatus.__about__ import __version__
from tenantstatus.model import (
    ChangeType,
    StateChangeNotification,
    TenantState,
    TenantStatus,
    VersionInfo,
    WireFormatError,
)

__all__ = [
    "ChangeType",
    "StateChangeNotification",
    "TenantState",
    "TenantStatus",
    "VersionInfo",
    "WireFormatError",
    "__version__",
]
