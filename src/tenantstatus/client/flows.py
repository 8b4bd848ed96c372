"""Sans-I/O flows: a generator says what to fetch, a sync or an async driver fetches it.

As httpx drives its auth flows: the core yields each URL it needs and is sent back the
body; an exception from the fetch is thrown into the generator, which decides what it
means. The flow's return value is the driver's. A driver stopped midway (cancelled)
closes the flow, so its `finally` blocks run at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from typing import TypeVar

__all__ = ["Flow", "arun_flow", "run_flow"]

T = TypeVar("T")

Flow = Generator[str, bytes, T]


def run_flow(flow: Flow[T], fetch: Callable[[str], bytes]) -> T:
    """Drive `flow`, fetching each URL it asks for with `fetch`."""
    try:
        url = next(flow)
        while True:
            try:
                body = fetch(url)
            except Exception as exc:
                url = flow.throw(exc)
            else:
                url = flow.send(body)
    except StopIteration as done:
        result: T = done.value
        return result
    finally:
        flow.close()


async def arun_flow(flow: Flow[T], fetch: Callable[[str], Awaitable[bytes]]) -> T:
    """Drive `flow`, fetching each URL it asks for with the coroutine `fetch`."""
    try:
        url = next(flow)
        while True:
            try:
                body = await fetch(url)
            except Exception as exc:
                url = flow.throw(exc)
            else:
                url = flow.send(body)
    except StopIteration as done:
        result: T = done.value
        return result
    finally:
        flow.close()
