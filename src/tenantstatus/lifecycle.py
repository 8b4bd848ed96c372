"""Tenant lifecycle: which operation may run from which state, and what it announces.

One table (`RULES`), no I/O. `apply` takes the tenant as it is, an operation and the
current instant, and returns the tenant as it becomes plus the `Announcement` to make:
the ChangeType, and the version and address the notification carries.

    >>> outcome = apply(tenant, OperationRequest(Operation.SUSPEND), now=now)
    >>> outcome.tenant.state, outcome.announces
    (<TenantState.Suspended: 4>, <ChangeType.Suspend: 2>)
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import MappingProxyType
from urllib.parse import urlsplit

from tenantstatus.model import ChangeType, TenantState, is_url_text

__all__ = [
    "RULES",
    "Activity",
    "Announcement",
    "InvalidOperation",
    "Operation",
    "OperationRequest",
    "Outcome",
    "Tenant",
    "TransitionRefused",
    "allowed_operations",
    "apply",
    "validate_endpoint",
]

S = TenantState


class Operation(enum.StrEnum):
    """The operations an operator can run on a tenant; the values are the API and CLI names."""

    PROVISION = "provision"
    PROVISION_DONE = "provision-done"
    PROVISION_FAILED = "provision-failed"
    PROVISION_RETRY = "provision-retry"
    UPGRADE = "upgrade"
    UPGRADE_DONE = "upgrade-done"
    RESTORE = "restore"
    RESTORE_DONE = "restore-done"
    SUSPEND = "suspend"
    RESUME = "resume"
    DELETE = "delete"
    DELETE_DONE = "delete-done"
    DELETE_FAILED = "delete-failed"
    MAINTENANCE_ONLINE = "maintenance-online"
    MAINTENANCE_OFFLINE = "maintenance-offline"
    MAINTENANCE_DONE = "maintenance-done"
    MIGRATION_PENDING = "migration-pending"
    MIGRATION_DONE = "migration-done"
    MOVE = "move"
    SET_VERSION = "set-version"
    INCIDENT = "incident"
    INCIDENT_DONE = "incident-done"


class Activity(enum.StrEnum):
    """Why a tenant is in a state that several operations share (OfflineMaintenance, Unknown)."""

    UPGRADING = "upgrading"
    RESTORING = "restoring"
    MAINTENANCE = "maintenance"


def api_of(endpoint: str) -> str:
    """`Api` of the state answer: the Endpoint + `/api`, as on the platform."""
    return endpoint.rstrip("/") + "/api"


@dataclass(frozen=True, slots=True)
class Tenant:
    """A tenant as the service keeps it."""

    context_identifier: str
    endpoint: str
    state: TenantState
    state_since: datetime
    created_at: datetime
    version_name: str = ""
    file_version: str = ""
    version_document: Mapping[str, str] = field(default_factory=dict)
    activity: Activity | None = None
    # Kept while an upgrade runs, applied by upgrade-done.
    pending_version_name: str | None = None
    pending_file_version: str | None = None
    pending_version_document: Mapping[str, str] | None = None
    # Kept while an incident lasts, restored by incident-done.
    state_before_incident: TenantState | None = None

    @property
    def api(self) -> str:
        """The URL of the installation's API version document."""
        return api_of(self.endpoint)

    @property
    def release_label(self) -> str | None:
        """The `Version` of the state answer: the version document's NetServerLabel."""
        return self.version_document.get("NetServerLabel") or None


@dataclass(frozen=True, slots=True)
class OperationRequest:
    """An operation with its parameters. Which parameters apply depends on the operation."""

    operation: Operation
    endpoint: str | None = None
    state: TenantState | None = None
    version_name: str | None = None
    file_version: str | None = None
    version_document: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Announcement:
    """What a committed operation tells the applications: a notification's content."""

    change_type: ChangeType
    version_name: str
    file_version: str
    # Move only: the bare host the tenant moved to, as the wire contract's PublicEndpoint.
    public_endpoint: str | None = None

    @classmethod
    def of(cls, change_type: ChangeType, tenant: Tenant) -> Announcement:
        """The announcement of `change_type` for the tenant as the operation left it.

        An Upgrade names the version it goes to, which applies only when it is done.
        """
        if change_type is ChangeType.Upgrade and tenant.pending_version_name is not None:
            version_name = tenant.pending_version_name
            file_version = tenant.pending_file_version or ""
        else:
            version_name, file_version = tenant.version_name, tenant.file_version
        public_endpoint = _host_of(tenant.endpoint) if change_type is ChangeType.Move else None
        return cls(change_type, version_name, file_version, public_endpoint)


def _host_of(endpoint: str) -> str:
    """The bare host of an Endpoint: no scheme, no credentials, no path."""
    return urlsplit(endpoint).netloc.rsplit("@", 1)[-1]


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of an allowed operation."""

    operation: Operation
    before: Tenant | None
    tenant: Tenant
    announcement: Announcement | None

    @property
    def announces(self) -> ChangeType | None:
        """The ChangeType announced, if any."""
        return None if self.announcement is None else self.announcement.change_type

    @property
    def from_state(self) -> TenantState | None:
        """The state before the operation (None when it created the tenant)."""
        return None if self.before is None else self.before.state


class TransitionRefused(Exception):
    """The operation is not allowed from the tenant's current state."""

    def __init__(
        self,
        context_identifier: str,
        operation: Operation,
        current: TenantState | None,
        allowed: tuple[Operation, ...],
        reason: str,
    ) -> None:
        self.context_identifier = context_identifier
        self.operation = operation
        self.current = current
        self.allowed = allowed
        self.reason = reason
        super().__init__(reason)


class InvalidOperation(ValueError):
    """The operation's parameters are missing or malformed."""


# --- the table ------------------------------------------------------------------------

_Guard = Callable[[Tenant], bool]
_Effect = Callable[[Tenant, OperationRequest], Tenant]


@dataclass(frozen=True, slots=True)
class Rule:
    """One row of the lifecycle table."""

    sources: frozenset[TenantState]
    target: TenantState | None  # None: the state does not change
    announces: ChangeType | None = None
    guard: _Guard | None = None
    guard_text: str = ""
    effect: _Effect | None = None


def _activity(activity: Activity) -> _Guard:
    return lambda tenant: tenant.activity is activity


def _not_activity(*activities: Activity) -> _Guard:
    return lambda tenant: tenant.activity not in activities


def _start_upgrade(tenant: Tenant, request: OperationRequest) -> Tenant:
    if not request.version_name or not request.file_version:
        raise InvalidOperation("upgrade needs the new VersionName and FileVersion")
    return replace(
        tenant,
        activity=Activity.UPGRADING,
        pending_version_name=request.version_name,
        pending_file_version=request.file_version,
        pending_version_document=dict(request.version_document or tenant.version_document),
    )


def _finish_upgrade(tenant: Tenant, request: OperationRequest) -> Tenant:
    return replace(
        tenant,
        version_name=tenant.pending_version_name or tenant.version_name,
        file_version=tenant.pending_file_version or tenant.file_version,
        version_document=tenant.pending_version_document or tenant.version_document,
    )


def _set_version(tenant: Tenant, request: OperationRequest) -> Tenant:
    if (
        request.version_name is None
        and request.file_version is None
        and (request.version_document is None)
    ):
        raise InvalidOperation("set-version needs a VersionName, a FileVersion or a document")
    return replace(
        tenant,
        version_name=tenant.version_name if request.version_name is None else request.version_name,
        file_version=tenant.file_version if request.file_version is None else request.file_version,
        version_document=dict(request.version_document)
        if request.version_document is not None
        else tenant.version_document,
    )


def _move(tenant: Tenant, request: OperationRequest) -> Tenant:
    if request.endpoint is None:
        raise InvalidOperation("move needs the new Endpoint")
    endpoint = validate_endpoint(request.endpoint)
    if endpoint == tenant.endpoint:
        raise InvalidOperation(f"the tenant is already at {endpoint}")
    return replace(tenant, endpoint=endpoint)


def _with_activity(activity: Activity) -> _Effect:
    return lambda tenant, request: replace(tenant, activity=activity)


def _begin_incident(tenant: Tenant, request: OperationRequest) -> Tenant:
    return replace(tenant, state_before_incident=tenant.state)


def _in_incident(tenant: Tenant) -> bool:
    return tenant.state_before_incident is not None


ALL_BUT_DELETED = frozenset(TenantState) - {S.Deleted}
_IN_SERVICE = frozenset({S.Running, S.OnlineMaintenance})

RULES: Mapping[Operation, Rule] = MappingProxyType(
    {
        Operation.PROVISION_DONE: Rule(frozenset({S.Provisioning}), S.Running),
        Operation.PROVISION_FAILED: Rule(frozenset({S.Provisioning}), S.ProvisioningFailed),
        Operation.PROVISION_RETRY: Rule(frozenset({S.ProvisioningFailed}), S.Provisioning),
        Operation.UPGRADE: Rule(
            _IN_SERVICE, S.OfflineMaintenance, ChangeType.Upgrade, effect=_start_upgrade
        ),
        Operation.UPGRADE_DONE: Rule(
            frozenset({S.OfflineMaintenance}),
            S.Running,
            ChangeType.Resume,
            guard=_activity(Activity.UPGRADING),
            guard_text="no upgrade is under way",
            effect=_finish_upgrade,
        ),
        Operation.RESTORE: Rule(
            _IN_SERVICE | {S.OfflineMaintenance, S.Suspended},
            S.OfflineMaintenance,
            guard=_not_activity(Activity.RESTORING),
            guard_text="a restore is already under way",
            effect=_with_activity(Activity.RESTORING),
        ),
        Operation.RESTORE_DONE: Rule(
            frozenset({S.OfflineMaintenance}),
            S.Running,
            ChangeType.BackupRestored,
            guard=_activity(Activity.RESTORING),
            guard_text="no restore is under way",
        ),
        Operation.SUSPEND: Rule(_IN_SERVICE, S.Suspended, ChangeType.Suspend),
        Operation.RESUME: Rule(
            frozenset({S.Suspended, S.OfflineMaintenance}), S.Running, ChangeType.Resume
        ),
        Operation.DELETE: Rule(ALL_BUT_DELETED - {S.Deleting}, S.Deleting, ChangeType.Delete),
        Operation.DELETE_DONE: Rule(frozenset({S.Deleting, S.DeleteFailed}), S.Deleted),
        Operation.DELETE_FAILED: Rule(frozenset({S.Deleting}), S.DeleteFailed),
        Operation.MAINTENANCE_ONLINE: Rule(frozenset({S.Running}), S.OnlineMaintenance),
        Operation.MAINTENANCE_OFFLINE: Rule(
            _IN_SERVICE, S.OfflineMaintenance, effect=_with_activity(Activity.MAINTENANCE)
        ),
        Operation.MAINTENANCE_DONE: Rule(
            frozenset({S.OnlineMaintenance, S.OfflineMaintenance}),
            S.Running,
            guard=_not_activity(Activity.UPGRADING, Activity.RESTORING),
            guard_text="an upgrade or restore is under way; finish it with its own -done",
        ),
        Operation.MIGRATION_PENDING: Rule(
            frozenset({S.Provisioning, S.Running}), S.MigrationPending
        ),
        Operation.MIGRATION_DONE: Rule(frozenset({S.MigrationPending}), S.Running),
        Operation.MOVE: Rule(ALL_BUT_DELETED, None, ChangeType.Move, effect=_move),
        Operation.SET_VERSION: Rule(ALL_BUT_DELETED, None, effect=_set_version),
        Operation.INCIDENT: Rule(
            ALL_BUT_DELETED,
            S.Unknown,
            guard=lambda tenant: not _in_incident(tenant),
            guard_text="an incident is already open",
            effect=_begin_incident,
        ),
        Operation.INCIDENT_DONE: Rule(
            frozenset({S.Unknown}),
            None,
            guard=_in_incident,
            guard_text="no incident is open",
        ),
    }
)

# States a tenant may be created in; Deleted and the deletion states make no sense there.
PROVISIONABLE_STATES = frozenset(TenantState) - {
    S.Deleted,
    S.Deleting,
    S.DeleteFailed,
    S.Unknown,
}


def _permits(rule: Rule, tenant: Tenant) -> bool:
    return tenant.state in rule.sources and (rule.guard is None or rule.guard(tenant))


def allowed_operations(tenant: Tenant | None) -> tuple[Operation, ...]:
    """The operations allowed from the tenant's current state, in table order."""
    if tenant is None:
        return (Operation.PROVISION,)
    return tuple(op for op, rule in RULES.items() if _permits(rule, tenant))


def validate_endpoint(endpoint: str) -> str:
    """Check that `endpoint` is an absolute http(s) URL; return it without a trailing slash."""
    if not is_url_text(endpoint.strip()):
        raise InvalidOperation(
            f"Endpoint {endpoint[:200]!r} carries characters a URL must percent-encode "
            "(spaces, quotes, < >, non-ASCII); encode them"
        )
    parts = urlsplit(endpoint.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidOperation(f"Endpoint must be an absolute http(s) URL, got {endpoint!r}")
    if parts.query or parts.fragment:
        raise InvalidOperation("Endpoint must not carry a query or a fragment")
    return endpoint.strip().rstrip("/")


def _provision(context_identifier: str, request: OperationRequest, now: datetime) -> Tenant:
    if request.endpoint is None:
        raise InvalidOperation("provision needs an Endpoint")
    state = request.state or S.Provisioning
    if state not in PROVISIONABLE_STATES:
        raise InvalidOperation(f"a tenant cannot be created in state {state.name}")
    return Tenant(
        context_identifier=context_identifier,
        endpoint=validate_endpoint(request.endpoint),
        state=state,
        state_since=now,
        created_at=now,
        version_name=request.version_name or "",
        file_version=request.file_version or "",
        version_document=dict(request.version_document or {}),
        activity=Activity.MAINTENANCE if state is S.OfflineMaintenance else None,
    )


def _normalise(tenant: Tenant, new_state: TenantState) -> Tenant:
    """Drop the bookkeeping that the new state no longer needs."""
    incident_open = new_state is S.Unknown and tenant.state_before_incident is not None
    if not incident_open:
        tenant = replace(tenant, state_before_incident=None)
    if new_state is not S.OfflineMaintenance and not incident_open:
        tenant = replace(tenant, activity=None)
    if tenant.activity is not Activity.UPGRADING:
        tenant = replace(
            tenant,
            pending_version_name=None,
            pending_file_version=None,
            pending_version_document=None,
        )
    return tenant


def apply(
    context_identifier: str,
    tenant: Tenant | None,
    request: OperationRequest,
    *,
    now: datetime,
) -> Outcome:
    """Run one operation against the tenant as it is now.

    Raises `TransitionRefused` when the table forbids it and `InvalidOperation` when
    its parameters are wrong. The tenant passed in is never modified.
    """
    operation = request.operation
    if operation is Operation.PROVISION:
        if tenant is not None:
            raise TransitionRefused(
                context_identifier,
                operation,
                tenant.state,
                allowed_operations(tenant),
                f"tenant {context_identifier} already exists (state {tenant.state.name})",
            )
        return Outcome(operation, None, _provision(context_identifier, request, now), None)

    if tenant is None:
        raise TransitionRefused(
            context_identifier,
            operation,
            None,
            (Operation.PROVISION,),
            f"tenant {context_identifier} does not exist; provision it first",
        )

    rule = RULES[operation]
    if not _permits(rule, tenant):
        why = (
            rule.guard_text
            if tenant.state in rule.sources and rule.guard_text
            else f"{operation} is not allowed from {tenant.state.name}"
        )
        raise TransitionRefused(
            context_identifier, operation, tenant.state, allowed_operations(tenant), why
        )

    changed = rule.effect(tenant, request) if rule.effect is not None else tenant
    target = rule.target
    if operation is Operation.INCIDENT_DONE:
        target = tenant.state_before_incident or S.Unknown
    new_state = tenant.state if target is None else target
    changed = _normalise(changed, new_state)
    if new_state is not tenant.state:
        changed = replace(changed, state=new_state, state_since=now)
    if operation is Operation.DELETE and tenant.state is S.DeleteFailed:
        # Retrying a failed deletion: the applications were told when it first began.
        return Outcome(operation, tenant, changed, None)
    announcement = None if rule.announces is None else Announcement.of(rule.announces, changed)
    return Outcome(operation, tenant, changed, announcement)
