"""Settings from the environment: every variable parsed, checked and documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenantstatus.config import ENVIRONMENT, ConfigError, Settings

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
