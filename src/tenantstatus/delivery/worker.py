"""One dispatch process: the dispatcher alone, driven by `serve` over a socket pair.

`tenantstatus dispatch --channel-fd N` runs this; `DispatchProcesses` starts it. It
reads the same settings as the service, from the environment the service gives it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from datetime import timedelta

from tenantstatus.clock import SystemClock
from tenantstatus.config import Settings
from tenantstatus.delivery import channel
from tenantstatus.delivery.assembly import build_dispatcher
from tenantstatus.delivery.control import InProcessDelivery
from tenantstatus.delivery.signing_keys import KeyService
from tenantstatus.store import SqlStore
from tenantstatus.store.secret_box import SecretBox

__all__ = ["run_dispatch_process", "run_dispatch_worker"]

log = logging.getLogger(__name__)

_UP_BUFFER = 1024 * 1024


def run_dispatch_process(settings: Settings, channel_fd: int) -> None:
    """Be a dispatch process until it ends: on uvloop when it is installed."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(run_dispatch_worker(settings, channel_fd))
    else:
        uvloop.run(run_dispatch_worker(settings, channel_fd))


async def run_dispatch_worker(settings: Settings, channel_fd: int) -> None:
    """Dispatch until the service closes the channel or sends SIGTERM."""
    reader, writer = await asyncio.open_unix_connection(sock=socket.socket(fileno=channel_fd))

    def report(message: bytes) -> None:
        # Metrics are worth less than deliveries: if the service stops reading, drop them.
        if not writer.is_closing() and writer.transport.get_write_buffer_size() < _UP_BUFFER:
            writer.write(message)

    clock = SystemClock()
    store = SqlStore(settings.resolved_database_url)
    await store.open()
    box = SecretBox.from_data_dir(settings.data_dir, settings.secret_key)
    keys = KeyService(
        store, box, clock, settings.signing_alg, timedelta(seconds=settings.key_publish_seconds)
    )
    await keys.refresh()
    delivery = build_dispatcher(
        settings,
        store,
        box,
        keys,
        clock,
        observe=lambda outcome, latency: report(channel.attempt(outcome, latency)),
        report_depth=lambda rows: report(channel.depth(rows)),
    )
    delivery.start()
    refresher = asyncio.create_task(keys.keep_fresh())
    listening = asyncio.create_task(_listen(reader, delivery, keys))
    terminated = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, terminated.set)
    waiting = asyncio.create_task(terminated.wait())
    try:
        await asyncio.wait({listening, waiting}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (listening, waiting, refresher):
            task.cancel()
        await delivery.stop()
        await store.close()
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        writer.close()


async def _listen(
    reader: asyncio.StreamReader, delivery: InProcessDelivery, keys: KeyService
) -> None:
    """Follow the service's messages until it closes the channel."""
    with contextlib.suppress(ConnectionError, ValueError):
        async for line in reader:
            verb, args = channel.parse(line)
            if verb == "wake":
                delivery.wake()
            elif verb == "keys":
                try:
                    await keys.refresh()
                except Exception as exc:
                    log.warning("could not reload signing keys: %s", exc)
            elif verb == "forget" and len(args) == 1:
                delivery.forget(args[0])
