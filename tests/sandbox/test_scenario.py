"""Scenario documents: what they may say, and how a mistake is reported."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenantstatus.lifecycle import Operation
from tenantstatus.model import TenantState
from tenantstatus.sandbox import (
    DEFAULT_NOTICE,
    DEFAULT_TENANTS,
    Scenario,
    ScenarioError,
    parse_duration,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sandbox-scenario.json"


def _step(**keys: Any) -> dict[str, Any]:
    return {"At": 1, "ContextIdentifier": "Cust10001", "Operation": "suspend", **keys}


def _steps(*steps: dict[str, Any]) -> Scenario:
    return Scenario.from_json({"Steps": list(steps)})


def test_an_empty_document_gives_the_default_tenants_and_no_steps() -> None:
    scenario = Scenario.from_json("{}")
    assert scenario.tenants == DEFAULT_TENANTS
    assert scenario.steps == ()
    assert scenario.notice == DEFAULT_NOTICE


def test_the_shipped_example_scenario_parses() -> None:
    scenario = Scenario.from_json(EXAMPLE.read_bytes())
    operations = {step.operation for step in scenario.steps}
    assert {Operation.UPGRADE, Operation.MOVE, Operation.SUSPEND, Operation.DELETE} <= operations


@pytest.mark.parametrize(
    ("text", "seconds"),
    [(0, 0.0), (1.5, 1.5), ("90", 90.0), ("500ms", 0.5), ("30s", 30.0), ("5m", 300.0),
     ("1h", 3600.0), (" 2.5m ", 150.0), (".5s", 0.5)],
)  # fmt: skip
def test_durations_are_seconds_or_a_number_with_a_unit(text: object, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "soon", "-1", -1, "5 minutes", "1d", True, None, [1]])
def test_a_duration_that_is_not_one_is_refused(text: object) -> None:
    with pytest.raises(ScenarioError, match="At"):
        parse_duration(text, "At")


@given(st.integers(min_value=0, max_value=10**6), st.sampled_from(["ms", "s", "m", "h"]))
def test_every_unit_scales_its_number(number: int, unit: str) -> None:
    factor = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]
    assert parse_duration(f"{number}{unit}") == pytest.approx(number * factor)


def test_a_step_reads_every_key() -> None:
    scenario = _steps(
        _step(Operation="upgrade", At="1m", For="30s", Every="10m", Times=3,
              VersionName="Release 12", FileVersion="12.0.0"),
        _step(Operation="move", At=5, To="sod9"),
    )  # fmt: skip
    upgrade, move = scenario.steps
    assert upgrade.operation is Operation.UPGRADE
    assert (upgrade.at, upgrade.duration, upgrade.every, upgrade.times) == (60, 30, 600, 3)
    assert upgrade.finishing is Operation.UPGRADE_DONE
    assert upgrade.planned
    assert [upgrade.offset(k) for k in range(3)] == [60, 660, 1260]
    assert upgrade.occurrences == 3
    assert (upgrade.version_name, upgrade.file_version) == ("Release 12", "12.0.0")
    assert move.to_host == "sod9" and not move.planned
    assert move.finishing is None and move.occurrences == 1


def test_moves_and_incidents_are_unscheduled_unless_told_otherwise() -> None:
    scenario = _steps(
        _step(Operation="incident", For=5),
        _step(Operation="move", To="sod3", Planned=True),
        _step(Operation="suspend", Planned=False),
    )
    assert [step.planned for step in scenario.steps] == [False, True, False]


def test_a_repeating_step_without_times_repeats_for_as_long_as_the_sandbox_runs() -> None:
    (step,) = _steps(_step(Operation="upgrade", For=10, Every=60)).steps
    assert step.occurrences is None


def test_tenants_take_a_host_a_state_and_a_version() -> None:
    scenario = Scenario.from_json(
        {
            "Tenants": [
                {"ContextIdentifier": "Cust1", "Host": "eu-3", "State": "Suspended",
                 "VersionName": "Release 9", "FileVersion": "9.1.0"},
                {"ContextIdentifier": "Cust2"},
            ]
        }
    )  # fmt: skip
    first, second = scenario.tenants
    assert (first.host, first.state) == ("eu-3", TenantState.Suspended)
    assert (first.version_name, first.file_version) == ("Release 9", "9.1.0")
    assert (second.host, second.state) == ("sod2", TenantState.Running)
    assert scenario.tenant("Cust2") is second
    assert scenario.tenant("Cust3") is None


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("[", "not JSON"),
        ([], "expected a JSON object"),
        ({"Step": []}, "unknown key 'Step'"),
        ({"Tenants": {}}, "Tenants: expected a JSON array"),
        ({"Tenants": [{"Host": "sod2"}]}, r"Tenants\[0\]: ContextIdentifier is required"),
        ({"Tenants": [{"ContextIdentifier": "1bad"}]}, "is not a ContextIdentifier"),
        ({"Tenants": [{"ContextIdentifier": "C1", "Host": "Sod_2"}]}, "is not a host name"),
        ({"Tenants": [{"ContextIdentifier": "C1", "State": "Deleted"}]}, "cannot start"),
        ({"Tenants": [{"ContextIdentifier": "C1"}, {"ContextIdentifier": "C1"}]}, "more than once"),
        ({"Notice": "soon"}, "Notice"),
        ({"Steps": [_step(ContextIdentifier="Cust99")]}, "not one of the scenario's Tenants"),
        ({"Steps": [_step(Operation="explode")]}, "unknown 'explode'; known: provision-done"),
        ({"Steps": [_step(Operation="provision")]}, "under Tenants"),
        ({"Steps": [{"ContextIdentifier": "Cust10001", "Operation": "suspend"}]}, "At is required"),
        ({"Steps": [_step(Operation="move", For=5, To="sod3")]}, "move has no finishing"),
        ({"Steps": [_step(For=10, Every=10)]}, "Every must be longer than For"),
        ({"Steps": [_step(Times=2)]}, "Times needs Every"),
        ({"Steps": [_step(Every=5, Times=0)]}, "at least 1"),
        ({"Steps": [_step(Planned="yes")]}, "true or false"),
        ({"Steps": [_step(Operation="move")]}, "either To"),
        ({"Steps": [_step(Operation="move", To="sod3", Endpoint="https://x/C")]}, "either To"),
        ({"Steps": [_step(To="sod3")]}, "belong to a move"),
        ({"Steps": [_step(Whenever=1)]}, r"Steps\[0\]: unknown key 'Whenever'"),
    ],
)
def test_a_mistake_is_refused_with_where_and_why(document: Any, message: str) -> None:
    text = document if isinstance(document, str) else json.dumps(document)
    with pytest.raises(ScenarioError, match=message):
        Scenario.from_json(text)


def test_a_step_describes_itself_for_the_banner() -> None:
    (step,) = _steps(_step(Operation="upgrade", At=60, For=30, Every=600)).steps
    assert step.describe() == "upgrade Cust10001 at +60s for 30s, every 600s"
    (move,) = _steps(_step(Operation="move", To="sod3")).steps
    assert move.describe() == "move Cust10001 at +1s to sod3, unscheduled"
