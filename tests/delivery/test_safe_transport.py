"""The safe transport against a real loopback receiver: what it lets through, what it stops.

Every request goes to 127.0.0.1; names are answered by a `StaticResolver`, so no test
touches DNS or the network beyond loopback. "Receives nothing" is asserted as zero TCP
connections accepted, which is stronger than zero requests.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio
import anyio.abc
import h11
import httpx2 as httpx
import pytest
from anyio.streams.tls import TLSListener

from tenantstatus.delivery import StaticResolver, UnsafeAddress, UrlPolicy, safe_async_transport
from tests.support.private_ca import PrivateCA

pytestmark = pytest.mark.anyio

LOOPBACK_ALLOWED = UrlPolicy(allow_http=True, allowed_networks=["127.0.0.0/8"])
HTTP_ONLY = UrlPolicy(allow_http=True)
PUBLIC_ADDRESS = "93.184.215.14"  # only ever resolved to, never dialled


@dataclass
class Received:
    """One request as the receiver saw it."""

    method: str
    target: str
    host: str
    body: bytes


@dataclass
class Receiver:
    """A loopback HTTP/1.1 server that records every connection and request."""

    port: int = 0
    connections: int = 0
    requests: list[Received] = field(default_factory=list)

    async def handle(self, stream: anyio.abc.ByteStream) -> None:
        self.connections += 1
        connection = h11.Connection(h11.SERVER)
        request: h11.Request | None = None
        body = b""
        async with stream:
            while True:
                event = connection.next_event()
                if event is h11.NEED_DATA:
                    try:
                        connection.receive_data(await stream.receive())
                    except (anyio.EndOfStream, anyio.BrokenResourceError):
                        return
                elif isinstance(event, h11.Request):
                    request, body = event, b""
                elif isinstance(event, h11.Data):
                    body += event.data
                elif isinstance(event, h11.EndOfMessage) and request is not None:
                    self.requests.append(
                        Received(
                            request.method.decode(),
                            request.target.decode(),
                            dict(request.headers)[b"host"].decode(),
                            body,
                        )
                    )
                    reply = h11.Response(status_code=200, headers=[(b"content-length", b"2")])
                    await stream.send(connection.send(reply) or b"")
                    await stream.send(connection.send(h11.Data(data=b"ok")) or b"")
                    await stream.send(connection.send(h11.EndOfMessage()) or b"")
                    connection.start_next_cycle()
                else:
                    return


@asynccontextmanager
async def loopback_receiver(tls: ssl.SSLContext | None = None) -> AsyncIterator[Receiver]:
    """Serve on 127.0.0.1 (with TLS if given) for the duration of the block."""
    receiver = Receiver()
    tcp = await anyio.create_tcp_listener(local_host="127.0.0.1")
    receiver.port = tcp.extra(anyio.abc.SocketAttribute.local_port)  # noqa: S610
    listener: anyio.abc.Listener[anyio.abc.ByteStream] = tcp
    if tls is not None:
        listener = TLSListener(tcp, tls, standard_compatible=False)
    async with listener, anyio.create_task_group() as tasks:
        tasks.start_soon(listener.serve, receiver.handle)
        try:
            yield receiver
        finally:
            tasks.cancel_scope.cancel()


@asynccontextmanager
async def safe_client(
    policy: UrlPolicy, resolver: StaticResolver | None = None, verify: ssl.SSLContext | bool = True
) -> AsyncIterator[httpx.AsyncClient]:
    transport = safe_async_transport(policy, resolver=resolver or StaticResolver(), verify=verify)
    async with httpx.AsyncClient(
        transport=transport, timeout=5.0, follow_redirects=False
    ) as client:
        yield client


async def test_a_post_reaches_a_loopback_receiver_when_loopback_is_allowed() -> None:
    async with loopback_receiver() as receiver, safe_client(LOOPBACK_ALLOWED) as client:
        url = f"http://127.0.0.1:{receiver.port}/hook"
        response = await client.post(url, content=b'{"ChangeType":"Upgrade"}')
    assert response.status_code == 200
    assert response.text == "ok"
    assert receiver.requests == [
        Received("POST", "/hook", f"127.0.0.1:{receiver.port}", b'{"ChangeType":"Upgrade"}')
    ]


async def test_a_loopback_receiver_gets_nothing_when_loopback_is_not_allowed() -> None:
    async with loopback_receiver() as receiver, safe_client(HTTP_ONLY) as client:
        with pytest.raises(UnsafeAddress) as refused:
            await client.post(f"http://127.0.0.1:{receiver.port}/hook", content=b"{}")
    assert receiver.connections == 0
    assert refused.value.address == ipaddress.ip_address("127.0.0.1")
    assert "127.0.0.1" in str(refused.value)
    assert "loopback" in str(refused.value)
    assert isinstance(refused.value, httpx.ConnectError)
    assert isinstance(refused.value, httpx.TransportError)
    assert refused.value.request.url.host == "127.0.0.1"


@pytest.mark.parametrize(
    "host",
    ["2130706433", "0x7f.1", "127.1", "0x7f000001", "127.0.0.1.", "[::ffff:127.0.0.1]", "[::1]"],
)
async def test_every_spelling_of_loopback_is_stopped_at_connect_time(host: str) -> None:
    async with loopback_receiver() as receiver, safe_client(HTTP_ONLY) as client:
        with pytest.raises(UnsafeAddress, match="loopback"):
            await client.post(f"http://{host}:{receiver.port}/hook", content=b"{}")
    assert receiver.connections == 0


async def test_localhost_from_the_system_resolver_is_stopped_at_connect_time() -> None:
    transport = safe_async_transport(HTTP_ONLY)  # the system resolver: /etc/hosts
    async with loopback_receiver() as receiver, httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(UnsafeAddress, match="loopback"):
            await client.post(f"http://localhost:{receiver.port}/hook", content=b"{}")
    assert receiver.connections == 0


async def test_a_name_is_dialled_at_its_checked_address_and_keeps_its_host() -> None:
    resolver = StaticResolver({"receiver.test": ["127.0.0.1"]})
    async with loopback_receiver() as receiver, safe_client(LOOPBACK_ALLOWED, resolver) as client:
        response = await client.post(f"http://receiver.test:{receiver.port}/hook", content=b"1")
    assert response.status_code == 200
    assert [r.host for r in receiver.requests] == [f"receiver.test:{receiver.port}"]


async def test_dns_rebinding_is_stopped_at_connect_time() -> None:
    resolver = StaticResolver({"rebind.test": [PUBLIC_ADDRESS]})
    async with loopback_receiver() as receiver, safe_client(HTTP_ONLY, resolver) as client:
        url = f"http://rebind.test:{receiver.port}/hook"
        assert await HTTP_ONLY.check_url(url, resolver) == url  # registration: public
        resolver.set("rebind.test", "127.0.0.1")  # the name rebinds before delivery
        with pytest.raises(UnsafeAddress) as refused:
            await client.post(url, content=b"{}")
    assert receiver.connections == 0
    assert refused.value.host == "rebind.test"
    assert refused.value.address == ipaddress.ip_address("127.0.0.1")
    assert "rebind.test" in str(refused.value)


async def test_every_answer_is_checked_before_any_is_dialled() -> None:
    resolver = StaticResolver({"mixed.test": ["127.0.0.1", "10.0.0.1"]})
    async with loopback_receiver() as receiver, safe_client(LOOPBACK_ALLOWED, resolver) as client:
        with pytest.raises(UnsafeAddress, match=r"10\.0\.0\.1"):
            await client.post(f"http://mixed.test:{receiver.port}/hook", content=b"{}")
    assert receiver.connections == 0


async def test_keep_alive_reuses_one_checked_connection() -> None:
    async with loopback_receiver() as receiver, safe_client(LOOPBACK_ALLOWED) as client:
        for n in range(3):
            await client.post(f"http://127.0.0.1:{receiver.port}/hook", content=str(n).encode())
    assert receiver.connections == 1
    assert [r.body for r in receiver.requests] == [b"0", b"1", b"2"]


async def test_http_is_refused_by_the_transport_unless_allowed() -> None:
    policy = UrlPolicy(allowed_networks=["127.0.0.0/8"])
    async with loopback_receiver() as receiver, safe_client(policy) as client:
        with pytest.raises(httpx.UnsupportedProtocol, match="TENANTSTATUS_ALLOW_HTTP"):
            await client.post(f"http://127.0.0.1:{receiver.port}/hook", content=b"{}")
    assert receiver.connections == 0


async def test_a_name_that_does_not_resolve_is_an_ordinary_connect_error() -> None:
    async with safe_client(HTTP_ONLY) as client:
        with pytest.raises(httpx.ConnectError, match=r"cannot resolve nowhere\.test") as failed:
            await client.post("http://nowhere.test/hook", content=b"{}")
    assert not isinstance(failed.value, UnsafeAddress)


async def test_a_refused_connection_is_an_ordinary_connect_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    async with safe_client(LOOPBACK_ALLOWED) as client:
        with pytest.raises(httpx.ConnectError) as failed:
            await client.post(f"http://127.0.0.1:{closed_port}/hook", content=b"{}")
    assert not isinstance(failed.value, UnsafeAddress)


# TLS: the address dialled is an IP literal, but SNI and verification use the URL's host.


@dataclass
class Certificates:
    server: ssl.SSLContext
    client: ssl.SSLContext


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    """A throwaway CA and a server certificate for `receiver.test` only."""
    ca = PrivateCA.create()
    leaf = ca.issue(tmp_path_factory.mktemp("tls"), "receiver.test")
    return Certificates(leaf.server_context(), ca.client_context())


async def test_tls_verifies_the_url_host_not_the_address_dialled(
    certificates: Certificates,
) -> None:
    resolver = StaticResolver({"receiver.test": ["127.0.0.1"], "impostor.test": ["127.0.0.1"]})
    policy = UrlPolicy(allowed_networks=["127.0.0.0/8"])
    async with (
        loopback_receiver(tls=certificates.server) as receiver,
        safe_client(policy, resolver, verify=certificates.client) as client,
    ):
        response = await client.post(f"https://receiver.test:{receiver.port}/hook", content=b"1")
        assert response.status_code == 200
        with pytest.raises(httpx.ConnectError, match=r"impostor\.test") as failed:
            await client.post(f"https://impostor.test:{receiver.port}/hook", content=b"2")
    assert not isinstance(failed.value, UnsafeAddress)
    assert [(r.host, r.body) for r in receiver.requests] == [
        (f"receiver.test:{receiver.port}", b"1")
    ]


async def test_a_certificate_from_an_untrusted_ca_says_how_to_trust_it(
    certificates: Certificates,
) -> None:
    resolver = StaticResolver({"receiver.test": ["127.0.0.1"]})
    policy = UrlPolicy(allowed_networks=["127.0.0.0/8"])
    async with (
        loopback_receiver(tls=certificates.server) as receiver,
        safe_client(policy, resolver) as client,  # the default trust store
    ):
        with pytest.raises(httpx.ConnectError) as failed:
            await client.post(f"https://receiver.test:{receiver.port}/hook", content=b"1")
    assert str(failed.value).startswith("TLS handshake failed: the receiver's certificate")
    assert "unable to get local issuer certificate" in str(failed.value)
    assert "SSL_CERT_FILE" in str(failed.value)
    assert receiver.requests == []


@dataclass
class HangUp:
    """A peer that hangs up once the client has started a TLS handshake."""

    port: int = 0
    received: list[bytes] = field(default_factory=list)


@asynccontextmanager
async def hangs_up_after_the_client_hello(*, reset: bool = False) -> AsyncIterator[HangUp]:
    """Read the header of each connection's first TLS record, then close (RST if `reset`)."""
    peer = HangUp()

    async def handle(stream: anyio.abc.SocketStream) -> None:
        async with stream:
            peer.received.append(await stream.receive(5))
            if reset:
                sock = stream.extra(anyio.abc.SocketAttribute.raw_socket)  # noqa: S610
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    peer.port = listener.extra(anyio.abc.SocketAttribute.local_port)  # noqa: S610
    async with listener, anyio.create_task_group() as tasks:
        tasks.start_soon(listener.serve, handle)
        try:
            yield peer
        finally:
            tasks.cancel_scope.cancel()


@pytest.mark.parametrize("reset", [False, True], ids=["closed", "reset"])
async def test_a_peer_hanging_up_after_the_client_hello_is_named(reset: bool) -> None:
    async with (
        hangs_up_after_the_client_hello(reset=reset) as peer,
        safe_client(LOOPBACK_ALLOWED) as client,
    ):
        with pytest.raises(httpx.ConnectError) as failed:
            await client.post(f"https://127.0.0.1:{peer.port}/hook", content=b"{}")
    assert [header[:1] for header in peer.received] == [b"\x16"]  # one handshake record
    assert str(failed.value).startswith(
        "TLS handshake failed: the receiver closed the connection during the handshake"
    )
