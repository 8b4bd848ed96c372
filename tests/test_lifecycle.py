from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenantstatus.lifecycle import (
    RULES,
    Activity,
    InvalidOperation,
    Operation,
    OperationRequest,
    Outcome,
    Tenant,
    TransitionRefused,
    allowed_operations,
    apply,
)
from tenantstatus.model import ChangeType, TenantState

S = TenantState
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
CTX = "Cust1"


def provisioned(state: TenantState = S.Running) -> Tenant:
    request = OperationRequest(
        Operation.PROVISION,
        endpoint="https://sod2.example.com/Cust1",
        state=state,
        version_name="R1",
        file_version="1.0",
        version_document={"NetServerLabel": "R1"},
    )
    return apply(CTX, None, request, now=NOW).tenant


def run(tenant: Tenant, operation: Operation, **params: object) -> Tenant:
    return apply(CTX, tenant, OperationRequest(operation, **params), now=NOW).tenant  # type: ignore[arg-type]


def test_provision_starts_in_provisioning_by_default() -> None:
    outcome = apply(
        CTX, None, OperationRequest(Operation.PROVISION, endpoint="https://h/x/"), now=NOW
    )
    assert outcome.tenant.state is S.Provisioning
    assert outcome.tenant.endpoint == "https://h/x"
    assert outcome.announces is None and outcome.from_state is None


def test_upgrade_announces_before_going_offline() -> None:
    outcome = apply(
        CTX,
        provisioned(),
        OperationRequest(
            Operation.UPGRADE,
            version_name="R2",
            file_version="2.0",
            version_document={"NetServerLabel": "R2"},
        ),
        now=NOW,
    )
    assert outcome.announces is ChangeType.Upgrade
    assert outcome.tenant.state is S.OfflineMaintenance
    assert outcome.tenant.activity is Activity.UPGRADING
    # The new version applies only when the upgrade is done.
    assert outcome.tenant.version_name == "R1"


def test_upgrade_done_applies_the_new_version_and_announces_resume() -> None:
    upgrading = run(
        provisioned(),
        Operation.UPGRADE,
        version_name="R2",
        file_version="2.0",
        version_document={"NetServerLabel": "R2"},
    )
    outcome = apply(CTX, upgrading, OperationRequest(Operation.UPGRADE_DONE), now=NOW)
    assert outcome.announces is ChangeType.Resume
    assert outcome.tenant.state is S.Running
    assert (outcome.tenant.version_name, outcome.tenant.file_version) == ("R2", "2.0")
    assert outcome.tenant.release_label == "R2"
    assert outcome.tenant.pending_version_name is None


def test_upgrade_needs_the_new_version() -> None:
    with pytest.raises(InvalidOperation, match="VersionName"):
        run(provisioned(), Operation.UPGRADE)


def test_refusal_names_the_current_state_and_the_allowed_operations() -> None:
    suspended = run(provisioned(), Operation.SUSPEND)
    with pytest.raises(TransitionRefused) as refused:
        run(suspended, Operation.UPGRADE, version_name="R2", file_version="2")
    assert refused.value.current is S.Suspended
    assert Operation.RESUME in refused.value.allowed
    assert Operation.UPGRADE not in refused.value.allowed


def test_upgrade_done_is_refused_after_plain_offline_maintenance() -> None:
    offline = run(provisioned(), Operation.MAINTENANCE_OFFLINE)
    with pytest.raises(TransitionRefused, match="no upgrade"):
        run(offline, Operation.UPGRADE_DONE)
    assert run(offline, Operation.MAINTENANCE_DONE).state is S.Running


def test_restore_done_announces_backup_restored() -> None:
    restoring = run(run(provisioned(), Operation.SUSPEND), Operation.RESTORE)
    outcome = apply(CTX, restoring, OperationRequest(Operation.RESTORE_DONE), now=NOW)
    assert (outcome.tenant.state, outcome.announces) == (S.Running, ChangeType.BackupRestored)


def test_move_changes_only_the_endpoint_and_announces_move() -> None:
    before = provisioned()
    outcome = apply(
        CTX,
        before,
        OperationRequest(Operation.MOVE, endpoint="https://sod3.example.com/Cust1"),
        now=NOW,
    )
    assert outcome.announces is ChangeType.Move
    assert outcome.tenant.state is before.state
    assert outcome.tenant.endpoint == "https://sod3.example.com/Cust1"
    assert outcome.tenant.api == "https://sod3.example.com/Cust1/api"


@pytest.mark.parametrize("endpoint", ["sod3.example.com", "ftp://x/y", "https://x/y?q=1", ""])
def test_move_refuses_endpoints_that_are_not_urls(endpoint: str) -> None:
    with pytest.raises(InvalidOperation):
        run(provisioned(), Operation.MOVE, endpoint=endpoint)


def test_incident_remembers_and_restores_the_state_before() -> None:
    upgrading = run(provisioned(), Operation.UPGRADE, version_name="R2", file_version="2")
    incident = run(upgrading, Operation.INCIDENT)
    assert incident.state is S.Unknown
    recovered = run(incident, Operation.INCIDENT_DONE)
    assert recovered.state is S.OfflineMaintenance
    assert recovered.activity is Activity.UPGRADING
    assert run(recovered, Operation.UPGRADE_DONE).version_name == "R2"


def test_delete_retry_after_failure_does_not_announce_again() -> None:
    failed = run(run(provisioned(), Operation.DELETE), Operation.DELETE_FAILED)
    outcome = apply(CTX, failed, OperationRequest(Operation.DELETE), now=NOW)
    assert outcome.tenant.state is S.Deleting and outcome.announces is None


def test_provision_of_an_existing_tenant_is_refused() -> None:
    with pytest.raises(TransitionRefused, match="already exists"):
        apply(
            CTX,
            provisioned(),
            OperationRequest(Operation.PROVISION, endpoint="https://h/x"),
            now=NOW,
        )


def test_state_since_changes_only_with_the_state() -> None:
    tenant = provisioned()
    later = NOW + timedelta(hours=1)
    moved = apply(
        CTX, tenant, OperationRequest(Operation.MOVE, endpoint="https://b/x"), now=later
    ).tenant
    assert moved.state_since == NOW
    suspended = apply(CTX, moved, OperationRequest(Operation.SUSPEND), now=later).tenant
    assert suspended.state_since == later


def test_every_operation_has_a_rule() -> None:
    assert set(RULES) | {Operation.PROVISION} == set(Operation)


ANNOUNCING = {
    Operation.UPGRADE: ChangeType.Upgrade,
    Operation.UPGRADE_DONE: ChangeType.Resume,
    Operation.RESTORE_DONE: ChangeType.BackupRestored,
    Operation.SUSPEND: ChangeType.Suspend,
    Operation.RESUME: ChangeType.Resume,
    Operation.DELETE: ChangeType.Delete,
    Operation.MOVE: ChangeType.Move,
}


def _request(operation: Operation, n: int) -> OperationRequest:
    return OperationRequest(
        operation,
        endpoint=f"https://sod{n}.example.com/Cust1",
        version_name=f"R{n}",
        file_version=f"{n}.0",
    )


@settings(max_examples=300)
@given(
    st.sampled_from(
        [s for s in TenantState if s not in (S.Deleted, S.Deleting, S.DeleteFailed, S.Unknown)]
    ),
    st.lists(st.tuples(st.sampled_from(list(Operation)), st.integers(0, 99)), max_size=40),
)
def test_random_operation_sequences_keep_the_lifecycle_rules(
    start: TenantState, steps: list[tuple[Operation, int]]
) -> None:
    tenant = provisioned(start)
    for operation, n in steps:
        allowed = allowed_operations(tenant)
        try:
            outcome = apply(CTX, tenant, _request(operation, n), now=NOW)
        except TransitionRefused as refused:
            assert operation not in allowed or operation is Operation.PROVISION
            assert refused.current is tenant.state
            continue
        except InvalidOperation:
            continue  # e.g. a move to the endpoint it already has
        assert operation in allowed
        if tenant.state is S.Deleted:
            pytest.fail("Deleted must be terminal")
        new = outcome.tenant
        assert isinstance(new.state, TenantState)
        assert new.state.is_running == (new.state in (S.Running, S.OnlineMaintenance))
        assert outcome.announces in (ANNOUNCING.get(operation), None)
        _check_announcement(outcome, n)
        if outcome.announces is None and operation in ANNOUNCING:
            assert operation is Operation.DELETE and tenant.state is S.DeleteFailed
        if new.pending_version_name is not None:
            assert new.activity is Activity.UPGRADING
        if new.state_before_incident is not None:
            assert new.state is S.Unknown
        tenant = new
    if tenant.state is S.Deleted:
        assert allowed_operations(tenant) == ()


def _check_announcement(outcome: Outcome, n: int) -> None:
    """The notification's content follows from the tenant as the operation left it."""
    announcement, new = outcome.announcement, outcome.tenant
    if announcement is None:
        return
    if announcement.change_type is ChangeType.Upgrade:
        # The version it goes to, not the one it runs: that applies at upgrade-done.
        assert (announcement.version_name, announcement.file_version) == (f"R{n}", f"{n}.0")
        assert new.version_name != announcement.version_name or new.pending_version_name
    else:
        assert (announcement.version_name, announcement.file_version) == (
            new.version_name,
            new.file_version,
        )
    if announcement.change_type is ChangeType.Move:
        assert announcement.public_endpoint == f"sod{n}.example.com"
    else:
        assert announcement.public_endpoint is None


@given(
    st.sampled_from(["https", "http"]),
    st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z][a-z0-9-]{0,20}){0,3}", fullmatch=True),
    st.one_of(st.none(), st.integers(1, 65535)),
    st.from_regex(r"(/[A-Za-z0-9_-]{1,10}){0,3}", fullmatch=True),
)
def test_move_announces_the_bare_host_it_moved_to(
    scheme: str, host: str, port: int | None, path: str
) -> None:
    netloc = host if port is None else f"{host}:{port}"
    endpoint = f"{scheme}://{netloc}{path}"
    tenant = provisioned()
    if endpoint.rstrip("/") == tenant.endpoint:
        return
    outcome = apply(CTX, tenant, OperationRequest(Operation.MOVE, endpoint=endpoint), now=NOW)
    assert outcome.announcement is not None
    assert outcome.announcement.public_endpoint == netloc
    assert outcome.announcement.change_type is ChangeType.Move
