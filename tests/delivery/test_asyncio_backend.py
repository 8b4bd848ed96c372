"""The asyncio network backend under the dispatcher's HTTP client, against real sockets."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import httpcore2
import pytest

from tenantstatus.delivery.asyncio_backend import AsyncioBackend

pytestmark = pytest.mark.anyio

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def peer(handler: Handler, connections: int = 1) -> AsyncIterator[int]:
    """A TCP server on 127.0.0.1 that runs `handler` per connection; yields its port.

    On exit it waits for the `connections` expected to have reached their handlers, then
    closes them all, so no accepted socket is left for the garbage collector.
    """
    writers: list[asyncio.StreamWriter] = []
    all_arrived = asyncio.Event()
    if connections == 0:
        all_arrived.set()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        if len(writers) >= connections:
            all_arrived.set()
        await handler(reader, writer)

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        async with asyncio.timeout(5):
            await all_arrived.wait()
        for writer in writers:
            writer.close()
        await server.wait_closed()


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    writer.close()


async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Says nothing until the client goes away."""
    await reader.read()
    writer.close()


async def closes_at_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.close()


async def test_what_is_written_is_read_back() -> None:
    async with peer(echo) as port:
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
        await stream.write(b"hello ", timeout=5)
        await stream.write(b"world", timeout=5)
        received = b""
        while len(received) < 11:
            received += await stream.read(4, timeout=5)
        assert received == b"hello world"
        await stream.aclose()


async def test_a_large_body_is_written_whole_through_flow_control() -> None:
    body = bytes(range(256)) * 16384  # 4 MiB: far beyond the socket buffers
    async with peer(echo) as port:
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
        writing = asyncio.create_task(stream.write(body, timeout=10))
        received = bytearray()
        while len(received) < len(body):
            received += await stream.read(65536, timeout=10)
        await writing
        assert bytes(received) == body
        await stream.aclose()


async def test_a_read_that_gets_nothing_times_out() -> None:
    async with peer(silent) as port:
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
        with pytest.raises(httpcore2.ReadTimeout):
            await stream.read(100, timeout=0.05)
        await stream.aclose()


async def test_a_closed_peer_reads_as_the_end_and_is_readable() -> None:
    async with peer(closes_at_once) as port:
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
        assert await stream.read(100, timeout=5) == b""
        # httpcore2 asks this of an idle keep-alive connection before reusing it.
        assert stream.get_extra_info("is_readable") is True
        await stream.aclose()


async def test_an_idle_open_connection_is_not_readable_and_reports_its_peer() -> None:
    async with peer(silent) as port:
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
        assert stream.get_extra_info("is_readable") is False
        assert stream.get_extra_info("server_addr") == ("127.0.0.1", port)
        assert stream.get_extra_info("client_addr")[0] == "127.0.0.1"
        assert stream.get_extra_info("ssl_object") is None
        await stream.aclose()


async def test_a_refused_connection_is_a_connect_error() -> None:
    async with peer(echo, connections=0) as port:
        pass
    with pytest.raises(httpcore2.ConnectError):
        await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)


async def test_writing_after_close_is_a_write_error() -> None:
    async with peer(echo) as port:
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
        await stream.aclose()
        with pytest.raises(httpcore2.WriteError):
            await stream.write(b"late", timeout=5)
