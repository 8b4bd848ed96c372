"""Prometheus metrics, on a registry of the service's own (one per app, so tests can run many)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from tenantstatus.model import TenantState

__all__ = ["ServiceMetrics"]


class _LiveCollector(Collector):
    """Numbers read at scrape time, so the hot path only bumps a plain integer."""

    def __init__(
        self,
        state_requests: Callable[[], int],
        tenants_by_state: Callable[[], dict[TenantState, int]],
    ) -> None:
        self._state_requests = state_requests
        self._tenants_by_state = tenants_by_state

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        yield CounterMetricFamily(
            "tenantstatus_state_requests",
            "Requests answered by the state API.",
            value=self._state_requests(),
        )
        tenants = GaugeMetricFamily(
            "tenantstatus_tenants", "Tenants by lifecycle state.", labels=["state"]
        )
        counts = self._tenants_by_state()
        for state in TenantState:
            tenants.add_metric([state.name], counts.get(state, 0))
        yield tenants


class ServiceMetrics:
    """The service's metrics."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.operations = Counter(
            "tenantstatus_operations",
            "Tenant operations run, by operation and outcome.",
            ["operation", "outcome"],
            registry=self.registry,
        )
        self.admin_latency = Histogram(
            "tenantstatus_admin_request_seconds",
            "Operator API request latency.",
            ["method", "status"],
            registry=self.registry,
        )
        self.delivery_attempts = Counter(
            "tenantstatus_delivery_attempts",
            "Notification delivery attempts, by outcome.",
            ["outcome"],
            registry=self.registry,
        )
        self.delivery_latency = Histogram(
            "tenantstatus_delivery_seconds",
            "Time from sending a notification to the receiver's answer.",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15),
            registry=self.registry,
        )
        self.outbox_depth = Gauge(
            "tenantstatus_outbox_depth",
            "Deliveries waiting to be delivered (sampled).",
            registry=self.registry,
        )

        self.delivery_retention = Gauge(
            "tenantstatus_delivery_retention_seconds",
            "How long finished deliveries are kept before they are deleted.",
            registry=self.registry,
        )
        self.pruned_rows = Counter(
            "tenantstatus_pruned_rows",
            "Rows deleted by the retention sweep, by table.",
            ["table"],
            registry=self.registry,
        )

        self.rollout_tenants = Gauge(
            "tenantstatus_rollout_tenants",
            "A rollout's tenants by phase: planned, in_progress, done, late, refused, cancelled.",
            ["rollout", "phase"],
            registry=self.registry,
        )
        self.rollout_waves = Gauge(
            "tenantstatus_rollout_waves_released",
            "How many of a rollout's waves are released.",
            ["rollout"],
            registry=self.registry,
        )

    def observe_rollout(self, rollout_id: int, phases: dict[str, int], waves_released: int) -> None:
        """Set one rollout's gauges."""
        for phase, count in phases.items():
            self.rollout_tenants.labels(rollout=str(rollout_id), phase=phase).set(count)
        self.rollout_waves.labels(rollout=str(rollout_id)).set(waves_released)

    def observe_pruned(self, deliveries: int, attempts: int) -> None:
        """Count rows the retention sweep deleted."""
        self.pruned_rows.labels(table="deliveries").inc(deliveries)
        self.pruned_rows.labels(table="delivery_attempts").inc(attempts)

    def observe_delivery(self, outcome: str, latency: float | None) -> None:
        """Count one delivery attempt by outcome and record its latency."""
        self.delivery_attempts.labels(outcome=outcome).inc()
        if latency is not None:
            self.delivery_latency.observe(latency)

    def watch(
        self,
        state_requests: Callable[[], int],
        tenants_by_state: Callable[[], dict[TenantState, int]],
    ) -> None:
        """Expose numbers the service keeps itself."""
        self.registry.register(_LiveCollector(state_requests, tenants_by_state))
