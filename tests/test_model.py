from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenantstatus.model import (
    ChangeType,
    StateChangeNotification,
    TenantState,
    TenantStatus,
    VersionInfo,
    WireFormatError,
    format_instant,
    is_valid_context_identifier,
    parse_instant,
)
from tenantstatus.model import parse_instant_with_ticks as parse_ticks

EXAMPLES = Path(__file__).resolve().parents[1] / "spec" / "examples"


def example(name: str) -> bytes:
    return (EXAMPLES / name).read_bytes()


def test_the_eleven_states_have_the_platform_codes() -> None:
    assert {s.name: s.value for s in TenantState} == {
        "Unknown": 0,
        "Provisioning": 1,
        "Running": 2,
        "Deleted": 3,
        "Suspended": 4,
        "OnlineMaintenance": 5,
        "OfflineMaintenance": 6,
        "ProvisioningFailed": 8,
        "Deleting": 10,
        "DeleteFailed": 11,
        "MigrationPending": 12,
    }


def test_is_running_exactly_for_running_and_online_maintenance() -> None:
    running = {s for s in TenantState if s.is_running}
    assert running == {TenantState.Running, TenantState.OnlineMaintenance}


def test_change_types_include_move() -> None:
    assert [(c.name, c.value) for c in ChangeType] == [
        ("Upgrade", 0),
        ("BackupRestored", 1),
        ("Suspend", 2),
        ("Resume", 3),
        ("Delete", 4),
        ("Move", 5),
    ]


@pytest.mark.parametrize("name", ["state-running.json", "state-running-2026.json"])
def test_state_examples_parse_and_round_trip(name: str) -> None:
    raw = example(name)
    status = TenantStatus.from_json(raw)
    assert status.state is TenantState.Running and status.is_running
    assert json.loads(status.to_json()) == json.loads(raw)
    assert TenantStatus.from_json(status.to_json()) == status


def test_compact_state_example_round_trips_byte_for_byte() -> None:
    raw = example("state-running-2026.json")
    assert TenantStatus.from_json(raw).to_json() == raw.strip()


def test_version_is_optional_in_the_state_answer() -> None:
    status = TenantStatus.from_json(example("state-running.json"))
    assert status.version is None
    assert "Version" not in status.to_wire()


@pytest.mark.parametrize("name", ["notification.json", "notification-move.json"])
def test_notification_examples_parse_and_round_trip(name: str) -> None:
    raw = example(name)
    notification = StateChangeNotification.from_json(raw)
    assert json.loads(notification.to_json()) == json.loads(raw)


def test_move_notification_carries_the_bare_public_endpoint() -> None:
    notification = StateChangeNotification.from_json(example("notification-move.json"))
    assert notification.known_change_type is ChangeType.Move
    assert notification.public_endpoint == "sod3.superoffice.com"
    assert notification.to_json() == example("notification-move.json").strip()


def test_version_document_example_round_trips_in_order() -> None:
    info = VersionInfo.from_json(example("api-version.json"))
    assert info.v1 == "https://sod.superoffice.com:443/Cust37911/api/v1/"
    assert info.net_server_label == "Release9_C-2020.10.05-01"
    assert list(json.loads(info.to_json())) == list(json.loads(example("api-version.json")))


def test_unknown_state_names_and_extra_keys_are_kept() -> None:
    document = json.loads(example("state-running-2026.json"))
    document["State"] = "Hibernating"
    document["Region"] = "eu"
    status = TenantStatus.from_json(json.dumps(document))
    assert status.state is None
    assert status.state_name == "Hibernating"
    assert status.extra == {"Region": "eu"}
    assert json.loads(status.to_json()) == document


def test_unknown_change_types_are_tolerated() -> None:
    notification = StateChangeNotification.from_json(
        {"ChangeType": 42, "ContextIdentifier": "Cust1", "Token": "t", "Extra": 1}
    )
    assert notification.known_change_type is None
    assert notification.change_type == 42
    assert notification.extra == {"Extra": 1}


@pytest.mark.parametrize(
    "body",
    [
        b"[]",
        b"not json",
        b'{"ContextIdentifier":"Cust1"}',
        b'{"ContextIdentifier":"C","Endpoint":"e","State":"Running","IsRunning":"yes",'
        b'"ValidUntil":"2020-10-05T09:52:01Z","Api":"a"}',
        b'{"ContextIdentifier":"C","Endpoint":"e","State":"Running","IsRunning":true,'
        b'"ValidUntil":"yesterday","Api":"a"}',
    ],
)
def test_malformed_state_answers_raise_wire_format_error(body: bytes) -> None:
    with pytest.raises(WireFormatError):
        TenantStatus.from_json(body)


def test_valid_until_has_seven_fractional_digits_and_z() -> None:
    instant = datetime(2026, 2, 23, 9, 52, 1, 934296, tzinfo=UTC)
    assert format_instant(instant, ticks=5) == "2026-02-23T09:52:01.9342965Z"


def test_instants_in_other_zones_are_converted_to_utc() -> None:
    assert parse_instant("2026-02-23T10:52:01.5+01:00") == datetime(
        2026, 2, 23, 9, 52, 1, 500000, tzinfo=UTC
    )


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError):
        format_instant(datetime(2026, 1, 1))  # noqa: DTZ001 - the point of the test


@given(
    st.datetimes(
        min_value=datetime(1970, 1, 2),  # noqa: DTZ001
        max_value=datetime(9998, 12, 31),  # noqa: DTZ001
        timezones=st.just(UTC),
    ),
    st.integers(min_value=0, max_value=9),
)
def test_instant_formatting_round_trips(instant: datetime, ticks: int) -> None:
    text = format_instant(instant, ticks=ticks)
    assert len(text.split(".")[1]) == 8 and text.endswith("Z")
    assert parse_ticks(text) == (instant, ticks)


@given(st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,63}", fullmatch=True))
def test_spec_pattern_ids_are_valid(value: str) -> None:
    assert is_valid_context_identifier(value)


@pytest.mark.parametrize("value", ["", "1abc", "a b", "a/b", "x" * 65, "Cust1\n", "Ç1"])
def test_ids_that_break_the_pattern_are_invalid(value: str) -> None:
    assert not is_valid_context_identifier(value)


_URL_CHARACTERS = set(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?#[]@!$&'()*+,;="
)


def _is_escape(text: str, at: int) -> bool:
    pair = text[at + 1 : at + 3]
    return len(pair) == 2 and all(c in "0123456789abcdefABCDEF" for c in pair)


@given(st.text(alphabet=st.characters(codec="ascii") | st.sampled_from("%é €"), min_size=1))
def test_url_text_is_rfc_3986_characters_and_percent_escapes(text: str) -> None:
    from tenantstatus.model import is_url_text

    expected = all(c in _URL_CHARACTERS for c in text.replace("%", "")) and all(
        _is_escape(text, i) for i, c in enumerate(text) if c == "%"
    )
    assert is_url_text(text) == expected
