"""An https receiver whose certificate a private CA issued: trusted through SSL_CERT_FILE."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.push.conftest import PUSH_ENV, notify_once, recorded_attempts
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


def test_without_the_ca_the_delivery_fails_and_says_how_to_trust_it(
    push_service: ServiceProcess, https_receiver: Receiver
) -> None:
    delivery_id = notify_once(
        push_service, f"{https_receiver.url}/ok/untrusted", "PrivateCaUntrusted"
    )
    (first, *_) = recorded_attempts(push_service, delivery_id, 1)
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
        delivery_id = notify_once(
            service, f"{https_receiver.url}/ok/{name}", f"PrivateCa{processes}"
        )
        (first, *_) = recorded_attempts(service, delivery_id, 1)
        assert (first["StatusCode"], first["Error"]) == (200, None)
        (received,) = https_receiver.received(name)
        assert received.headers["webhook-id"] == delivery_id
    finally:
        service.stop()
