"""Client benchmarks: cached get_state, single flight, verifier vs bare jwt.decode.

    python bench/client.py

Prints one line per benchmark. Timings are measured side by side in one run (this
machine has 2 cores), and each line gives the ratio the target is about.
"""

from __future__ import annotations

import json
import statistics
import time
import timeit
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import httpx2 as httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from tenantstatus.client import AsyncTenantStatusClient, NotificationVerifier, TenantStatusClient
from tenantstatus.model import format_instant

AUDIENCE = "bench-app"
ISSUER = "https://status.bench"


def _answer(ctx: str) -> bytes:
    valid_until = datetime.now(UTC) + timedelta(hours=1)
    document = {
        "ContextIdentifier": ctx,
        "Endpoint": f"https://sod2.bench/{ctx}",
        "State": "Running",
        "IsRunning": True,
        "ValidUntil": format_instant(valid_until),
        "Api": f"https://sod2.bench/{ctx}/api",
    }
    return json.dumps(document).encode()


def cached_get_state(calls: int = 300_000) -> None:
    """A fresh answer from the cache: target <= 2 microseconds per call."""
    transport = httpx.MockTransport(
        lambda request: httpx.Response(
            200, content=_answer("Cust1"), headers={"Cache-Control": "max-age=3600"}
        )
    )
    with TenantStatusClient("https://status.bench", transport=transport) as client:
        client.get_state("Cust1")
        lookup = {"Cust1": object()}
        rounds_client = timeit.repeat(lambda: client.get_state("Cust1"), number=calls, repeat=5)
        rounds_dict = timeit.repeat(lambda: lookup.get("Cust1"), number=calls, repeat=5)
    per_call = min(rounds_client) / calls * 1e6
    baseline = min(rounds_dict) / calls * 1e6
    print(
        f"cached get_state: {per_call:.2f} us per call (target <= 2 us); "
        f"{per_call / baseline:.1f}x a bare dict.get ({baseline:.3f} us) in the same run"
    )


async def _single_flight(callers: int) -> tuple[int, float]:
    requests = 0

    async def answer(request: httpx.Request) -> httpx.Response:
        nonlocal requests
        requests += 1
        await anyio.sleep(0.01)  # a network round trip, so the callers pile up
        return httpx.Response(200, content=_answer("Cust2"))

    async with AsyncTenantStatusClient(
        "https://status.bench", transport=httpx.MockTransport(answer)
    ) as client:
        started = time.perf_counter()
        async with anyio.create_task_group() as tasks:
            for _ in range(callers):
                tasks.start_soon(client.get_state, "Cust2")
        elapsed = time.perf_counter() - started
    return requests, elapsed


def single_flight(callers: int = 10_000) -> None:
    """10,000 concurrent async get_state calls for one uncached tenant: target one request."""
    requests, elapsed = anyio.run(_single_flight, callers)
    print(
        f"single flight: {callers} concurrent get_state -> {requests} HTTP request(s) "
        f"(target 1), all answered in {elapsed * 1000:.0f} ms"
    )


def _tokens(key: Any, count: int) -> list[dict[str, Any]]:
    now = int(time.time())
    bodies = []
    for _ in range(count):
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "Cust3",
            "ctx": "Cust3",
            "change_type": 0,
            "file_version": "8.4.12.1234",
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            "jti": str(uuid.uuid4()),
        }
        token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})
        bodies.append(
            {
                "ChangeType": 0,
                "ContextIdentifier": "Cust3",
                "VersionName": "R8",
                "FileVersion": "8.4.12.1234",
                "Token": token,
            }
        )
    return bodies


def verifier_throughput(count: int = 2_000, rounds: int = 6) -> None:
    """NotificationVerifier vs a bare jwt.decode of the same tokens: target >= 0.8x."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwks = json.dumps({"keys": [{**jwk, "kid": "k1", "alg": "RS256", "use": "sig"}]}).encode()
    public = key.public_key()
    bodies = _tokens(key, count)
    raw = [json.dumps(body).encode() for body in bodies]
    ratios = []
    for round_number in range(rounds):
        verifier = NotificationVerifier(ISSUER, AUDIENCE, jwks_url=f"{ISSUER}/jwks.json")
        verifier.keys.load(jwks)  # keys in hand: measure verification, not the fetch
        verifier.keys.attempted()

        def ours(verifier: NotificationVerifier = verifier) -> None:
            for body in raw:
                verifier.verify(body)

        def bare() -> None:
            for body in bodies:
                jwt.decode(
                    body["Token"], public, algorithms=["RS256"], audience=AUDIENCE, issuer=ISSUER
                )

        # Alternate which runs first, so neither always gets the warmer CPU.
        order = (ours, bare) if round_number % 2 == 0 else (bare, ours)
        elapsed = {}
        for run in order:
            started = time.perf_counter()
            run()
            elapsed[run] = time.perf_counter() - started
        verifier.close()
        ratios.append(elapsed[bare] / elapsed[ours])
    ratio = statistics.median(ratios)
    print(
        f"verifier: {ratio:.2f}x the throughput of a bare jwt.decode (target >= 0.8x; "
        f"median of {rounds} rounds of {count} distinct tokens, body parsing and "
        "replay check included)"
    )


if __name__ == "__main__":
    cached_get_state()
    single_flight()
    verifier_throughput()
