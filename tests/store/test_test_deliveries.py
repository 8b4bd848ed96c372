"""Test deliveries in the store, on both backends: marked, claimed like any, no tenant touched."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tenantstatus.model import TEST_CONTEXT_IDENTIFIER, ChangeType
from tenantstatus.store import SqlStore
from tenantstatus.store.push_records import DeliveryStatus
from tests.store.test_contract import NOW, provision
from tests.store.test_push_contract import application

pytestmark = pytest.mark.anyio


async def test_a_test_delivery_is_marked_claimed_and_changes_no_tenant(store: SqlStore) -> None:
    app = await application(store, "tester")
    await provision(store, "Cust7")
    assert await store.approve(app, "Cust7", NOW)
    tenant_before = await store.get_tenant("Cust7")
    history_before = await store.history("Cust7")
    revision_before = await store.current_revision()
    queued = await store.enqueue_test_delivery(
        app,
        TEST_CONTEXT_IDENTIFIER,
        ChangeType.Move,
        version_name="Test notification",
        file_version="0.0.1",
        public_endpoint="test.invalid",
        at=NOW,
    )
    assert queued.test and queued.status is DeliveryStatus.PENDING
    assert queued.id.startswith("msg_") and queued.public_endpoint == "test.invalid"
    (claimed,) = await store.claim_deliveries(NOW, limit=10, lease=timedelta(seconds=30))
    assert (claimed.id, claimed.test) == (queued.id, True)
    (listed,) = await store.list_deliveries(application_id=app)
    assert listed.test
    assert await store.is_approved(app, "Cust7")
    assert not await store.is_approved(app, TEST_CONTEXT_IDENTIFIER)
    assert await store.get_tenant(TEST_CONTEXT_IDENTIFIER) is None
    assert await store.get_tenant("Cust7") == tenant_before
    assert await store.history("Cust7") == history_before
    assert await store.current_revision() == revision_before
