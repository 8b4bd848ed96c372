"""Several real `tenantstatus serve` nodes on one real PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.support.postgres import PostgresServer
from tests.support.processes import ServiceProcess

NODE_ENV = {
    "TENANTSTATUS_ALLOW_HTTP": "1",
    "TENANTSTATUS_ALLOWED_NETWORKS": "127.0.0.0/8",
    "TENANTSTATUS_RETRY_SCHEDULE": "0,0.3,0.3,0.3,0.3,0.3",
    "TENANTSTATUS_DELIVERY_TIMEOUT": "2",
}

Cluster = Callable[[int], list[ServiceProcess]]


@pytest.fixture
def cluster(postgres: PostgresServer, tmp_path: Path) -> Iterator[Cluster]:
    """Start N nodes that share one fresh database, one secret key and one public URL."""
    nodes: list[ServiceProcess] = []
    url = postgres.create_database("nodes")
    env = {
        **NODE_ENV,
        "TENANTSTATUS_DATABASE_URL": url,
        "TENANTSTATUS_SECRET_KEY": Fernet.generate_key().decode(),
        "TENANTSTATUS_PUBLIC_URL": "http://127.0.0.1:1/nodes",
    }

    def start(count: int) -> list[ServiceProcess]:
        for _ in range(count):
            node = ServiceProcess(tmp_path / f"node{len(nodes)}", env=env)
            nodes.append(node)
        for node in nodes[-count:]:
            node.start()
        return nodes[-count:]

    yield start
    for node in nodes:
        node.stop()
