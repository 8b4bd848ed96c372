"""A tenant's row in `tenants`, read the same way by every store path."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from tenantstatus.lifecycle import Activity, Tenant
from tenantstatus.model import TenantState
from tenantstatus.store.schema import tenants

__all__ = ["select_tenant", "tenant_from_row"]


def select_tenant(context_identifier: str) -> sa.Select[Any]:
    """The query for one tenant's row."""
    return sa.select(tenants).where(tenants.c.context_identifier == context_identifier)


def tenant_from_row(row: sa.Row[Any]) -> Tenant:
    """The `Tenant` a row of `tenants` holds."""
    pending = json.loads(row.pending_version) if row.pending_version else None
    return Tenant(
        context_identifier=row.context_identifier,
        endpoint=row.endpoint,
        state=TenantState(row.state),
        state_since=row.state_since,
        created_at=row.created_at,
        version_name=row.version_name,
        file_version=row.file_version,
        version_document=json.loads(row.version_document),
        activity=None if row.activity is None else Activity(row.activity),
        pending_version_name=None if pending is None else pending["version_name"],
        pending_file_version=None if pending is None else pending["file_version"],
        pending_version_document=None if pending is None else pending["version_document"],
        state_before_incident=None
        if row.state_before_incident is None
        else TenantState(row.state_before_incident),
    )
