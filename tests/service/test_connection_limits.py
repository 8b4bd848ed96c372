"""Connections are bounded: a header timeout, a per-process cap, fd limits; chunked 413.

Every test runs against a real `tenantstatus serve` on loopback, attacked with raw sockets.
"""

from __future__ import annotations

import contextlib
import errno
import resource
import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest
from cryptography.fernet import Fernet

from tenantstatus.service.connections import default_max_connections
from tests.support.postgres import PostgresServer
from tests.support.processes import OPERATOR_TOKEN, ServiceProcess

HEADER_TIMEOUT = 2.0
IDLE = 3000
SLOWLORIS = 300
ATTACK_CAP = 4000
SMALL_CAP = 40
TENANT = "ConnGuard"
STATE_REQUEST = f"GET /api/state/{TENANT} HTTP/1.1\r\nHost: t\r\n\r\n".encode()


@contextlib.contextmanager
def fd_soft_limit(wanted: int) -> Iterator[None]:
    """Run with the soft fd limit at `wanted` (bounded by the hard limit), then restore it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < wanted:
        pytest.skip(f"needs {wanted} file descriptors, the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def start_service(data_dir: Path, env: dict[str, str]) -> ServiceProcess:
    service = ServiceProcess(data_dir, env=env, args=["--log-level", "info"]).start()
    with service.admin() as admin:
        response = admin.post(
            "/admin/tenants",
            json={"ContextIdentifier": TENANT, "Endpoint": "https://h/x", "State": "Running"},
        )
    assert response.status_code == 201, response.text
    return service


@pytest.fixture(scope="module")
def attacked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """A service with a 2 s header timeout, started with a low soft fd limit to raise."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    low = min(1024, soft)
    # The child inherits the soft limit in force when it is started.
    with fd_soft_limit(low):
        service = start_service(
            tmp_path_factory.mktemp("attacked") / "data",
            {
                "TENANTSTATUS_HEADER_TIMEOUT": str(HEADER_TIMEOUT),
                "TENANTSTATUS_MAX_CONNECTIONS": str(ATTACK_CAP),
            },
        )
    yield service
    service.stop()


@pytest.fixture(scope="module")
def capped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """A service that holds at most SMALL_CAP connections, with a header timeout of 20 s."""
    service = start_service(
        tmp_path_factory.mktemp("capped") / "data",
        {"TENANTSTATUS_HEADER_TIMEOUT": "20", "TENANTSTATUS_MAX_CONNECTIONS": str(SMALL_CAP)},
    )
    yield service
    service.stop()


def connect(service: ServiceProcess) -> socket.socket:
    """A non-blocking connection; one the server resets within the handshake stays unconnected."""
    sock = socket.socket()
    sock.settimeout(10)
    with contextlib.suppress(ConnectionResetError):
        sock.connect(("127.0.0.1", service.port))
    sock.setblocking(False)
    return sock


def closed_by_server(sock: socket.socket) -> bool:
    """True once the server has closed or reset `sock` (it never sent anything first)."""
    try:
        data = sock.recv(4096)
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True
    except OSError as exc:
        if exc.errno == errno.ENOTCONN:  # reset before connect() returned
            return True
        raise
    assert data == b"", f"the server answered a connection that sent no request head: {data!r}"
    return True


def wait_closed(sock: socket.socket, within: float) -> float:
    """Seconds until the server closes `sock`; fails after `within`."""
    start = time.monotonic()
    while time.monotonic() - start < within:
        select.select([sock], [], [], 0.05)
        if closed_by_server(sock):
            return time.monotonic() - start
    raise AssertionError(f"the server did not close the connection within {within}s")


def answers_state(sock: socket.socket) -> bool:
    """Ask for the state on an established keep-alive connection; True on a 200."""
    sock.setblocking(True)
    sock.settimeout(5)
    try:
        sock.sendall(STATE_REQUEST)
        head = sock.recv(65536)
    finally:
        sock.setblocking(False)
    return head.startswith(b"HTTP/1.1 200 ") and TENANT.encode() in head


def fresh_client_is_served(service: ServiceProcess) -> None:
    state = httpx.get(f"{service.url}/api/state/{TENANT}", timeout=10)
    assert state.status_code == 200 and state.json()["State"] == "Running"
    assert httpx.get(f"{service.url}/healthz", timeout=10).status_code == 200


def test_idle_and_slowloris_connections_are_closed_and_fresh_clients_served(
    attacked: ServiceProcess,
) -> None:
    with fd_soft_limit(IDLE + SLOWLORIS + 512):
        opened: dict[socket.socket, float] = {}
        slow: list[socket.socket] = []
        try:
            for _ in range(IDLE):
                sock = connect(attacked)
                opened[sock] = time.monotonic()
            for _ in range(SLOWLORIS):
                sock = connect(attacked)
                opened[sock] = time.monotonic()
                sock.send(b"GET /api/state/" + TENANT.encode() + b" HTTP/1.1\r\nHost: t\r\n")
                slow.append(sock)
            fresh_client_is_served(attacked)

            poller = select.poll()
            by_fd = {sock.fileno(): sock for sock in opened}
            for fd in by_fd:
                poller.register(fd, select.POLLIN)
            closed_after: dict[socket.socket, float] = {}
            served = 0
            deadline = max(opened.values()) + HEADER_TIMEOUT + 8
            while len(closed_after) < len(opened) and time.monotonic() < deadline:
                for sock in slow:
                    if sock not in closed_after:
                        with contextlib.suppress(OSError):
                            sock.send(b"x")  # one header byte now and then
                fresh_client_is_served(attacked)
                served += 1
                for fd, _ in poller.poll(200):
                    sock = by_fd[fd]
                    if sock not in closed_after and closed_by_server(sock):
                        closed_after[sock] = time.monotonic() - opened[sock]
                        poller.unregister(fd)
            still_open = len(opened) - len(closed_after)
            assert still_open == 0, f"{still_open} connections outlived the header timeout"
            # The server's clock starts at accept, after the client's connect returned.
            assert min(closed_after.values()) >= HEADER_TIMEOUT - 0.05
            assert all(sock in closed_after for sock in slow)
            assert served >= 3
            fresh_client_is_served(attacked)
        finally:
            for sock in opened:
                sock.close()


def test_a_keep_alive_connection_trickling_its_next_head_is_closed(
    attacked: ServiceProcess,
) -> None:
    sock = connect(attacked)
    try:
        assert answers_state(sock)  # the fast path; now the next head is due
        answered = time.monotonic()
        # One byte every 0.3 s restarts uvicorn's own keep-alive timer every time.
        for byte in b"GET /api/state/" + TENANT.encode() + b" HTTP/1.1\r\nHost: t\r\nX-Slow: ":
            if closed_by_server(sock):
                break
            with contextlib.suppress(OSError):
                sock.send(bytes([byte]))
            select.select([sock], [], [], 0.3)
        else:
            wait_closed(sock, HEADER_TIMEOUT + 5)
        lasted = time.monotonic() - answered
        assert HEADER_TIMEOUT - 0.05 <= lasted <= HEADER_TIMEOUT + 5
    finally:
        sock.close()


def test_fd_limits_are_raised_and_logged_at_start(attacked: ServiceProcess) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    hard_text = "unlimited" if hard == resource.RLIM_INFINITY else str(hard)
    log = attacked.log()
    assert "file descriptors: soft limit" in log
    line = next(line for line in log.splitlines() if "file descriptors: soft limit" in line)
    if hard != resource.RLIM_INFINITY and hard > 1024:
        assert f"soft limit {hard} (was 1024), hard limit {hard}" in line
    assert f"hard limit {hard_text}" in line
    assert f"at most {ATTACK_CAP} connections" in line


def test_past_the_cap_new_connections_are_reset_and_established_ones_served(
    capped: ServiceProcess,
) -> None:
    established = connect(capped)
    held: list[socket.socket] = []
    try:
        assert answers_state(established)
        for _ in range(SMALL_CAP + 3):
            held.append(connect(capped))
        refused: set[int] = set()
        deadline = time.monotonic() + 10
        settled = None
        # 1 + SMALL_CAP + 3 connections: at least 4 are refused; catch any stragglers too.
        while time.monotonic() < (settled or deadline):
            select.select(held, [], [], 0.05)
            refused |= {
                i for i, sock in enumerate(held) if i not in refused and closed_by_server(sock)
            }
            if settled is None and len(refused) >= 4:
                settled = time.monotonic() + 0.5
        # The newest were refused, the earlier ones kept: the cap, counting `established`.
        assert len(refused) >= 4
        assert min(refused) > max(set(range(len(held))) - refused)
        assert min(refused) <= SMALL_CAP - 1
        kept = [sock for i, sock in enumerate(held) if i not in refused]
        # Still full: the next newcomer is refused at once, too.
        newcomer = connect(capped)
        held.append(newcomer)
        wait_closed(newcomer, 5.0)  # the header timeout is 20 s
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{capped.url}/healthz", timeout=3)
        # The established client never noticed.
        for _ in range(5):
            assert answers_state(established)
        # Held connections are still open (the header timeout is 20 s) ...
        assert not any(closed_by_server(sock) for sock in kept)
        # ... and once they go, newcomers are served again.
        for sock in held:
            sock.close()
        held.clear()
        deadline = time.monotonic() + 10
        while True:
            try:
                fresh_client_is_served(capped)
                break
            except (httpx.TransportError, AssertionError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
    finally:
        established.close()
        for sock in held:
            sock.close()


def chunked_post(service: ServiceProcess, path: str, body: bytes) -> bytes:
    """POST `body` with Transfer-Encoding: chunked; the raw response head and body."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {OPERATOR_TOKEN}\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    ).encode()
    chunks = b"".join(
        b"%x\r\n%s\r\n" % (len(part), part)
        for part in (body[i : i + 65536] for i in range(0, len(body), 65536))
    )
    with socket.create_connection(("127.0.0.1", service.port), timeout=10) as sock:
        sock.sendall(head + chunks + b"0\r\n\r\n")
        response = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                response += chunk
    return response


def test_a_chunked_body_over_the_limit_is_413(capped: ServiceProcess) -> None:
    response = chunked_post(capped, "/admin/tenants", b"{" + b" " * 1_048_576 + b"}")
    assert response.startswith(b"HTTP/1.1 413 "), response[:200]
    assert b"application/problem+json" in response
    assert b"at most 1048576 bytes" in response


def test_a_chunked_body_within_the_limit_is_read(capped: ServiceProcess) -> None:
    body = b'{"ContextIdentifier": "ConnChunked", "Endpoint": "https://h/x"}'
    assert chunked_post(capped, "/admin/tenants", body).startswith(b"HTTP/1.1 201 ")


def test_every_worker_raises_and_logs_its_fd_limits(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    env = {
        "TENANTSTATUS_DATABASE_URL": postgres.create_database("conn"),
        "TENANTSTATUS_SECRET_KEY": Fernet.generate_key().decode(),
        "TENANTSTATUS_MAX_CONNECTIONS": "300",
    }
    with fd_soft_limit(min(1024, resource.getrlimit(resource.RLIMIT_NOFILE)[0])):
        service = ServiceProcess(
            tmp_path / "workers", env=env, args=["--workers", "2", "--log-level", "info"]
        ).start()
    try:
        fresh = httpx.get(f"{service.url}/healthz", timeout=10)
        assert fresh.status_code == 200
        # The supervisor, then each worker at its own start: one worker may still be
        # starting when the other answers.
        deadline = time.monotonic() + 30
        while True:
            lines = [line for line in service.log().splitlines() if "file descriptors:" in line]
            if len(lines) >= 3 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert len(lines) == 3, service.log()
        assert all("at most 300 connections" in line for line in lines)
    finally:
        service.stop()


@pytest.mark.parametrize(
    ("soft_limit", "cap"), [(20_000, 18_976), (4_096, 3_072), (1_024, 768), (64, 48), (20, 16)]
)
def test_the_default_cap_leaves_descriptors_for_everything_else(soft_limit: int, cap: int) -> None:
    assert default_max_connections(soft_limit) == cap
