"""Push administration: applications, their tenants' approvals, deliveries and keys.

`ApplicationService` registers applications and keeps their secrets sealed. `routes`
is the operator and vendor API under `/admin/applications` and `/admin/deliveries`;
`key_routes` rotates the signing keys and `wellknown` publishes them.
"""

from __future__ import annotations

from tenantstatus.service.push.applications import ApplicationService, NewCredentials

__all__ = ["ApplicationService", "NewCredentials"]
