"""Service settings, read from `TENANTSTATUS_*` environment variables.

CLI flags override the environment; `Settings.from_env(**overrides)` merges both.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

__all__ = ["ConfigError", "Settings"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080


ENVIRONMENT: Mapping[str, str] = {
    "data_dir": "TENANTSTATUS_DATA_DIR",
    "database_url": "TENANTSTATUS_DATABASE_URL",
    "public_url": "TENANTSTATUS_PUBLIC_URL",
    "operator_token": "TENANTSTATUS_OPERATOR_TOKEN",
    "state_ttl": "TENANTSTATUS_STATE_TTL",
}


class ConfigError(ValueError):
    """A setting has a value the service cannot use."""


def _int(name: str, raw: str, *, minimum: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the service needs to start. Defaults give a working single-node service."""

    data_dir: Path = Path("./data")
    database_url: str | None = None
    public_url: str | None = None
    operator_token: str | None = field(default=None, repr=False)
    state_ttl: int = 60
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    workers: int = 1
    max_body_bytes: int = 1_048_576
    import_max_body_bytes: int = 64 * 1_048_576
    scheduler_interval: float = 1.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read the environment, then apply the non-None `overrides` (CLI flags)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name, variable in ENVIRONMENT.items():
            raw = env.get(variable)
            if raw in (None, ""):
                continue
            values[name] = raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ConfigError(f"unknown settings: {', '.join(sorted(unknown))}")
        if "data_dir" in values:
            values["data_dir"] = Path(values["data_dir"])
        for name, minimum in (("state_ttl", 1), ("port", 0), ("workers", 1)):
            if name in values and not isinstance(values[name], int):
                values[name] = _int(ENVIRONMENT.get(name, name), str(values[name]), minimum=minimum)
            elif name in values and values[name] < minimum:
                raise ConfigError(f"{name} must be at least {minimum}")
        return cls(**values)

    @property
    def resolved_database_url(self) -> str:
        """The SQLAlchemy async URL; the default is SQLite under the data directory."""
        url = self.database_url or f"sqlite:///{(self.data_dir / 'tenantstatus.db').resolve()}"
        if url.startswith("sqlite:///"):
            return "sqlite+aiosqlite:///" + url.removeprefix("sqlite:///")
        if url.startswith(("postgresql://", "postgres://")):
            return "postgresql+asyncpg://" + url.split("://", 1)[1]
        return url

    @property
    def resolved_public_url(self) -> str:
        """The URL clients use to reach this service (the JWT issuer later on)."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host  # noqa: S104
        return f"http://{host}:{self.port}"
