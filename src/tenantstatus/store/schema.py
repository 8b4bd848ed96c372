"""The database schema, as SQLAlchemy Core tables. Alembic migrations create it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Dialect,
    Float,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    false,
    text,
)
from sqlalchemy.types import TypeDecorator

__all__ = [
    "applications",
    "approvals",
    "deliveries",
    "delivery_attempts",
    "history",
    "metadata",
    "notice_tenants",
    "notice_updates",
    "notices",
    "portal_links",
    "portal_sessions",
    "rollout_events",
    "rollouts",
    "scheduled_operations",
    "service_settings",
    "signing_keys",
    "tenants",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Instant(TypeDecorator[datetime]):
    """An aware UTC datetime kept as integer microseconds since the epoch.

    Integers sort and compare the same on every backend, and never lose the zone.
    """

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> int | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored")
        return (value - _EPOCH) // timedelta(microseconds=1)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return _EPOCH + timedelta(microseconds=int(value))


metadata = MetaData()

tenants = Table(
    "tenants",
    metadata,
    Column("context_identifier", String(64), primary_key=True),
    Column("endpoint", Text, nullable=False),
    Column("state", SmallInteger, nullable=False),
    Column("state_since", Instant, nullable=False),
    Column("created_at", Instant, nullable=False),
    Column("updated_at", Instant, nullable=False),
    Column("version_name", Text, nullable=False, server_default=""),
    Column("file_version", Text, nullable=False, server_default=""),
    Column("version_document", Text, nullable=False, server_default="{}"),
    Column("activity", String(16)),
    Column("pending_version", Text),
    Column("state_before_incident", SmallInteger),
    Column("revision", BigInteger, nullable=False),
    Index("ix_tenants_state_ctx", "state", "context_identifier"),
    Index("ix_tenants_revision", "revision"),
)

history = Table(
    "tenant_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("context_identifier", String(64), nullable=False),
    Column("operation", String(32), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("at", Instant, nullable=False),
    Column("from_state", SmallInteger),
    Column("to_state", SmallInteger, nullable=False),
    Column("change_type", SmallInteger),
    Column("detail", Text),
    # Scheduled ahead or carrying a message (migration 0008): announced maintenance.
    Column("announced", Boolean, nullable=False, server_default=false()),
    Index("ix_history_ctx_id", "context_identifier", "id"),
    Index("ix_history_ctx_at", "context_identifier", "at", "id"),
)

scheduled_operations = Table(
    "scheduled_operations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("context_identifier", String(64), nullable=False),
    Column("operation", String(32), nullable=False),
    Column("parameters", Text, nullable=False, server_default="{}"),
    Column("run_at", Instant, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_by", String(128), nullable=False),
    Column("created_at", Instant, nullable=False),
    Column("finished_at", Instant),
    Column("error", Text),
    # Raised on every change to the tenant's schedule: its calendar event's SEQUENCE.
    Column("revision", Integer, nullable=False, server_default="0"),
    # A rollout's operations (0011): its wave, where the tenant is in it, and held
    # until the conductor releases the wave.
    Column("rollout_id", Integer),
    Column("wave", Integer),
    Column("rollout_phase", String(16)),
    Column("held", Boolean, nullable=False, server_default=false()),
    Index("ix_scheduled_status_run_at", "status", "run_at"),
    Index("ix_scheduled_ctx_status", "context_identifier", "status"),
    # Counts by phase, and the conductor's held tenants whose instant is passing.
    Index("ix_scheduled_rollout_phase", "rollout_id", "rollout_phase", "run_at"),
    Index("ix_scheduled_rollout_wave", "rollout_id", "wave"),
    Index("ix_scheduled_runnable", "status", "held", "run_at"),  # skips held ones
    Index("ix_scheduled_phase_ctx", "rollout_phase", "context_identifier"),
)

rollouts = Table(
    "rollouts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("operation", String(32), nullable=False),
    Column("parameters", Text, nullable=False),
    Column("message", Text),
    Column("selection", Text, nullable=False),
    Column("start_at", Instant, nullable=False),
    Column("window_end", Instant, nullable=False),
    Column("batch_size", Integer, nullable=False),
    Column("max_in_progress", Integer, nullable=False),
    Column("expected_seconds", Integer, nullable=False),
    Column("max_failures", Integer),
    Column("max_failure_percent", Float),
    Column("tenant_count", Integer, nullable=False),
    Column("wave_count", Integer, nullable=False),
    Column("next_wave", Integer, nullable=False),
    Column("forgiven", Integer, nullable=False, server_default="0"),  # failures before resume
    Column("status", String(16), nullable=False),
    Column("reason", Text),
    Column("created_by", String(128), nullable=False),
    Column("created_at", Instant, nullable=False),
    Column("started_at", Instant),
    Column("finished_at", Instant),
    Index("ix_rollouts_status", "status", "id"),
)

rollout_events = Table(
    "rollout_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("rollout_id", Integer, nullable=False),
    Column("action", String(16), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("at", Instant, nullable=False),
    Column("detail", Text),
    Index("ix_rollout_events_rollout", "rollout_id", "id"),
    Index("ix_rollout_events_at", "at", "id"),
)

service_settings = Table(
    "service_settings",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

signing_keys = Table(
    "signing_keys",
    metadata,
    Column("kid", String(64), primary_key=True),
    Column("algorithm", String(8), nullable=False),
    Column("private_key", Text, nullable=False),  # encrypted PEM
    Column("created_at", Instant, nullable=False),  # published from
    Column("retired_at", Instant),  # signs until
    Column("signs_from", Instant),  # set on every row since migration 0005
)

applications = Table(
    "applications",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("url", Text, nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("secret", Text, nullable=False),  # encrypted
    Column("previous_secret", Text),  # encrypted; also signs until previous_secret_until
    Column("previous_secret_until", Instant),
    Column("enabled", Boolean, nullable=False),
    Column("disabled_reason", Text),
    Column("disabled_at", Instant),
    Column("created_at", Instant, nullable=False),
)

approvals = Table(
    "approvals",
    metadata,
    Column("application_id", String(32), primary_key=True),
    Column("context_identifier", String(64), primary_key=True),
    Column("approved_at", Instant, nullable=False),
    Index("ix_approvals_ctx", "context_identifier"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", String(40), nullable=False, unique=True),
    Column("application_id", String(32), nullable=False),
    Column("context_identifier", String(64), nullable=False),
    Column("history_id", Integer, nullable=False),
    Column("change_type", SmallInteger, nullable=False),
    Column("version_name", Text, nullable=False),
    Column("file_version", Text, nullable=False),
    Column("public_endpoint", Text),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", Instant, nullable=False),
    Column("claimed_until", Instant),
    Column("created_at", Instant, nullable=False),
    Column("finished_at", Instant),
    Column("last_status", Integer),
    Column("last_error", Text),
    # A test notification (`app test`): no tenant changed (migration 0006).
    Column("test", Boolean, nullable=False, server_default=false()),
    Index("ix_deliveries_due", "status", "next_attempt_at"),
    Index("ix_deliveries_pair", "application_id", "context_identifier", "seq"),
    Index("ix_deliveries_app_created", "application_id", "created_at"),
    Index("ix_deliveries_app_seq", "application_id", "seq"),  # the portal's pages (0009)
    # Partial: only what the dispatcher claims from (migration 0004).
    Index(
        "ix_deliveries_pending_due",
        "next_attempt_at",
        "seq",
        postgresql_where=text("status = 'pending'"),
        sqlite_where=text("status = 'pending'"),
    ),
    Index(
        "ix_deliveries_pending_pair",
        "application_id",
        "context_identifier",
        "seq",
        postgresql_where=text("status = 'pending'"),
        sqlite_where=text("status = 'pending'"),
    ),
    # Partial: only finished rows, which pruning deletes after the retention (0005).
    Index(
        "ix_deliveries_finished",
        "finished_at",
        "seq",
        postgresql_where=text("finished_at IS NOT NULL"),
        sqlite_where=text("finished_at IS NOT NULL"),
    ),
)

delivery_attempts = Table(
    "delivery_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("delivery_seq", Integer, nullable=False),
    Column("at", Instant, nullable=False),
    Column("status_code", Integer),
    Column("latency_ms", Integer, nullable=False),
    Column("error", Text),
    Column("response_excerpt", Text),
    Index("ix_attempts_delivery", "delivery_seq", "id"),
)

# The vendor portal (migration 0009): tokens kept as SHA-256 hashes only.
portal_sessions = Table(
    "portal_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("application_id", String(32), nullable=False),
    Column("created_at", Instant, nullable=False),
    Column("expires_at", Instant, nullable=False),
    Index("ix_portal_sessions_app", "application_id", "created_at"),
    Index("ix_portal_sessions_expires", "expires_at"),
)

portal_links = Table(
    "portal_links",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("application_id", String(32), nullable=False),
    Column("created_at", Instant, nullable=False),
    Column("expires_at", Instant, nullable=False),
    Column("used_at", Instant),
    Index("ix_portal_links_expires", "expires_at"),
)

# A notice is one row whatever it covers (migration 0008); its updates are rows of
# their own, and a list notice's tenants are in `notice_tenants`.
notices = Table(
    "notices",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("scope", String(8), nullable=False),
    Column("context_identifier", String(64)),  # scope tenant
    Column("host", String(253)),  # scope host, lower case
    Column("body", Text, nullable=False),
    Column("posted_by", String(128), nullable=False),
    Column("posted_at", Instant, nullable=False),
    Column("expected_end", Instant),
    Column("updated_at", Instant, nullable=False),
    Column("resolved_at", Instant),
    Column("resolution", String(16)),
    Column("operation", String(32)),
    Column("scheduled_id", Integer),
    Column("history_id", Integer),
    Index("ix_notices_ctx", "context_identifier", "id"),
    Index("ix_notices_host", "host", "id"),
    Index("ix_notices_scheduled", "scheduled_id"),
    Index(
        "ix_notices_open",
        "id",
        postgresql_where=text("resolved_at IS NULL"),
        sqlite_where=text("resolved_at IS NULL"),
    ),
)

notice_updates = Table(
    "notice_updates",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("notice_id", Integer, nullable=False),
    Column("body", Text, nullable=False),
    Column("posted_by", String(128), nullable=False),
    Column("posted_at", Instant, nullable=False),
    Index("ix_notice_updates_notice", "notice_id", "id"),
)

notice_tenants = Table(
    "notice_tenants",
    metadata,
    Column("notice_id", Integer, primary_key=True),
    Column("context_identifier", String(64), primary_key=True),
    Index("ix_notice_tenants_ctx", "context_identifier", "notice_id"),
)
