"""`statuspage-prometheus-exporter` (PyPI) polls a tenant's Statuspage summary unchanged.

It runs as its users run it from cron (`RUN_MODE=once`), pointed at the v2 summary of
three tenants and at the `/status/{ctx}/summary.json` alias, and writes a Prometheus
textfile, which is read back here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.support.processes import ServiceProcess

HOST = "sodexp.example.com"


def _exporter() -> str:
    found = shutil.which("statuspage-prometheus-exporter", path=str(Path(sys.executable).parent))
    assert found, "statuspage-prometheus-exporter is a test dependency (pyproject, [test])"
    return found


def _seed(service: ServiceProcess) -> None:
    at = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with service.admin() as admin:
        for ctx, host in (("ExpRun", "sod1.example.com"), ("ExpPlan", "sod1.example.com"),
                          ("ExpInc", HOST)):  # fmt: skip
            admin.post(
                "/admin/tenants",
                json={"ContextIdentifier": ctx, "Endpoint": f"https://{host}/{ctx}",
                      "State": "Running"},
            ).raise_for_status()  # fmt: skip
        admin.post(
            "/admin/tenants/ExpPlan/operations",
            json={"Operation": "maintenance-offline", "At": at, "Message": "Disk swap"},
        ).raise_for_status()
        admin.post(
            "/admin/notices", json={"Body": f"{HOST} is degraded.", "Host": HOST}
        ).raise_for_status()


def test_the_exporter_reads_running_planned_and_incident_tenants(
    service: ServiceProcess, tmp_path: Path
) -> None:
    _seed(service)
    base = f"{service.url}/status"
    services = {
        "run": {"url": f"{base}/ExpRun/api/v2/summary.json", "name": "ExpRun"},
        "plan": {"url": f"{base}/ExpPlan/api/v2/summary.json", "name": "ExpPlan"},
        "inc": {"url": f"{base}/ExpInc/api/v2/summary.json", "name": "ExpInc"},
        "alias": {"url": f"{base}/ExpInc/summary.json", "name": "ExpIncAlias"},
    }
    (tmp_path / "services.json").write_text(json.dumps(services))
    textfile = tmp_path / "statuspage.prom"
    env = {
        **os.environ,
        "RUN_MODE": "once",
        "SERVICES_JSON_PATH": str(tmp_path / "services.json"),
        "METRICS_TEXTFILE_PATH": str(textfile),
        "NO_PROXY": "127.0.0.1",
    }
    done = subprocess.run(
        [_exporter()], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    samples = [
        sample
        for family in text_string_to_metric_families(textfile.read_text())
        for sample in family.samples
    ]

    def values(metric: str) -> dict[str, float]:
        return {s.labels["service_name"]: s.value for s in samples if s.name == metric}

    assert values("statuspage_probe_check") == dict.fromkeys(
        ("ExpRun", "ExpPlan", "ExpInc", "ExpIncAlias"), 1.0
    )
    status = values("statuspage_service_status")
    assert (status["ExpRun"], status["ExpPlan"]) == (1.0, 1.0)
    assert (status["ExpInc"], status["ExpIncAlias"]) == (0.0, 0.0)

    def active(metric: str) -> dict[str, list[dict[str, str]]]:
        """Labels of the series at 1 (the exporter writes a "none" series at 0 too)."""
        found: dict[str, list[dict[str, str]]] = {}
        for s in samples:
            if s.name == metric and s.value == 1.0:
                found.setdefault(s.labels["service_name"], []).append(s.labels)
        return found

    incidents = active("statuspage_incident_info")
    assert set(incidents) == {"ExpInc", "ExpIncAlias"}
    (incident,) = incidents["ExpInc"]
    assert [i["incident_id"] for i in incidents["ExpIncAlias"]] == [incident["incident_id"]]
    assert incident["incident_name"] == f"Notice for every tenant on {HOST}"
    assert incident["shortlink"] == f"{base}/ExpInc"
    maintenances = active("statuspage_maintenance_info")
    assert set(maintenances) == {"ExpPlan"}
    (window,) = maintenances["ExpPlan"]
    assert window["maintenance_name"] == "Offline maintenance of ExpPlan"
    components = values("statuspage_component_status")
    assert components["ExpRun"] == 1.0
