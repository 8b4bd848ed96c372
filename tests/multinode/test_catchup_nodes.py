"""The catch-up cursor on PostgreSQL: two nodes write notifications while a vendor reads.

PostgreSQL hands out `seq` values before commit, so writers may commit out of order;
the feed must never step past a seq that is still to commit (a gap the stored cursor
would never revisit), nor return anything twice.
"""

from __future__ import annotations

import threading

from tenantstatus.client import NotificationFeed, PulledNotification
from tests.multinode.conftest import Cluster
from tests.push.conftest import operate, register, tenant
from tests.support.processes import ServiceProcess
from tests.support.receivers import Receiver

_CYCLES = 12  # suspend + resume per tenant: two notifications each


def _churn(node: ServiceProcess, tenants: list[str]) -> None:
    for _ in range(_CYCLES):
        for ctx in tenants:
            operate(node, ctx, "suspend")
            operate(node, ctx, "resume")


def test_the_feed_has_no_gap_and_no_repeat_while_two_nodes_write(
    cluster: Cluster, receiver: Receiver
) -> None:
    a, b = cluster(2)
    app = register(a, f"{receiver.url}/ok/catchup-nodes")
    names = [f"CatchNode{n}" for n in range(4)]
    for ctx in names:
        tenant(a, ctx, app)
    writers = [
        threading.Thread(target=_churn, args=(a, names[:2])),
        threading.Thread(target=_churn, args=(b, names[2:])),
    ]
    for writer in writers:
        writer.start()
    read: list[PulledNotification] = []
    cursor = 0
    reads = 0
    while any(w.is_alive() for w in writers) or reads == 0:
        node = (a, b)[reads % 2]  # the stored cursor goes from node to node
        with NotificationFeed(node.url, app.id, app.token, after=cursor, limit=7) as feed:
            read.extend(feed)
            cursor = feed.cursor
        reads += 1
    for writer in writers:
        writer.join()
    with NotificationFeed(b.url, app.id, app.token, after=cursor) as feed:
        read.extend(feed)

    with a.admin() as admin:
        listed = admin.get(
            "/admin/deliveries", params={"application": app.id, "limit": 1000}
        ).json()["Deliveries"]
    expected = [d["Id"] for d in reversed(listed)]
    assert len(expected) == 2 * _CYCLES * len(names)
    assert [item.delivery_id for item in read] == expected
    assert reads > 2  # the reader really read while the writers wrote
