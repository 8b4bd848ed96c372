"""Two and three nodes on one PostgreSQL: shared state, one run per schedule, no lost push."""

from __future__ import annotations

import json
import signal
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import httpx2 as httpx

from tests.multinode.conftest import Cluster
from tests.support.processes import ServiceProcess
from tests.support.receivers import Receiver


def state(node: ServiceProcess, ctx: str) -> str:
    return str(httpx.get(f"{node.url}/api/state/{ctx}").json()["State"])


def wait(predicate: object, timeout: float = 10.0, what: str = "") -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():  # type: ignore[operator]
            return time.monotonic() - started
        time.sleep(0.005)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_change_on_one_node_is_served_by_the_other_at_once(cluster: Cluster) -> None:
    a, b = cluster(2)
    with a.admin() as admin:
        admin.post(
            "/admin/tenants",
            json={"ContextIdentifier": "Shared1", "Endpoint": "https://h/x", "State": "Running"},
        )
    wait(lambda: state(b, "Shared1") == "Running", what="B to see the new tenant")
    with a.admin() as admin:
        admin.post("/admin/tenants/Shared1/operations", json={"Operation": "suspend"})
    lag = wait(lambda: state(b, "Shared1") == "Suspended", what="B to see the suspension")
    assert lag < 1.0
    at = datetime.now(UTC) + timedelta(seconds=30)
    with b.admin() as admin:
        admin.post(
            "/admin/tenants/Shared1/operations",
            json={"Operation": "resume", "At": at.isoformat()},
        )

    def capped() -> bool:
        text: str = httpx.get(f"{a.url}/api/state/Shared1").json()["ValidUntil"]
        return text.startswith(at.strftime("%Y-%m-%dT%H:%M:%S"))

    wait(capped, what="A to cap ValidUntil at B's schedule")


def test_a_scheduled_operation_runs_once_across_nodes(cluster: Cluster) -> None:
    nodes = cluster(2)
    with nodes[0].admin() as admin:
        for n in range(10):
            admin.post(
                "/admin/tenants",
                json={
                    "ContextIdentifier": f"Once{n}",
                    "Endpoint": "https://h/x",
                    "State": "Running",
                },
            )
        at = (datetime.now(UTC) + timedelta(seconds=1.5)).isoformat()
        for n in range(10):
            admin.post(
                f"/admin/tenants/Once{n}/operations",
                json={"Operation": "set-version", "VersionName": "x", "At": at},
            )
    for n in range(10):
        wait(
            lambda n=n: _history_ops(nodes[1], f"Once{n}").count("set-version") >= 1,
            what=f"Once{n} to run",
        )
    # A run commits only by marking its row done where it is still pending, so once every
    # row is done no second run can commit: the counts below are final.
    with nodes[0].admin() as admin:
        rows = admin.get("/admin/schedule", params={"status": "done", "limit": 100}).json()
    assert len([s for s in rows["Scheduled"] if s["ContextIdentifier"].startswith("Once")]) == 10
    for n in range(10):
        assert _history_ops(nodes[1], f"Once{n}").count("set-version") == 1


def _history_ops(node: ServiceProcess, ctx: str) -> list[str]:
    with node.admin() as admin:
        return [h["Operation"] for h in admin.get(f"/admin/tenants/{ctx}").json()["History"]]


def test_sigkill_one_of_three_nodes_during_fan_out_loses_nothing(
    cluster: Cluster, receiver: Receiver
) -> None:
    nodes = cluster(3)
    apps = 20
    tenants = 50  # x 2 operations x 20 applications = 2,000 deliveries
    with nodes[0].admin() as admin:
        ids = [
            admin.post(
                "/admin/applications", json={"Name": f"n{n}", "Url": f"{receiver.url}/ok/node{n}"}
            ).json()["Application"]["Id"]
            for n in range(apps)
        ]
        admin.post(
            "/admin/tenants/import",
            json={
                "Tenants": [
                    {"ContextIdentifier": f"Fan{n}", "Endpoint": "https://h/x", "State": "Running"}
                    for n in range(tenants)
                ]
            },
        )
        for app in ids:
            for n in range(tenants):
                admin.put(f"/admin/applications/{app}/approvals/Fan{n}")
    for n in range(tenants):
        with nodes[n % 3].admin() as admin:
            admin.post(f"/admin/tenants/Fan{n}/operations", json={"Operation": "suspend"})
            admin.post(f"/admin/tenants/Fan{n}/operations", json={"Operation": "resume"})
    expected = apps * tenants * 2
    wait(lambda: len(_node_requests(receiver)) >= expected // 5, timeout=60, what="fan-out")
    nodes[1].stop(signal.SIGKILL)
    wait(
        lambda: len({r.headers["webhook-id"] for r in _node_requests(receiver)}) >= expected,
        timeout=180,
        what="every delivery",
    )
    seen: dict[str, tuple[str, int]] = {}
    order: dict[tuple[str, str], list[str]] = defaultdict(list)
    for request in _node_requests(receiver):
        body = json.loads(request.body)
        entry = (body["ContextIdentifier"], body["ChangeType"])
        assert seen.setdefault(request.headers["webhook-id"], entry) == entry
        order[(request.path, body["ContextIdentifier"])].append(request.headers["webhook-id"])
    for (path, ctx), delivery_ids in order.items():
        changes = [seen[d][1] for d in dict.fromkeys(delivery_ids)]
        assert changes == [2, 3], (path, ctx, changes)
    duplicates = len(_node_requests(receiver)) - len(seen)
    # Only what the killed node had in flight may arrive twice.
    assert duplicates <= 64


def _node_requests(receiver: Receiver) -> list:  # type: ignore[type-arg]
    with receiver._lock:
        return [r for r in receiver.requests if r.path.startswith("/ok/node")]


def test_workers_share_state_through_postgres(postgres: object, tmp_path: object) -> None:
    from pathlib import Path

    from cryptography.fernet import Fernet

    from tests.multinode.conftest import NODE_ENV
    from tests.support.postgres import PostgresServer

    assert isinstance(postgres, PostgresServer) and isinstance(tmp_path, Path)
    env = {
        **NODE_ENV,
        "TENANTSTATUS_DATABASE_URL": postgres.create_database("workers"),
        "TENANTSTATUS_SECRET_KEY": Fernet.generate_key().decode(),
    }
    node = ServiceProcess(tmp_path / "workers", env=env, args=["--workers", "2"]).start()
    try:
        with node.admin() as admin:
            admin.post(
                "/admin/tenants",
                json={
                    "ContextIdentifier": "Workers1",
                    "Endpoint": "https://h/x",
                    "State": "Running",
                },
            )
            admin.post("/admin/tenants/Workers1/operations", json={"Operation": "suspend"})
        # New connections spread over both workers; every one must come to see the change.
        wait(lambda: state(node, "Workers1") == "Suspended", what="the change to reach a worker")
        wait(
            lambda: {state(node, "Workers1") for _ in range(40)} == {"Suspended"},
            what="every worker to serve the change",
        )
    finally:
        node.stop()


def test_workers_are_refused_on_sqlite(tmp_path: object) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    node = ServiceProcess(tmp_path / "sqlite", args=["--workers", "2"])
    try:
        node.start(timeout=5)
    except RuntimeError as exc:
        assert "needs PostgreSQL" in str(exc)
    else:
        raise AssertionError("serve --workers 2 started on SQLite")
    finally:
        node.stop()
