"""Settings from the environment: every variable parsed, checked and documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenantstatus.config import ENVIRONMENT, ConfigError, Settings
from tenantstatus.retry import RetrySchedule

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.parametrize("variable", sorted(v for v, _ in ENVIRONMENT.values()))
def test_every_variable_is_in_the_readme_configuration_table(variable: str) -> None:
    assert f"| `{variable}` |" in README.read_text()


def test_values_are_parsed_into_their_types() -> None:
    settings = Settings.from_env(
        {
            "TENANTSTATUS_SIGNING_THREADS": "0",
            "TENANTSTATUS_DELIVERY_CONCURRENCY": "64",
            "TENANTSTATUS_DELIVERY_TIMEOUT": "2.5",
            "TENANTSTATUS_ALLOW_HTTP": "1",
        }
    )
    assert settings.signing_threads == 0
    assert settings.delivery_concurrency == 64
    assert settings.delivery_timeout == 2.5
    assert settings.allow_http is True


def test_unset_variables_keep_the_defaults() -> None:
    assert Settings.from_env({}) == Settings()
    assert Settings().signing_threads == 1


@pytest.mark.parametrize(
    ("variable", "raw"),
    [
        ("TENANTSTATUS_SIGNING_THREADS", "-1"),
        ("TENANTSTATUS_SIGNING_THREADS", "two"),
        ("TENANTSTATUS_DELIVERY_CONCURRENCY", "0"),
        ("TENANTSTATUS_DELIVERY_TIMEOUT", "-3"),
        ("TENANTSTATUS_SIGNING_ALG", "HS256"),
    ],
)
def test_a_bad_value_is_an_error_that_names_the_variable(variable: str, raw: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        Settings.from_env({variable: raw})


def test_settings_survive_the_trip_through_the_environment(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        allow_http=True,
        allowed_networks=("127.0.0.0/8", "10.0.0.0/8"),
        delivery_processes=2,
        signing_alg="ES256",
        retry_schedule=RetrySchedule((0, 2.5, 60)),
        delivery_timeout=2.5,
        port=9999,
    )
    again = Settings.from_env(settings.to_env())
    assert again.resolved_database_url == settings.resolved_database_url
    assert again.resolved_public_url == settings.resolved_public_url == "http://127.0.0.1:9999"
    for name in ("data_dir", "allow_http", "allowed_networks", "delivery_processes"):
        assert getattr(again, name) == getattr(settings, name), name
    assert (again.signing_alg, again.delivery_timeout) == ("ES256", 2.5)
    assert again.retry_schedule == settings.retry_schedule


def test_the_retry_schedule_and_algorithm_are_parsed_once_into_their_types() -> None:
    settings = Settings.from_env(
        {"TENANTSTATUS_RETRY_SCHEDULE": "0, 5,300", "TENANTSTATUS_SIGNING_ALG": "ES256"}
    )
    assert settings.retry_schedule == RetrySchedule((0.0, 5.0, 300.0))
    assert settings.signing_alg == "ES256"
    with pytest.raises(ConfigError, match="TENANTSTATUS_RETRY_SCHEDULE"):
        Settings.from_env({"TENANTSTATUS_RETRY_SCHEDULE": "5,-1"})
