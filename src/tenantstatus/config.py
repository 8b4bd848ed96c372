"""Service settings, read from `TENANTSTATUS_*` environment variables.

CLI flags override the environment; `Settings.from_env(**overrides)` merges both.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import timedelta
from pathlib import Path
from typing import Any

from tenantstatus.retry import RetrySchedule
from tenantstatus.tokens import ALGORITHMS, Algorithm

__all__ = ["ENVIRONMENT", "ConfigError", "Settings"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080


class ConfigError(ValueError):
    """A setting has a value the service cannot use."""


def _integer(minimum: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        value = int(raw)
        if value < minimum:
            raise ValueError(f"must be at least {minimum}")
        return value

    return parse


def _positive_float(raw: str) -> float:
    value = float(raw)
    if value <= 0:
        raise ValueError("must be above 0")
    return value


def _flag(raw: str) -> bool:
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("must be 1 or 0")


def _algorithm(raw: str) -> Algorithm:
    for algorithm in ALGORITHMS:
        if raw == algorithm:
            return algorithm
    raise ValueError(f"must be {' or '.join(ALGORITHMS)}")


def _networks(raw: str) -> tuple[str, ...]:
    import ipaddress

    networks = tuple(part.strip() for part in raw.split(",") if part.strip())
    for network in networks:
        ipaddress.ip_network(network, strict=False)
    return networks


def _schedule(raw: str) -> RetrySchedule:
    try:
        return RetrySchedule.parse(raw)
    except ValueError:
        raise ValueError("must be comma-separated seconds, none negative") from None


# field -> (environment variable, parser)
ENVIRONMENT: Mapping[str, tuple[str, Callable[[str], Any]]] = {
    "data_dir": ("TENANTSTATUS_DATA_DIR", Path),
    "database_url": ("TENANTSTATUS_DATABASE_URL", str),
    "public_url": ("TENANTSTATUS_PUBLIC_URL", str),
    "operator_token": ("TENANTSTATUS_OPERATOR_TOKEN", str),
    "state_ttl": ("TENANTSTATUS_STATE_TTL", _integer(1)),
    "signing_alg": ("TENANTSTATUS_SIGNING_ALG", _algorithm),
    "retry_schedule": ("TENANTSTATUS_RETRY_SCHEDULE", _schedule),
    "allow_http": ("TENANTSTATUS_ALLOW_HTTP", _flag),
    "allowed_networks": ("TENANTSTATUS_ALLOWED_NETWORKS", _networks),
    "delivery_concurrency": ("TENANTSTATUS_DELIVERY_CONCURRENCY", _integer(1)),
    "delivery_timeout": ("TENANTSTATUS_DELIVERY_TIMEOUT", _positive_float),
    "signing_threads": ("TENANTSTATUS_SIGNING_THREADS", _integer(0)),
    "delivery_processes": ("TENANTSTATUS_DELIVERY_PROCESSES", _integer(0)),
    "secret_key": ("TENANTSTATUS_SECRET_KEY", str),
    "status_public": ("TENANTSTATUS_STATUS_PUBLIC", _flag),
    "key_publish_seconds": ("TENANTSTATUS_KEY_PUBLISH_SECONDS", _integer(0)),
    "header_timeout": ("TENANTSTATUS_HEADER_TIMEOUT", _positive_float),
    "max_connections": ("TENANTSTATUS_MAX_CONNECTIONS", _integer(1)),
    "delivery_retention_days": ("TENANTSTATUS_DELIVERY_RETENTION_DAYS", _positive_float),
    "max_held_deliveries": ("TENANTSTATUS_MAX_HELD_DELIVERIES", _integer(1)),
}


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
    signing_alg: Algorithm = "RS256"
    retry_schedule: RetrySchedule = field(default_factory=RetrySchedule)
    allow_http: bool = False
    allowed_networks: tuple[str, ...] = ()
    delivery_concurrency: int = 64
    delivery_timeout: float = 15.0
    signing_threads: int = 1
    # 0: the dispatcher runs on the service's event loop; N: in N processes of its own.
    delivery_processes: int = 0
    secret_key: str | None = field(default=None, repr=False)
    # The status overview (/status) and the feed of every tenant: public, or operator-only.
    status_public: bool = False
    # A rotated signing key is in the JWKS this long before it signs (docs/key-rotation.md).
    key_publish_seconds: int = 600
    # Seconds a connection has to send a complete request head (also between keep-alive
    # requests); a slower one is closed.
    header_timeout: float = 10.0
    # Open connections per process; None: what the file-descriptor soft limit leaves room for.
    max_connections: int | None = None
    # Finished deliveries (and their attempts) are deleted this many days after they
    # finished; fractions are fine (0.01 is about 15 minutes).
    delivery_retention_days: float = 90.0
    # Deliveries held per disabled application; beyond it the oldest are dropped.
    max_held_deliveries: int = 10_000

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read the environment, then apply the non-None `overrides` (CLI flags)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name, (variable, parse) in ENVIRONMENT.items():
            raw = env.get(variable)
            if raw is None or raw == "":
                continue
            try:
                values[name] = parse(raw)
            except ValueError as exc:
                raise ConfigError(f"{variable}={raw!r}: {exc}") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        unknown = set(values) - {f.name for f in fields(cls)}
        if unknown:
            raise ConfigError(f"unknown settings: {', '.join(sorted(unknown))}")
        if "data_dir" in values:
            values["data_dir"] = Path(values["data_dir"])
        return cls(**values)

    def child_environment(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment for a worker or dispatch process: `base` with these settings."""
        return {**(os.environ if base is None else base), **self.to_env()}

    def to_env(self) -> dict[str, str]:
        """These settings as the environment `from_env` reads back: for child processes."""
        env: dict[str, str] = {}
        for name, (variable, _) in ENVIRONMENT.items():
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool):
                env[variable] = "1" if value else "0"
            elif isinstance(value, tuple):
                env[variable] = ",".join(value)
            else:
                env[variable] = str(value)
        env[ENVIRONMENT["database_url"][0]] = self.resolved_database_url
        env[ENVIRONMENT["public_url"][0]] = self.resolved_public_url
        return env

    @property
    def delivery_retention(self) -> timedelta:
        """How long finished deliveries are kept."""
        return timedelta(days=self.delivery_retention_days)

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
        """The URL clients use to reach this service; the issuer of its tokens."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host  # noqa: S104
        return f"http://{host}:{self.port}"
