"""PostgreSQL away for 10 s under load: cached reads go on, writes fail clearly, all resumes."""

from __future__ import annotations

import threading
import time

import httpx2 as httpx

from tests.multinode.conftest import Cluster
from tests.support.postgres import PostgresServer


def test_stopping_postgres_for_ten_seconds(cluster: Cluster, postgres: PostgresServer) -> None:
    node, other = cluster(2)
    with node.admin() as admin:
        admin.post(
            "/admin/tenants",
            json={"ContextIdentifier": "Outage1", "Endpoint": "https://h/x", "State": "Running"},
        )
    statuses: list[int] = []
    stop = threading.Event()

    def load() -> None:
        with httpx.Client(base_url=node.url, timeout=5) as client:
            while not stop.is_set():
                statuses.append(client.get("/api/state/Outage1").status_code)
                time.sleep(0.01)

    reader = threading.Thread(target=load)
    reader.start()
    try:
        postgres.stop()
        outage_started = time.monotonic()
        ready = httpx.get(f"{node.url}/readyz", timeout=15)
        assert ready.status_code == 503 and "database" in ready.json()["detail"]
        with node.admin() as admin:
            refused = admin.post("/admin/tenants/Outage1/operations", json={"Operation": "suspend"})
        assert refused.status_code == 503
        assert refused.headers["content-type"] == "application/problem+json"
        assert "did not happen" in refused.json()["detail"]
        assert httpx.get(f"{node.url}/api/state/Outage1").json()["State"] == "Running"
        time.sleep(max(0.0, 10 - (time.monotonic() - outage_started)))
    finally:
        postgres.start()
        time.sleep(0.5)
        stop.set()
        reader.join()
    assert statuses and set(statuses) == {200}
    deadline = time.monotonic() + 30
    while httpx.get(f"{node.url}/readyz").status_code != 200:
        assert time.monotonic() < deadline, "the node did not recover"
        time.sleep(0.2)
    with node.admin() as admin:
        done = admin.post("/admin/tenants/Outage1/operations", json={"Operation": "suspend"})
    assert done.status_code == 200
    deadline = time.monotonic() + 30
    while httpx.get(f"{other.url}/api/state/Outage1").json()["State"] != "Suspended":
        assert time.monotonic() < deadline, "the other node did not catch up after the outage"
        time.sleep(0.1)
