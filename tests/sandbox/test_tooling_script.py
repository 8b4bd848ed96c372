"""The tooling's script: which upgrades finish, run late or fail, and after how long."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenantstatus.sandbox.scenario import Scenario, ScenarioError
from tenantstatus.sandbox.tooling_script import Outcome, ToolingScript

TENANTS = [f"Cust{n}" for n in range(10_000, 12_000)]


def test_a_seed_picks_the_same_tenants_on_every_run_and_another_seed_others() -> None:
    script = ToolingScript(late=0.05, fail=0.02, seed=7)
    first = [script.fate(ctx, 0) for ctx in TENANTS]
    assert first == [ToolingScript(late=0.05, fail=0.02, seed=7).fate(ctx, 0) for ctx in TENANTS]
    other = [ToolingScript(late=0.05, fail=0.02, seed=8).fate(ctx, 0) for ctx in TENANTS]
    assert first != other


def test_the_shares_of_late_and_failed_upgrades_follow_the_script() -> None:
    script = ToolingScript(late=0.05, fail=0.02, seed=7)
    outcomes = [script.fate(ctx, 0).outcome for ctx in TENANTS]
    assert 60 <= outcomes.count(Outcome.LATE) <= 140  # 5 % of 2,000, give or take
    assert 20 <= outcomes.count(Outcome.FAILED) <= 60  # 2 %
    assert ToolingScript(late=0.0, fail=0.0).fate("Cust1", 0).outcome is Outcome.DONE
    assert ToolingScript(fail=1.0).fate("Cust1", 0).outcome is Outcome.FAILED


def test_a_tenant_upgraded_again_draws_again() -> None:
    script = ToolingScript(fail=0.5, seed=1)
    assert len({script.fate("Cust10001", episode).outcome for episode in range(40)}) == 2


@given(
    duration=st.floats(min_value=0, max_value=3600),
    jitter=st.floats(min_value=0, max_value=0.99),
    late_by=st.none() | st.floats(min_value=0, max_value=3600),
    ctx=st.sampled_from(TENANTS),
    seed=st.integers(),
)
def test_on_time_upgrades_stay_within_the_jitter_and_late_ones_beyond(
    duration: float, jitter: float, late_by: float | None, ctx: str, seed: int
) -> None:
    script = ToolingScript(duration=duration, jitter=jitter, late=0.5, late_by=late_by, seed=seed)
    fate = script.fate(ctx, 0)
    if fate.outcome is Outcome.LATE:
        if late_by is None:
            assert fate.after is None
        else:
            assert fate.after == pytest.approx(script.longest_on_time + late_by)
    else:
        assert fate.after is not None
        assert duration * (1 - jitter) - 1e-9 <= fate.after <= script.longest_on_time + 1e-9


def test_the_scenario_carries_the_tooling_script() -> None:
    scenario = Scenario.from_json(
        '{"Tooling": {"Duration": "2m", "Late": 0.05, "LateBy": "30s", "Fail": 0.01, '
        '"Seed": 3, "Concurrency": 50, "Jitter": 0}}'
    )
    assert scenario.tooling == ToolingScript(
        duration=120.0, jitter=0.0, late=0.05, late_by=30.0, fail=0.01, seed=3, concurrency=50
    )
    assert Scenario.from_json("{}").tooling is None


@pytest.mark.parametrize(
    ("tooling", "message"),
    [
        ('{"Late": 0.7, "Fail": 0.5}', "Late and Fail add up to more than 1"),
        ('{"Fail": 2}', "Tooling.Fail: a share from 0 to 1"),
        ('{"Jitter": 1}', "Tooling.Jitter"),
        ('{"Concurrency": 0}', "Tooling.Concurrency: from 1"),
        ('{"Seed": "x"}', "Tooling.Seed: expected a whole number"),
        ('{"Duration": "soon"}', "Tooling.Duration: expected seconds"),
        ('{"Speed": 1}', "Tooling: unknown key 'Speed'"),
        ("[]", "Tooling: expected a JSON object"),
    ],
)
def test_a_tooling_script_with_a_mistake_is_refused_with_where_and_why(
    tooling: str, message: str
) -> None:
    with pytest.raises(ScenarioError, match=message.replace(".", r"\.")):
        Scenario.from_json('{"Tooling": ' + tooling + "}")


def test_a_step_may_not_finish_what_the_tooling_finishes() -> None:
    step = '{"At": 1, "ContextIdentifier": "Cust10001", "Operation": "upgrade", "For": 5}'
    with pytest.raises(ScenarioError, match=r"Steps\[0\]\.For: the tooling finishes every upgrade"):
        Scenario.from_json('{"Tooling": {}, "Steps": [' + step + "]}")
    suspend = step.replace("upgrade", "suspend")
    assert Scenario.from_json('{"Tooling": {}, "Steps": [' + suspend + "]}").tooling is not None
