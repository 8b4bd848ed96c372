"""Bounded connections: a header timeout, a per-process cap and the file-descriptor budget.

The state API is public and unauthenticated, so a client that opens sockets and never
finishes a request must not be able to hold them. `BoundedHttpProtocol` is uvicorn's
httptools protocol with two rules added:

* a connection that has not sent a complete request head within `header_timeout`
  seconds of opening, or of its previous response (keep-alive), is closed. Bytes that
  trickle in do not restart the clock (uvicorn's own keep-alive timer restarts on any
  byte, which is what lets slowloris connections live forever);
* past `max_connections` open connections in this process, a new connection is reset
  the moment it is accepted, before a byte is read, while established ones are served.
  The cap sits below the soft file-descriptor limit, so the process never runs out of
  descriptors (then `accept` fails and every new client, healthy or not, is turned away).

    >>> prepare_process(header_timeout=10.0, max_connections=None)  # raises, logs fd limits
    >>> uvicorn.run(app, http="tenantstatus.service.state.fast_protocol:StateFastProtocol")

All connections of one event loop share one header clock (`HeadClock`): a timer wheel
with one loop timer, not a timer per connection. With 10,000 idle connections, 10,000
timers in the loop's heap would make every keep-alive timer uvicorn arms per request
walk a heap of 10,000 cold entries.

The limits are per process, as the fd limit they derive from is: `prepare_process` sets
them at process start (`serve`, and each worker in `app_from_environment`), and every
protocol instance reads them. uvicorn is given the protocol by name, so a spawned
worker does not import the service before it answers its supervisor's health check.
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import math
import resource
import socket
import struct
import time
import weakref
from asyncio import AbstractEventLoop, Transport
from asyncio.events import TimerHandle
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = [
    "HEAD_CLOCK_TICK",
    "BoundedHttpProtocol",
    "ConnectionLimits",
    "HeadClock",
    "default_max_connections",
    "prepare_process",
    "process_limits",
    "raise_fd_limit",
]

log = logging.getLogger(__name__)

# Descriptors kept free of client connections: the database, outbound deliveries, the
# dispatch processes' pipes, logs, and the one `accept` that refuses a connection.
FD_RESERVE = 1024
# When the hard limit is unlimited, Linux still caps descriptors at fs.nr_open.
_UNLIMITED_TARGET = 1_048_576
_REFUSAL_LOG_INTERVAL = 10.0
_RESET_ON_CLOSE = struct.pack("ii", 1, 0)
# The header clock's resolution: a connection is closed at most this late, never early.
HEAD_CLOCK_TICK = 0.25


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """How long a request head may take, and how many connections one process holds."""

    header_timeout: float = 10.0
    max_connections: int = 1024


def raise_fd_limit() -> tuple[int, int]:
    """Raise the soft file-descriptor limit to the hard limit; return (soft, hard) after."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = _UNLIMITED_TARGET if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError) as exc:
            log.warning("could not raise the file-descriptor soft limit to %d: %s", target, exc)
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return soft, hard


def default_max_connections(soft_limit: int) -> int:
    """The connection cap that leaves room for everything else under `soft_limit` fds."""
    if soft_limit == resource.RLIM_INFINITY:
        soft_limit = _UNLIMITED_TARGET
    return max(16, soft_limit - min(FD_RESERVE, soft_limit // 4))


def prepare_process(header_timeout: float, max_connections: int | None) -> ConnectionLimits:
    """At process start: raise the fd limit, log both limits, and resolve the cap."""
    before, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    soft, hard = raise_fd_limit()
    budget = default_max_connections(soft)
    cap = budget if max_connections is None else max_connections
    log.info(
        "file descriptors: soft limit %s (was %s), hard limit %s; at most %d connections, "
        "request heads within %gs",
        _limit(soft),
        _limit(before),
        _limit(hard),
        cap,
        header_timeout,
    )
    if cap > budget:
        log.warning(
            "max connections %d is above this process's file-descriptor budget %d "
            "(soft limit %s); past it, new clients fail at accept",
            cap,
            budget,
            _limit(soft),
        )
    _Process.limits = ConnectionLimits(header_timeout=header_timeout, max_connections=cap)
    return _Process.limits


def process_limits() -> ConnectionLimits:
    """This process's limits: those `prepare_process` set, else the defaults for its fds."""
    if _Process.limits is None:
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        _Process.limits = ConnectionLimits(max_connections=default_max_connections(soft))
    return _Process.limits


class _Process:
    limits: ConnectionLimits | None = None


def _limit(value: int) -> str:
    return "unlimited" if value == resource.RLIM_INFINITY else str(value)


class _Refusals:
    """Counts refused connections and logs them at most every few seconds, not each one."""

    count = 0
    logged_at = 0.0

    @classmethod
    def record(cls, cap: int) -> None:
        cls.count += 1
        now = time.monotonic()
        if now - cls.logged_at >= _REFUSAL_LOG_INTERVAL:
            log.warning(
                "connection cap %d reached: refused %d new connections so far", cap, cls.count
            )
            cls.logged_at = now


class HeadClock:
    """One event loop's request-head deadlines: buckets of `HEAD_CLOCK_TICK` s, one timer.

    A connection sits in at most one bucket, the one its deadline fell in when it was
    put there. When the bucket comes due, each connection in it checks its deadline
    again: a request in progress or a later deadline (a keep-alive request answered
    meanwhile) puts it back, a deadline passed closes it. A request costs two
    assignments; each connection is looked at about once per header timeout.
    """

    def __init__(self, loop: AbstractEventLoop) -> None:
        self.loop = loop
        self._buckets: dict[int, set[BoundedHttpProtocol]] = {}
        self._slots: list[int] = []  # a heap of the buckets' slot numbers
        self._timer: TimerHandle | None = None
        self._armed_slot: int | None = None

    @classmethod
    def of(cls, loop: AbstractEventLoop) -> HeadClock:
        """The clock of `loop`, created at its first connection."""
        clock = _CLOCKS.get(loop)
        if clock is None:
            clock = _CLOCKS[loop] = cls(loop)
        return clock

    def watch(self, connection: BoundedHttpProtocol, due: float) -> int:
        """Look at `connection` again at `due` (or up to one tick later); return its slot."""
        slot = math.ceil(due / HEAD_CLOCK_TICK)
        bucket = self._buckets.get(slot)
        if bucket is None:
            bucket = self._buckets[slot] = set()
            heapq.heappush(self._slots, slot)
        bucket.add(connection)
        if self._armed_slot is None or slot < self._armed_slot:
            self._arm(slot)
        return slot

    def forget(self, connection: BoundedHttpProtocol, slot: int) -> None:
        """`connection` is gone: drop it from its bucket (the bucket's slot stays armed)."""
        bucket = self._buckets.get(slot)
        if bucket is not None:
            bucket.discard(connection)

    def _arm(self, slot: int) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._armed_slot = slot
        self._timer = self.loop.call_at(slot * HEAD_CLOCK_TICK, self._tick)

    def _tick(self) -> None:
        self._timer = self._armed_slot = None
        now = self.loop.time()
        while self._slots and self._slots[0] * HEAD_CLOCK_TICK <= now:
            slot = heapq.heappop(self._slots)
            for connection in self._buckets.pop(slot, ()):
                connection.check_request_head(now)
        if self._slots:
            self._arm(self._slots[0])


_CLOCKS: weakref.WeakKeyDictionary[AbstractEventLoop, HeadClock] = weakref.WeakKeyDictionary()


class BoundedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a request-head timeout and a connection cap."""

    def __init__(self, *args: Any, limits: ConnectionLimits | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits or process_limits()
        # When the next request head is due (loop time), or None while a request is in
        # progress. The loop's one `HeadClock` checks it lazily: a request costs two
        # assignments, not a cancelled and a new timer each (the state API's fast path
        # answers in tens of microseconds, so that churn would be a tenth of it).
        self._head_due: float | None = None
        self._head_slot: int | None = None  # the clock's bucket this connection is in
        self._refused = False

    def connection_made(self, transport: Transport) -> None:  # type: ignore[override]
        if len(self.connections) >= self.limits.max_connections:
            self._refused = True
            _reset(transport)
            _Refusals.record(self.limits.max_connections)
            return
        super().connection_made(transport)
        self._await_request_head()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._refused:
            return
        self._head_due = None
        if self._head_slot is not None:
            HeadClock.of(self.loop).forget(self, self._head_slot)
            self._head_slot = None
        super().connection_lost(exc)

    def on_headers_complete(self) -> None:
        self.request_head_received()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # uvicorn arms its keep-alive timer exactly when the connection goes idle (no
        # pipelined request waiting); the next request head is due from then on.
        if self.timeout_keep_alive_task is not None:
            self._await_request_head()

    def request_head_received(self) -> None:
        """Stop the header clock: a request head is complete."""
        self._head_due = None

    def check_request_head(self, now: float) -> None:
        """The header clock's call: close this connection if its request head is overdue."""
        self._head_slot = None
        due = self._head_due
        if due is None:
            return  # a request is in progress; the clock starts again when it is answered
        if now < due:
            self._head_slot = HeadClock.of(self.loop).watch(self, due)
            return
        transport = self.transport
        if transport.is_closing():
            return
        # A client that does not read its answers leaves them in the write buffer, and
        # close() would wait for it to drain: drop those bytes rather than the bound.
        if transport.get_write_buffer_size():
            transport.abort()
        else:
            transport.close()

    def _await_request_head(self) -> None:
        self._head_due = due = self.loop.time() + self.limits.header_timeout
        if self._head_slot is None:
            self._head_slot = HeadClock.of(self.loop).watch(self, due)


def _reset(transport: Transport) -> None:
    """Close at once with a TCP reset: no FIN handshake, no TIME_WAIT, the fd freed now."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET_ON_CLOSE)
    transport.abort()
