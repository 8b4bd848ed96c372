"""`deliveries list` as a vendor reads it: pages with a cursor, and counts every attempt."""

from __future__ import annotations

import json
import time
from typing import Any

from tests.push.conftest import operate, register, tenant
from tests.support.processes import ServiceProcess
from tests.support.receivers import Receiver


def _page(service: ServiceProcess, app_id: str, *extra: str) -> dict[str, Any]:
    result = service.cli("deliveries", "list", "--app", app_id, "--limit", "2", "--json", *extra)
    page: dict[str, Any] = json.loads(result.stdout)
    return page


def test_paging_with_after_walks_every_delivery_once_while_more_are_written(
    push_service: ServiceProcess, receiver: Receiver
) -> None:
    app = register(push_service, f"{receiver.url}/ok/paging")
    tenant(push_service, "Paging", app)
    for operation in ("suspend", "resume") * 3 + ("suspend",):
        operate(push_service, "Paging", operation)
    with push_service.admin() as admin:
        every = admin.get("/admin/deliveries", params={"application": app.id}).json()
    written = [d["Id"] for d in every["Deliveries"]]
    assert len(written) == 7
    seen: list[str] = []
    page = _page(push_service, app.id)
    while True:
        seen += [d["Id"] for d in page["Deliveries"]]
        if page["Next"] is None:
            break
        # Written between pages: newer, so it never shifts what the cursor walks.
        operate(push_service, "Paging", "resume" if len(seen) % 4 else "suspend")
        page = _page(push_service, app.id, "--after", str(page["Next"]))
    assert seen == written  # every one, newest first, none twice
    table = push_service.cli("deliveries", "list", "--app", app.id, "--limit", "2").stdout
    assert "more: --after " in table
    cursor = table.rsplit("--after ", 1)[1].split()[0]
    following = _page(push_service, app.id, "--after", cursor)
    assert [d["Id"] for d in following["Deliveries"]] != []
    with push_service.admin() as admin:  # the API's own parameter
        api = admin.get(
            "/admin/deliveries", params={"application": app.id, "after": cursor, "limit": 2}
        ).json()
    assert api["Deliveries"] == following["Deliveries"]


def test_the_attempts_column_counts_every_attempt_of_a_delivery_sent_again(
    push_service: ServiceProcess, receiver: Receiver
) -> None:
    app = register(push_service, f"{receiver.url}/flaky/2/attempts-column")
    tenant(push_service, "AttemptsColumn", app)
    operate(push_service, "AttemptsColumn", "suspend")
    receiver.wait_for("attempts-column", 3)
    (delivery,) = _page(push_service, app.id)["Deliveries"]
    push_service.cli("deliveries", "redeliver", delivery["Id"])
    receiver.wait_for("attempts-column", 4)
    deadline = time.monotonic() + 15
    while True:
        shown = json.loads(push_service.cli("deliveries", "show", delivery["Id"], "--json").stdout)
        if len(shown["Attempts"]) == 4 and shown["Delivery"]["Status"] == "delivered":
            break
        assert time.monotonic() < deadline, shown
        time.sleep(0.1)
    (row,) = _page(push_service, app.id)["Deliveries"]
    assert row["Attempts"] == len(shown["Attempts"]) == shown["Delivery"]["Attempts"] == 4
    table = push_service.cli("deliveries", "list", "--app", app.id).stdout
    line = next(line for line in table.splitlines() if delivery["Id"][:12] in line)
    assert " 4 " in line, table
