"""The dispatcher's HTTP/1.1 transport against loopback servers that answer byte for byte."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import httpx2 as httpx
import pytest

from tenantstatus.delivery import UrlPolicy
from tenantstatus.delivery.http11_transport import Http11Transport
from tenantstatus.delivery.safe_transport import GuardedNetworkBackend

pytestmark = pytest.mark.anyio

POLICY = UrlPolicy(allow_http=True, allowed_networks=["127.0.0.0/8"])
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

# An answer: raw bytes to send back, or a callable that gets the request and returns them.
Answer = bytes | Callable[[bytes], bytes]


@dataclass
class Scripted:
    """A loopback server that answers each request with the next scripted answer."""

    answers: list[Answer]
    close_after_each: bool = False
    port: int = 0
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)
    writers: list[asyncio.StreamWriter] = field(default_factory=list)
    ended: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        try:
            while self.answers:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                request = head + await reader.readexactly(length)
                self.requests.append(request)
                answer = self.answers.pop(0)
                writer.write(answer(request) if callable(answer) else answer)
                await writer.drain()
                if self.close_after_each:
                    break
            if not self.close_after_each:
                await reader.read()  # out of answers: hold the connection until the client goes
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            self.ended.set()


@contextlib.asynccontextmanager
async def scripted(*answers: Answer, close_after_each: bool = False) -> AsyncIterator[Scripted]:
    server_state = Scripted(list(answers), close_after_each)
    server = await asyncio.start_server(server_state.handle, "127.0.0.1", 0)
    server_state.port = server.sockets[0].getsockname()[1]
    try:
        yield server_state
    finally:
        server.close()
        for writer in server_state.writers:
            writer.close()
        await server.wait_closed()


@contextlib.asynccontextmanager
async def client(**options: int | float) -> AsyncIterator[httpx.AsyncClient]:
    transport = Http11Transport(
        POLICY,
        GuardedNetworkBackend(POLICY),
        ssl_context=httpx.create_ssl_context(),
        **options,  # type: ignore[arg-type]
    )
    async with httpx.AsyncClient(transport=transport, timeout=5.0) as http:
        yield http


async def test_a_post_is_sent_as_http11_with_its_host_length_and_body() -> None:
    async with scripted(OK) as server, client() as http:
        answer = await http.post(f"http://127.0.0.1:{server.port}/hook?x=1", content=b"{}")
    assert (answer.status_code, answer.text, answer.http_version) == (200, "ok", "HTTP/1.1")
    head, _, body = server.requests[0].partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /hook?x=1 HTTP/1.1"
    assert f"host: 127.0.0.1:{server.port}".encode() in [line.lower() for line in lines]
    assert b"content-length: 2" in [line.lower() for line in lines]
    assert body == b"{}"


async def test_keep_alive_sends_later_requests_on_the_same_connection() -> None:
    async with scripted(OK, OK, OK) as server, client() as http:
        for _ in range(3):
            assert (await http.post(f"http://127.0.0.1:{server.port}/", content=b"x")).text == "ok"
    assert server.connections == 1


async def test_a_chunked_answer_is_decoded() -> None:
    chunked = (
        b"HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    )
    async with scripted(chunked, OK) as server, client() as http:
        first = await http.post(f"http://127.0.0.1:{server.port}/", content=b"x")
        second = await http.post(f"http://127.0.0.1:{server.port}/", content=b"x")
    assert (first.status_code, first.text, second.text) == (202, "hello world", "ok")
    assert server.connections == 1


async def test_an_answer_without_length_ends_at_close_and_the_connection_is_not_reused() -> None:
    unframed = b"HTTP/1.1 500 Oops\r\nContent-Type: text/plain\r\n\r\nbroken receiver"
    async with scripted(unframed, OK, close_after_each=True) as server, client() as http:
        first = await http.post(f"http://127.0.0.1:{server.port}/", content=b"x")
        second = await http.post(f"http://127.0.0.1:{server.port}/", content=b"x")
    assert (first.status_code, first.text) == (500, "broken receiver")
    assert second.text == "ok"
    assert server.connections == 2


async def test_connection_close_is_honoured() -> None:
    closing = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"
    async with scripted(closing, OK, close_after_each=True) as server, client() as http:
        for _ in range(2):
            assert (await http.post(f"http://127.0.0.1:{server.port}/", content=b"x")).text == "ok"
    assert server.connections == 2


async def test_a_connection_the_server_closed_while_idle_is_replaced() -> None:
    async with scripted(OK, OK, close_after_each=True) as server, client() as http:
        await http.post(f"http://127.0.0.1:{server.port}/", content=b"1")
        await asyncio.sleep(0.05)  # the server's close reaches the idle connection
        answer = await http.post(f"http://127.0.0.1:{server.port}/", content=b"2")
    assert answer.text == "ok"
    assert server.connections == 2
    assert [r.endswith(b"1") or r.endswith(b"2") for r in server.requests] == [True, True]


async def test_an_interim_100_answer_is_skipped() -> None:
    interim = b"HTTP/1.1 100 Continue\r\n\r\n" + OK
    async with scripted(interim) as server, client() as http:
        answer = await http.post(f"http://127.0.0.1:{server.port}/", content=b"x")
    assert (answer.status_code, answer.text) == (200, "ok")


async def test_a_long_body_is_kept_up_to_the_bound_and_the_rest_is_drained() -> None:
    long = b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + b"a" * 5000
    async with scripted(long, OK) as server, client(max_body=1000) as http:
        first = await http.post(f"http://127.0.0.1:{server.port}/", content=b"x")
        second = await http.post(f"http://127.0.0.1:{server.port}/", content=b"x")
    assert first.content == b"a" * 1000
    assert second.text == "ok"
    assert server.connections == 1


async def test_a_body_past_the_drain_bound_closes_the_connection() -> None:
    huge = b"HTTP/1.1 200 OK\r\nContent-Length: 500000\r\n\r\n" + b"b" * 500_000
    async with (
        scripted(huge, OK, close_after_each=True) as server,
        client(max_body=100, max_drain=10_000) as http,
    ):
        first = await http.post(f"http://127.0.0.1:{server.port}/", content=b"x")
        second = await http.post(f"http://127.0.0.1:{server.port}/", content=b"x")
    assert first.content == b"b" * 100
    assert second.text == "ok"
    assert server.connections == 2


async def test_a_malformed_answer_is_a_remote_protocol_error() -> None:
    async with scripted(b"SMTP ready\r\n\r\n") as server, client() as http:
        with pytest.raises(httpx.RemoteProtocolError, match="malformed"):
            await http.post(f"http://127.0.0.1:{server.port}/", content=b"x")


async def test_an_answer_cut_short_is_a_remote_protocol_error() -> None:
    cut = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this"
    async with scripted(cut, close_after_each=True) as server, client() as http:
        with pytest.raises(httpx.RemoteProtocolError, match="before the answer was complete"):
            await http.post(f"http://127.0.0.1:{server.port}/", content=b"x")


async def test_no_answer_within_the_read_timeout_is_a_read_timeout() -> None:
    async with scripted(b"") as server, client() as http:  # reads the request, says nothing
        with pytest.raises(httpx.ReadTimeout):
            await http.post(
                f"http://127.0.0.1:{server.port}/",
                content=b"x",
                timeout=httpx.Timeout(5.0, read=0.1),
            )


async def test_a_request_waits_for_a_free_connection_only_as_long_as_the_pool_timeout() -> None:
    async with scripted(b"", OK) as server:
        transport = Http11Transport(
            POLICY,
            GuardedNetworkBackend(POLICY),
            ssl_context=httpx.create_ssl_context(),
            max_connections=1,
        )
        timeout = httpx.Timeout(5.0, read=1.0, pool=0.1)
        async with httpx.AsyncClient(transport=transport, timeout=timeout) as http:
            url = f"http://127.0.0.1:{server.port}/"
            first = asyncio.create_task(http.post(url, content=b"x"))
            await asyncio.sleep(0.05)
            with pytest.raises(httpx.PoolTimeout):
                await http.post(url, content=b"y")
            with pytest.raises(httpx.ReadTimeout):
                await first


async def test_port_zero_is_refused_not_dialled_as_the_default_port() -> None:
    async with client() as http:
        with pytest.raises(httpx.ConnectError, match="port 0 cannot be dialled"):
            await http.post("http://127.0.0.1:0/hook", content=b"x")


async def test_a_header_value_with_a_line_break_is_refused_before_sending() -> None:
    async with scripted(OK) as server, client() as http:
        request = http.build_request("POST", f"http://127.0.0.1:{server.port}/", content=b"x")
        request.headers["x-evil"] = "a\r\nInjected: yes"
        with pytest.raises(httpx.LocalProtocolError, match="line break"):
            await http.send(request)
    assert server.requests == []


async def test_closing_the_transport_closes_idle_connections_and_refuses_new_requests() -> None:
    transport = Http11Transport(
        POLICY, GuardedNetworkBackend(POLICY), ssl_context=httpx.create_ssl_context()
    )
    async with scripted(OK, OK) as server:
        url = f"http://127.0.0.1:{server.port}/"
        async with httpx.AsyncClient(transport=transport, timeout=5.0) as http:
            await http.post(url, content=b"x")
        async with asyncio.timeout(5):
            await server.ended.wait()  # the idle connection was closed by the client
        with pytest.raises(httpx.LocalProtocolError, match="closed"):
            await transport.handle_async_request(httpx.Request("POST", url, content=b"x"))
    assert server.connections == 1
