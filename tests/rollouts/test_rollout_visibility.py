"""Everyone sees a rollout: the overview, the Prometheus gauges and the Atom feed."""

from __future__ import annotations

import re

import httpx2 as httpx

from tests.rollouts.support import add_tenants, create, offline, poll, rollout_body
from tests.support.processes import ServiceProcess


def operator_get(service: ServiceProcess, path: str) -> str:
    response = httpx.get(f"{service.url}{path}", auth=("operator", service.token))
    assert response.status_code == 200, response.text
    return response.text


def test_the_overview_shows_a_rollout_under_way_with_its_progress_escaped(
    service: ServiceProcess,
) -> None:
    add_tenants(service, "rview.example.com", 3)
    body = rollout_body("rview.example.com", Message="<script>alert(1)</script> tonight")
    rollout = create(service, body)
    page = operator_get(service, "/status")
    section = page.split('id="rollouts-heading"')[1].split("</section>")[0]
    assert f"Rollout #{rollout['Id']}</strong>: upgrade over 3 tenants" in section
    assert "&lt;script&gt;alert(1)&lt;/script&gt; tonight" in section
    assert "<script>alert" not in page
    assert re.search(rf'id="rollout-{rollout["Id"]}-progress" max="3" value="\d"', section)


def test_metrics_carry_per_rollout_gauges(service: ServiceProcess) -> None:
    add_tenants(service, "rgauge.example.com", 4)
    rollout = create(service, rollout_body("rgauge.example.com", Start=None))
    label = f'rollout="{rollout["Id"]}"'

    def gauges() -> dict[str, float]:
        text = httpx.get(f"{service.url}/metrics").text
        found = re.findall(
            rf'tenantstatus_rollout_tenants\{{phase="(\w+)",{label}\}} ([0-9.]+)', text
        )
        return {phase: float(value) for phase, value in found}

    seen = poll(lambda: (g := gauges()).get("in_progress") == 2 and g)
    assert seen["planned"] == 2 and seen["done"] == 0


def test_the_feed_marks_a_rollouts_start_pause_and_end(service: ServiceProcess) -> None:
    ids = add_tenants(service, "rfeed.example.com", 4)
    rollout = create(service, rollout_body("rfeed.example.com"))
    poll(lambda: offline(service, ids))
    with service.admin() as admin:
        admin.post(f"/admin/rollouts/{rollout['Id']}/pause").raise_for_status()
        admin.post(f"/admin/rollouts/{rollout['Id']}/abort").raise_for_status()
    feed = operator_get(service, "/status/feed.atom")
    titles = re.findall(rf"<title>Rollout #{rollout['Id']} ([^<]+)</title>", feed)
    assert titles == ["ended: aborted", "paused", "started"]
