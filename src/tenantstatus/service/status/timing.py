"""The `Server-Timing` header every status answer carries."""

from __future__ import annotations

import time

__all__ = ["HandlerTimer"]


class HandlerTimer:
    """The handler's wall time, and the CPU time the process spent meanwhile (all its
    threads: the database driver's too), which a busy machine does not inflate."""

    def __init__(self) -> None:
        self._started = time.perf_counter()
        self._cpu = time.process_time()

    def header(self) -> str:
        """`app;dur=…, cpu;dur=…` in milliseconds."""
        wall = (time.perf_counter() - self._started) * 1000
        cpu = (time.process_time() - self._cpu) * 1000
        return f"app;dur={wall:.3f}, cpu;dur={cpu:.3f}"
