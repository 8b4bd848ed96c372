"""Catch up by pull: a vendor whose receiver was down reads every notification it missed.

Real service, real receiver: the receiver answers 503 (down), the vendor pulls the
feed with the SDK, verifies each token with the SDK's verifier, resumes from a stored
cursor, and drops the copies that push delivered too.
"""

from __future__ import annotations

import json
from typing import Any

import httpx2 as httpx
import pytest

from tenantstatus.client import (
    AsyncNotificationFeed,
    AsyncNotificationVerifier,
    CatchUpRefused,
    DuplicateDelivery,
    NotificationFeed,
    NotificationVerifier,
    PulledNotification,
)
from tests.cli.running import error_line, run_cli
from tests.push.conftest import Registered, operate, register, tenant
from tests.support.processes import ServiceProcess
from tests.support.receivers import Receiver

# Each announces one notification, in this order: Suspend, Resume, Upgrade, Resume.
_OPERATIONS: tuple[tuple[str, dict[str, str]], ...] = (
    ("suspend", {}),
    ("resume", {}),
    ("upgrade", {"VersionName": "R2", "FileVersion": "2.0"}),
    ("upgrade-done", {}),
)
_ANNOUNCED = ["Suspend", "Resume", "Upgrade", "Resume"]


def _deliveries(service: ServiceProcess, app: Registered) -> list[dict[str, Any]]:
    """The application's deliveries as the operator lists them, oldest first."""
    with service.admin() as admin:
        page = admin.get("/admin/deliveries", params={"application": app.id}).json()
    return list(reversed(page["Deliveries"]))


def _changes(service: ServiceProcess, ctx: str, *approved: Registered) -> None:
    tenant(service, ctx, *approved)
    for operation, params in _OPERATIONS:
        operate(service, ctx, operation, **params)


def test_a_vendor_whose_receiver_was_down_catches_up_at_once_in_order(
    push_service: ServiceProcess, receiver: Receiver
) -> None:
    app = register(push_service, f"{receiver.url}/down/catchup-down")
    _changes(push_service, "CatchDown", app)
    receiver.wait_for("catchup-down", 1)  # push tried, got 503, and will retry

    with (
        NotificationFeed(push_service.url, app.id, app.token) as feed,
        NotificationVerifier.for_service(push_service.url, app.id) as verifier,
    ):
        pulled = list(feed)
        verified = [verifier.verify(item.body) for item in pulled]
    assert [v.delivery_id for v in verified] == [d["Id"] for d in _deliveries(push_service, app)]
    assert [v.notification.change_type for v in verified] == [
        {"Suspend": 2, "Resume": 3, "Upgrade": 0}[name] for name in _ANNOUNCED
    ]
    assert [item.change_type_name for item in pulled] == _ANNOUNCED
    assert {item.context_identifier for item in pulled} == {"CatchDown"}
    assert all(json.loads(item.body)["Token"] == item.token for item in pulled)
    assert feed.cursor == pulled[-1].cursor
    assert [item.cursor for item in pulled] == sorted({item.cursor for item in pulled})
    # At once: the feed does not wait for the retries to end.
    assert {item.status for item in pulled} <= {"pending", "dead"}


def test_the_feed_resumes_from_a_stored_cursor_with_no_gap_and_no_duplicate(
    push_service: ServiceProcess, receiver: Receiver
) -> None:
    app = register(push_service, f"{receiver.url}/down/catchup-resume")
    _changes(push_service, "CatchResume", app)
    seen: list[PulledNotification] = []
    with NotificationFeed(push_service.url, app.id, app.token, limit=2) as feed:
        for item in feed:
            seen.append(item)
            if len(seen) == 3:  # stops midway through the second page
                break
        stored = feed.cursor
    assert stored == seen[-1].cursor

    operate(push_service, "CatchResume", "suspend")  # written while the vendor was away
    with NotificationFeed(push_service.url, app.id, app.token, after=stored, limit=2) as feed:
        seen.extend(feed)
        caught_up = feed.cursor
        assert list(feed) == []  # nothing new: the cursor stays
        assert feed.cursor == caught_up
    assert [item.delivery_id for item in seen] == [d["Id"] for d in _deliveries(push_service, app)]
    assert [item.change_type_name for item in seen] == [*_ANNOUNCED, "Suspend"]


def test_pull_and_push_share_the_webhook_id_so_a_receiver_drops_the_second_copy(
    push_service: ServiceProcess, receiver: Receiver
) -> None:
    app = register(push_service, f"{receiver.url}/ok/catchup-both")
    _changes(push_service, "CatchBoth", app)
    pushed = receiver.wait_for("catchup-both", 4)
    with (
        NotificationVerifier.for_service(
            push_service.url, app.id, webhook_secrets=[app.secret]
        ) as verifier,
        NotificationFeed(push_service.url, app.id, app.token) as feed,
    ):
        for got in pushed:
            verifier.verify(got.body, headers=got.headers)
        pulled = list(feed)
        assert [p.delivery_id for p in pulled] == [got.headers["webhook-id"] for got in pushed]
        for item in pulled:
            with pytest.raises(DuplicateDelivery):
                verifier.verify(item.body)
    for got, item in zip(pushed, pulled, strict=True):
        # The exact wire body: the same keys in the same order, only the token is fresh.
        push_body, pull_body = json.loads(got.body), json.loads(item.body)
        assert list(push_body) == list(pull_body)
        assert {**push_body, "Token": None} == {**pull_body, "Token": None}
        assert item.body == got.body.replace(push_body["Token"].encode(), item.token.encode())
    assert {item.status for item in pulled} == {"delivered"}


@pytest.mark.anyio
async def test_the_async_feed_reads_the_same_notifications_page_by_page(
    push_service: ServiceProcess, receiver: Receiver
) -> None:
    app = register(push_service, f"{receiver.url}/down/catchup-async")
    _changes(push_service, "CatchAsync", app)
    async with (
        AsyncNotificationFeed(push_service.url, app.id, app.token, limit=3) as feed,
        AsyncNotificationVerifier.for_service(push_service.url, app.id) as verifier,
    ):
        pages = [page async for page in feed.pages()]
        assert [len(page.notifications) for page in pages] == [3, 1]
        assert [page.more for page in pages] == [True, False]
        ids = [(await verifier.verify(n.body)).delivery_id for p in pages for n in p.notifications]
        assert feed.cursor == pages[-1].next_cursor
        assert [item async for item in feed] == []
    assert ids == [d["Id"] for d in _deliveries(push_service, app)]


def test_only_the_application_and_the_operator_read_its_feed(
    push_service: ServiceProcess, receiver: Receiver
) -> None:
    a = register(push_service, f"{receiver.url}/down/catchup-a", "A")
    b = register(push_service, f"{receiver.url}/down/catchup-b", "B")
    tenant(push_service, "CatchAuth", a, b)
    operate(push_service, "CatchAuth", "suspend")
    with (
        NotificationFeed(push_service.url, a.id, b.token) as stranger,
        pytest.raises(CatchUpRefused) as refused,
    ):
        list(stranger)
    assert refused.value.status_code == 404
    with (
        NotificationFeed(push_service.url, a.id, "tsapp_not-a-token") as unknown,
        pytest.raises(CatchUpRefused) as refused,
    ):
        unknown.page()
    assert refused.value.status_code == 401
    path = f"{push_service.url}/admin/applications/{a.id}/notifications"
    assert httpx.get(path).status_code == 401
    with NotificationFeed(push_service.url, a.id, push_service.token) as operator:
        (only,) = list(operator)
    with NotificationFeed(push_service.url, b.id, b.token) as own:
        (theirs,) = list(own)
    assert only.delivery_id != theirs.delivery_id
    assert only.context_identifier == theirs.context_identifier == "CatchAuth"


@pytest.mark.parametrize(
    ("query", "name"),
    [("after=-1", "after"), ("after=x", "after"), ("limit=0", "limit"), ("limit=1001", "limit")],
)
def test_a_bad_cursor_or_limit_is_a_one_line_problem(
    push_service: ServiceProcess, receiver: Receiver, query: str, name: str
) -> None:
    app = register(push_service, f"{receiver.url}/down/catchup-bad")
    answer = httpx.get(
        f"{push_service.url}/admin/applications/{app.id}/notifications?{query}",
        headers={"Authorization": f"Bearer {app.token}"},
    )
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert name in answer.json()["detail"]
    assert "\n" not in answer.json()["detail"]


def test_an_unknown_application_is_not_found_for_the_operator(
    push_service: ServiceProcess,
) -> None:
    unknown = "app_0000000000000000"
    with (
        NotificationFeed(push_service.url, unknown, push_service.token) as feed,
        pytest.raises(CatchUpRefused) as refused,
    ):
        feed.page()
    assert refused.value.status_code == 404


def test_the_cli_pages_the_feed_with_the_application_token(
    push_service: ServiceProcess, receiver: Receiver
) -> None:
    a = register(push_service, f"{receiver.url}/down/catchup-cli-a", "A")
    b = register(push_service, f"{receiver.url}/down/catchup-cli-b", "B")
    _changes(push_service, "CatchCli", a)
    ids = [d["Id"] for d in _deliveries(push_service, a)]
    as_a = {"TENANTSTATUS_URL": push_service.url, "TENANTSTATUS_TOKEN": a.token}
    first = run_cli("deliveries", "catch-up", a.id, "--limit", "3", env=as_a)
    assert first.returncode == 0, first.stderr
    assert [i for i in ids if i in first.stdout] == ids[:3]
    cursor = first.stdout.strip().splitlines()[-1]
    assert cursor.startswith("more: --after ")
    rest = run_cli("deliveries", "catch-up", a.id, "--after", cursor.split()[-1], env=as_a)
    assert [i for i in ids if i in rest.stdout] == ids[3:]
    assert rest.stdout.strip().splitlines()[-1].startswith("caught up: --after ")

    as_b = {"TENANTSTATUS_URL": push_service.url, "TENANTSTATUS_TOKEN": b.token}
    assert "not found" in error_line(run_cli("deliveries", "catch-up", a.id, env=as_b), 1).lower()
    error_line(run_cli("deliveries", "catch-up", a.id, "--after", "-1", env=as_a), 2)
