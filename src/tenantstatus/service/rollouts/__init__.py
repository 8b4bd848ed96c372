"""Rollouts: one operation over a frozen selection of tenants, in waves, with a cap.

`RolloutService` creates and steers them; `Conductor` releases the waves; the routes
are in `routes` (imported by the app, not here, so that `services` can import this).
"""

from __future__ import annotations

from tenantstatus.service.rollouts.conductor import Conductor
from tenantstatus.service.rollouts.plan import WaveShape, format_span
from tenantstatus.service.rollouts.service import RolloutService

__all__ = ["Conductor", "RolloutService", "WaveShape", "format_span"]
