"""What a failed attempt records, and when the next one starts, on a real service."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from tests.push.conftest import operate, register, tenant
from tests.support.processes import ServiceProcess
from tests.support.receivers import Receiver


def attempts(service: ServiceProcess, delivery_id: str, count: int) -> list[dict[str, Any]]:
    """The delivery's recorded attempts, oldest first, once there are `count` of them."""
    with service.admin() as admin:
        deadline = time.monotonic() + 20
        while True:
            found: list[dict[str, Any]] = admin.get(f"/admin/deliveries/{delivery_id}").json()[
                "Attempts"
            ]
            if len(found) >= count:
                return found
            assert time.monotonic() < deadline, found
            time.sleep(0.05)


def test_a_retry_starts_its_step_after_the_timed_out_attempt_ended(
    push_service: ServiceProcess, receiver: Receiver
) -> None:
    # PUSH_ENV: a 1 s timeout and 0.3 s steps; /hang answers after 5 s.
    app = register(push_service, f"{receiver.url}/hang/hang-step")
    tenant(push_service, "PushHangStep", app)
    operate(push_service, "PushHangStep", "suspend")
    delivery_id = receiver.wait_for("hang-step", 1)[0].headers["webhook-id"]
    first, second = attempts(push_service, delivery_id, 2)[:2]
    assert first["Error"] == "no answer within 1 s"
    ended = datetime.fromisoformat(first["At"]).timestamp() + first["LatencyMs"] / 1000
    assert datetime.fromisoformat(second["At"]).timestamp() - ended >= 0.29
