"""What a failed attempt records, and when the next one starts, on a real service."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import datetime

import pytest

from tests.push.conftest import notify_once, recorded_attempts
from tests.support.processes import ServiceProcess
from tests.support.receivers import Receiver


def test_a_retry_starts_its_step_after_the_timed_out_attempt_ended(
    push_service: ServiceProcess, receiver: Receiver
) -> None:
    # PUSH_ENV: a 1 s timeout and 0.3 s steps; /hang answers after 5 s.
    delivery_id = notify_once(push_service, f"{receiver.url}/hang/hang-step", "PushHangStep")
    first, second = recorded_attempts(push_service, delivery_id, 2)[:2]
    assert first["Error"] == "no answer within 1 s"
    ended = datetime.fromisoformat(first["At"]).timestamp() + first["LatencyMs"] / 1000
    assert datetime.fromisoformat(second["At"]).timestamp() - ended >= 0.29


@pytest.fixture
def hangs_up_after_the_client_hello() -> Iterator[int]:
    """A loopback TCP port whose peer reads a TLS ClientHello, then closes the connection."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    done = threading.Event()

    def serve() -> None:
        while not done.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            with connection:
                connection.settimeout(5)
                header = connection.recv(5, socket.MSG_WAITALL)
                # All of it: closing with unread bytes would send a RST, not a FIN.
                connection.recv(int.from_bytes(header[3:5]), socket.MSG_WAITALL)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    done.set()
    thread.join(timeout=5)
    listener.close()


def test_an_attempt_names_a_receiver_that_hung_up_during_the_tls_handshake(
    push_service: ServiceProcess, hangs_up_after_the_client_hello: int
) -> None:
    url = f"https://127.0.0.1:{hangs_up_after_the_client_hello}/hook"
    delivery_id = notify_once(push_service, url, "PushTlsHangUp")
    (first, *_) = recorded_attempts(push_service, delivery_id, 1)
    assert first["Error"] == (
        "ConnectError: TLS handshake failed: "
        "the receiver closed the connection during the handshake"
    )
