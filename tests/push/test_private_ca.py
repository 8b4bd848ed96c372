"""An https receiver whose certificate a private CA issued: trusted through SSL_CERT_FILE."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.push.conftest import PUSH_ENV, operate, register, tenant
from tests.push.test_attempts import attempts
from tests.support.private_ca import PrivateCA
from tests.support.processes import ServiceProcess
from tests.support.receivers import Receiver


@pytest.fixture(scope="module")
def ca_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the private CA's certificate is, as an operator would install it."""
    return tmp_path_factory.mktemp("private-ca") / "ca.pem"


@pytest.fixture(scope="module")
def https_receiver(ca_file: Path) -> Iterator[Receiver]:
    """A receiver on https://127.0.0.1 with a certificate from a CA nobody trusts by default."""
    ca = PrivateCA.create("tenantstatus private test CA")
    ca_file.write_bytes(ca.pem)
    running = Receiver(tls=ca.issue(ca_file.parent, "127.0.0.1")).start()
    yield running
    running.stop()


def deliver_one(service: ServiceProcess, receiver: Receiver, name: str) -> str:
    """Register `name` at the receiver, cause one notification; the delivery's id."""
    app = register(service, f"{receiver.url}/ok/{name}", name=name)
    ctx = f"PrivateCa{name.title().replace('-', '')}"
    tenant(service, ctx, app)
    operate(service, ctx, "suspend")
    with service.admin() as admin:
        listed = admin.get("/admin/deliveries", params={"application": app.id}).json()
    (delivery,) = listed["Deliveries"]
    delivery_id: str = delivery["Id"]
    return delivery_id


def test_without_the_ca_the_delivery_fails_and_says_how_to_trust_it(
    push_service: ServiceProcess, https_receiver: Receiver
) -> None:
    delivery_id = deliver_one(push_service, https_receiver, "untrusted")
    (first, *_) = attempts(push_service, delivery_id, 1)
    assert first["Error"].startswith(
        "ConnectError: TLS handshake failed: the receiver's certificate was refused "
        "(unable to get local issuer certificate)"
    )
    assert "SSL_CERT_FILE" in first["Error"]
    assert https_receiver.received("untrusted") == []


@pytest.mark.parametrize("processes", [0, 2], ids=["in-process", "two-dispatch-processes"])
def test_with_ssl_cert_file_naming_the_ca_the_delivery_arrives(
    tmp_path: Path, ca_file: Path, https_receiver: Receiver, processes: int
) -> None:
    env = {
        **PUSH_ENV,
        "TENANTSTATUS_DELIVERY_PROCESSES": str(processes),
        "TENANTSTATUS_DELIVERY_TIMEOUT": "10",  # a busy machine's handshake, not the point here
        "SSL_CERT_FILE": str(ca_file),
    }
    service = ServiceProcess(tmp_path / "data", env=env)
    try:
        service.start()
        name = f"trusted-{processes}"
        delivery_id = deliver_one(service, https_receiver, name)
        (first, *_) = attempts(service, delivery_id, 1)
        assert (first["StatusCode"], first["Error"]) == (200, None)
        (received,) = https_receiver.received(name)
        assert received.headers["webhook-id"] == delivery_id
    finally:
        service.stop()
