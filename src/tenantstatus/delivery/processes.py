"""Dispatch processes: the dispatcher in processes of its own, supervised by `serve`.

With `TENANTSTATUS_DELIVERY_PROCESSES=N`, the service starts N `tenantstatus dispatch`
processes instead of dispatching on its own event loop. A fan-out then has cores of its
own, and the API and the state API stay quick while it runs. Each child talks to the
service over a socket pair (`dispatch_channel`): the service wakes it when deliveries
are due and tells it of key rotations and changed applications; it reports every
attempt and the outbox depth back, so `/metrics` counts them as before. A child that
exits is started again (after 1 s, doubling up to 30 s while it keeps failing); a child
whose service has gone (the socket closes, even on SIGKILL) finishes what it has in
flight and exits. Claims go through the database as between nodes, so several
processes never send the same delivery at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import sys
from collections.abc import Callable, Mapping

from tenantstatus.delivery import channel
from tenantstatus.delivery.dispatcher import Observer

__all__ = ["DispatchProcesses"]

log = logging.getLogger(__name__)

_RESTART_FIRST = 1.0
_RESTART_MAX = 30.0
_HEALTHY_AFTER = 30.0
_DOWN_BUFFER = 64 * 1024


class DispatchProcesses:
    """Starts, feeds and restarts the dispatch processes; a `DeliveryControl`."""

    def __init__(
        self,
        count: int,
        environ: Mapping[str, str],
        *,
        observe: Observer,
        report_depth: Callable[[int], None],
        stop_timeout: float,
    ) -> None:
        self._children = [
            _Child(n, dict(environ), observe, report_depth, stop_timeout) for n in range(count)
        ]

    def start(self) -> None:
        """Start every child."""
        for child in self._children:
            child.start()

    async def stop(self) -> None:
        """Ask every child to finish its in-flight deliveries and exit; kill stragglers."""
        await asyncio.gather(*(child.stop() for child in self._children))

    def wake(self) -> None:
        """Wake every child."""
        self._send(channel.WAKE)

    def keys_rotated(self) -> None:
        """Make every child reload the signing keys."""
        self._send(channel.KEYS)

    def forget(self, application_id: str) -> None:
        """Make every child drop its cached copy of the application."""
        self._send(channel.forget(application_id))

    def _send(self, message: bytes) -> None:
        for child in self._children:
            child.send(message)


class _Child:
    def __init__(
        self,
        number: int,
        environ: dict[str, str],
        observe: Observer,
        report_depth: Callable[[int], None],
        stop_timeout: float,
    ) -> None:
        self._number = number
        self._environ = environ
        self._observe = observe
        self._report_depth = report_depth
        self._stop_timeout = stop_timeout
        self._process: asyncio.subprocess.Process | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._supervise(), name=f"dispatch-{self._number}")

    def send(self, message: bytes) -> None:
        writer = self._writer
        # A child this far behind has a wake to read already; a dropped `keys` or
        # `forget` is caught up by its key refresh and its recipient cache's expiry.
        if writer is not None and writer.transport.get_write_buffer_size() < _DOWN_BUFFER:
            writer.write(message)

    async def stop(self) -> None:
        self._stopping = True
        if self._writer is not None and self._writer.can_write_eof():
            # The child sees the end of its channel and winds down; its last reports
            # still come up the other half.
            self._writer.write_eof()
        process = self._process
        if process is not None and process.returncode is None:
            try:
                async with asyncio.timeout(self._stop_timeout):
                    await process.wait()
            except TimeoutError:
                log.warning("dispatch process %d did not stop in time; killing it", process.pid)
                process.kill()
                await process.wait()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _supervise(self) -> None:
        delay = _RESTART_FIRST
        loop = asyncio.get_running_loop()
        while not self._stopping:
            started = loop.time()
            try:
                code = await self._run_once()
            except OSError as exc:
                log.error("could not start dispatch process %d: %s", self._number, exc)
                code = None
            if self._stopping:
                return
            if loop.time() - started > _HEALTHY_AFTER:
                delay = _RESTART_FIRST
            log.error(
                "dispatch process %d exited (%s); starting it again in %g s",
                self._number,
                "code " + str(code),
                delay,
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, _RESTART_MAX)

    async def _run_once(self) -> int | None:
        ours, theirs = socket.socketpair()
        try:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tenantstatus",
                "dispatch",
                "--channel-fd",
                str(theirs.fileno()),
                "--log-level",
                logging.getLevelName(logging.getLogger().getEffectiveLevel()).lower(),
                pass_fds=(theirs.fileno(),),
                env=self._environ,
                stdin=asyncio.subprocess.DEVNULL,
                # Its own session: a ^C at the terminal reaches `serve`, which stops it.
                start_new_session=True,
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        reader, self._writer = await asyncio.open_unix_connection(sock=ours)
        log.info("dispatch process %d started (pid %d)", self._number, self._process.pid)
        self._writer.write(channel.WAKE)
        try:
            async for line in reader:
                self._receive(line)
        except (ConnectionError, asyncio.LimitOverrunError, ValueError):
            pass
        finally:
            self._writer.close()
            self._writer = None
        return await self._process.wait()

    def _receive(self, line: bytes) -> None:
        verb, args = channel.parse(line)
        try:
            if verb == "attempt" and len(args) == 2:
                self._observe(args[0], None if args[1] == "-" else float(args[1]))
            elif verb == "depth" and len(args) == 1:
                self._report_depth(int(args[0]))
        except ValueError:
            log.warning("dispatch process %d sent an unreadable line", self._number)
