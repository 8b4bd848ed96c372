"""TenantGate and AsyncTenantGate against a real service and real tenant installations."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypedDict

import anyio
import pytest

from tenantstatus.client import (
    AsyncTenantGate,
    AsyncTenantStatusClient,
    TenantEvent,
    TenantEventKind,
    TenantGate,
    TenantMisdirected,
    TenantNotRunning,
    TenantStatusClient,
    TenantWaitTimeout,
)
from tenantstatus.model import ChangeType, StateChangeNotification, TenantState
from tests.client.conftest import Operator
from tests.client.installation import Installations
from tests.support.processes import ServiceProcess


def _news(
    ctx: str, change: ChangeType, public_endpoint: str | None = None
) -> StateChangeNotification:
    return StateChangeNotification(
        change_type=change,
        context_identifier=ctx,
        version_name="R2",
        file_version="2.0",
        token="verified-elsewhere",
        public_endpoint=public_endpoint,
    )


class Heard:
    """Collects the gate's callbacks."""

    def __init__(self) -> None:
        self.events: list[TenantEvent] = []

    def __call__(self, event: TenantEvent) -> None:
        self.events.append(event)

    def kinds(self) -> list[TenantEventKind]:
        return [event.kind for event in self.events]

    def callbacks(self) -> GateCallbacks:
        return {"on_pause": self, "on_resume": self, "on_move": self, "on_delete": self}


class GateCallbacks(TypedDict):
    """The gate's four callbacks, as keyword arguments."""

    on_pause: Callable[[TenantEvent], None]
    on_resume: Callable[[TenantEvent], None]
    on_move: Callable[[TenantEvent], None]
    on_delete: Callable[[TenantEvent], None]


def test_check_admits_a_running_tenant(service: ServiceProcess, operator: Operator) -> None:
    ctx = operator.add()
    with TenantStatusClient(service.url) as client:
        assert TenantGate(client).check(ctx).state is TenantState.Running


def test_check_refuses_a_suspended_tenant_saying_its_state_and_when_to_ask_again(
    service: ServiceProcess, operator: Operator
) -> None:
    ctx = operator.add()
    operator.operate(ctx, "suspend")
    with TenantStatusClient(service.url) as client, pytest.raises(TenantNotRunning) as caught:
        TenantGate(client).check(ctx)
    assert caught.value.context_identifier == ctx
    assert caught.value.state is TenantState.Suspended
    assert caught.value.retry_at == client.get_state(ctx).valid_until


def test_a_pause_notification_refuses_at_once_while_the_answer_is_still_fresh(
    service: ServiceProcess, operator: Operator
) -> None:
    ctx = operator.add()
    heard = Heard()
    with TenantStatusClient(service.url) as client:
        gate = TenantGate(client, **heard.callbacks())
        gate.check(ctx)
        gate.apply(_news(ctx, ChangeType.Upgrade))
        with pytest.raises(TenantNotRunning) as caught:
            gate.check(ctx)
    assert caught.value.state is TenantState.OfflineMaintenance
    assert heard.kinds() == [TenantEventKind.PAUSE]


def test_a_resume_notification_lets_the_tenant_through_again(
    service: ServiceProcess, operator: Operator
) -> None:
    ctx = operator.add()
    heard = Heard()
    with TenantStatusClient(service.url) as client:
        gate = TenantGate(client, **heard.callbacks())
        gate.check(ctx)
        gate.apply(_news(ctx, ChangeType.Suspend))
        gate.apply(_news(ctx, ChangeType.Resume))
        assert gate.check(ctx).is_running
    assert heard.kinds() == [TenantEventKind.PAUSE, TenantEventKind.RESUME]


def test_an_upgrade_pause_ends_when_the_state_api_shows_the_tenant_back(
    service: ServiceProcess, operator: Operator
) -> None:
    ctx = operator.add()
    heard = Heard()
    with TenantStatusClient(service.url) as client:
        gate = TenantGate(client, **heard.callbacks())
        gate.check(ctx)
        operator.operate(ctx, "upgrade", VersionName="R2", FileVersion="2.0")
        gate.apply(_news(ctx, ChangeType.Upgrade))
        with pytest.raises(TenantNotRunning):
            gate.check(ctx)  # re-pulled: OfflineMaintenance, seen down
        operator.operate(ctx, "upgrade-done")
        client.invalidate(ctx)  # no Resume notification: the next pull tells
        assert gate.check(ctx).is_running
    assert heard.kinds() == [TenantEventKind.PAUSE, TenantEventKind.RESUME]


def test_a_pulled_state_change_is_heard_without_any_notification(
    service: ServiceProcess, operator: Operator
) -> None:
    ctx = operator.add()
    heard = Heard()
    with TenantStatusClient(service.url) as client:
        gate = TenantGate(client, **heard.callbacks())
        gate.check(ctx)
        operator.operate(ctx, "suspend")
        with pytest.raises(TenantNotRunning):
            gate.refresh(ctx)
        operator.operate(ctx, "resume")
        gate.refresh(ctx)
    assert heard.kinds() == [TenantEventKind.PAUSE, TenantEventKind.RESUME]


def test_a_delete_notification_forgets_the_tenant(
    service: ServiceProcess, operator: Operator
) -> None:
    ctx = operator.add()
    heard = Heard()
    with TenantStatusClient(service.url) as client:
        gate = TenantGate(client, **heard.callbacks())
        gate.check(ctx)
        gate.apply(_news(ctx, ChangeType.Delete))
        assert ctx not in client.cache
        with pytest.raises(TenantNotRunning):
            gate.check(ctx)
    assert heard.kinds() == [TenantEventKind.DELETE]


def test_a_move_notification_re_reads_the_endpoint_and_tells_on_move(
    service: ServiceProcess, operator: Operator, installations: Installations
) -> None:
    ctx = operator.add(shard="sod2")
    heard = Heard()
    with TenantStatusClient(service.url) as client:
        gate = TenantGate(client, **heard.callbacks())
        gate.check(ctx)
        new_endpoint = operator.move(ctx, "sod3")
        gate.apply(_news(ctx, ChangeType.Move, public_endpoint="127.0.0.1"))
        assert client.endpoint(ctx) == new_endpoint
    assert heard.kinds() == [TenantEventKind.MOVE]
    assert heard.events[0].endpoint == new_endpoint


def test_the_tenant_client_sends_relative_urls_to_the_current_endpoint(
    service: ServiceProcess, operator: Operator, installations: Installations
) -> None:
    ctx = operator.add(shard="sod4")
    with TenantStatusClient(service.url) as client, TenantGate(client).client(ctx) as tenant:
        answer = tenant.post("api/v1/Contact", content=b'{"Name": "Ada"}').json()
    assert answer == {"shard": "sod4", "path": "Contact", "body": '{"Name": "Ada"}'}


def test_the_tenant_client_refuses_to_send_while_the_tenant_is_not_running(
    service: ServiceProcess, operator: Operator, installations: Installations
) -> None:
    ctx = operator.add()
    operator.operate(ctx, "suspend")
    with (
        TenantStatusClient(service.url) as client,
        TenantGate(client).client(ctx) as tenant,
        pytest.raises(TenantNotRunning),
    ):
        tenant.get("api/v1/Contact/1")
    assert installations.calls_for(ctx) == []


def test_a_421_re_pulls_the_state_and_retries_once_on_the_new_endpoint(
    service: ServiceProcess, operator: Operator, installations: Installations
) -> None:
    ctx = operator.add(shard="sod2")
    heard = Heard()
    with TenantStatusClient(service.url) as client:
        gate = TenantGate(client, **heard.callbacks())
        with gate.client(ctx) as tenant:
            assert tenant.get("api/v1/Contact/1").json()["shard"] == "sod2"
            operator.move(ctx, "sod5")  # the cached answer still names sod2
            response = tenant.get("api/v1/Contact/1")
    assert response.json()["shard"] == "sod5"
    shards = [(c.shard, c.path) for c in installations.calls_for(ctx)]
    assert shards == [("sod2", "Contact/1"), ("sod2", "Contact/1"), ("sod5", "Contact/1")]
    assert heard.kinds() == [TenantEventKind.MOVE]


def test_a_421_that_re_pulling_does_not_explain_raises_tenant_misdirected(
    service: ServiceProcess, operator: Operator, installations: Installations
) -> None:
    ctx = operator.add(shard="sod2")
    installations.place(ctx, "sod9")  # moved, but the service was not told
    with (
        TenantStatusClient(service.url) as client,
        TenantGate(client).client(ctx) as tenant,
        pytest.raises(TenantMisdirected),
    ):
        tenant.get("api/v1/Contact/1")
    assert len(installations.calls_for(ctx)) == 1


def test_running_gives_up_after_its_timeout_with_the_last_state(
    service: ServiceProcess, operator: Operator
) -> None:
    ctx = operator.add()
    operator.operate(ctx, "suspend")
    with TenantStatusClient(service.url) as client:
        gate = TenantGate(client, poll_interval=0.05)
        with pytest.raises(TenantWaitTimeout) as caught, gate.running(ctx, timeout=0.2):
            pytest.fail("the body must not run while the tenant is suspended")
    assert caught.value.state is TenantState.Suspended


@pytest.mark.anyio
async def test_running_waits_until_a_resume_notification_arrives(
    service: ServiceProcess, operator: Operator
) -> None:
    ctx = operator.add()
    heard: list[TenantEvent] = []

    async def on_resume(event: TenantEvent) -> None:
        heard.append(event)

    async with AsyncTenantStatusClient(service.url) as client:
        gate = AsyncTenantGate(client, on_resume=on_resume, poll_interval=30)
        await gate.check(ctx)
        await gate.apply(_news(ctx, ChangeType.Suspend))

        async def resume_later() -> None:
            await anyio.sleep(0.2)
            await gate.apply(_news(ctx, ChangeType.Resume))

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(resume_later)
            with anyio.fail_after(5):
                async with gate.running(ctx, timeout=10) as status:
                    assert status.is_running
    assert [event.kind for event in heard] == [TenantEventKind.RESUME]


@pytest.mark.anyio
async def test_the_async_tenant_client_follows_a_move(
    service: ServiceProcess, operator: Operator, installations: Installations
) -> None:
    ctx = operator.add(shard="sod2")
    async with AsyncTenantStatusClient(service.url) as client:
        gate = AsyncTenantGate(client)
        async with gate.client(ctx) as tenant:
            assert (await tenant.get("api/v1/Ping")).json()["shard"] == "sod2"
            operator.move(ctx, "sod6")
            assert (await tenant.get("api/v1/Ping")).json()["shard"] == "sod6"
            operator.operate(ctx, "suspend")
            await gate.apply(_news(ctx, ChangeType.Suspend))
            with pytest.raises(TenantNotRunning):
                await tenant.get("api/v1/Ping")
    assert [c.shard for c in installations.calls_for(ctx)] == ["sod2", "sod2", "sod6"]
