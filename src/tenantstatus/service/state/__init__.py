"""The public state API: answers kept pre-serialised in memory, served below FastAPI.

`StateCache` holds each tenant's answer as bytes, `StateRoute` serves it as bare ASGI,
and `StateFastProtocol` answers keep-alive requests for it straight from uvicorn's
protocol, before any ASGI machinery.
"""

from __future__ import annotations

from tenantstatus.service.state.cache import Answer, StateCache, ValidityClock
from tenantstatus.service.state.fast_protocol import StateFastProtocol
from tenantstatus.service.state.route import StateRoute

__all__ = ["Answer", "StateCache", "StateFastProtocol", "StateRoute", "ValidityClock"]
