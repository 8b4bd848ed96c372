"""`tenantstatus receive --forward-to URL`: verify each notification, then hand it on.

Like `stripe listen --forward-to`, it stands where the service delivers and passes each
notification that verifies to the vendor's own (local) app: the original body and
headers, byte for byte, minus hop-by-hop headers and Host. The service gets what the app
answered (status and a bounded body), or 502/504 when the app cannot be reached or does
not answer in time, so the service retries. A notification that fails verification is
refused as `NotificationReceiver` refuses it, and never reaches the app.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx2 as httpx

from tenantstatus.client import AsyncNotificationVerifier, NotificationReceiver
from tenantstatus.client.errors import NotificationRejected
from tenantstatus.client.receiver import Send
from tenantstatus.client.verifier_core import VerifiedNotification

__all__ = ["Forwarded", "ForwardingReceiver", "forwarded_headers"]

# RFC 9110 section 7.6.1, plus Host and Content-Length, which the forward sets itself.
_NOT_FORWARDED = frozenset(
    {
        "connection",
        "content-length",
        "host",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
#: The most of the app's answer passed back to the service (it keeps only an excerpt).
MAX_ANSWER = 64 * 1024


@dataclass(frozen=True)
class Forwarded:
    """One verified notification and what became of it at the app."""

    verified: VerifiedNotification
    status_code: int
    latency_ms: int
    error: str | None = None


def forwarded_headers(headers: dict[str, str]) -> dict[str, str]:
    """The request's headers as they go to the app: all but hop-by-hop ones and Host."""
    named = {token.strip().lower() for token in headers.get("connection", "").split(",") if token}
    return {
        name: value
        for name, value in headers.items()
        if name.lower() not in _NOT_FORWARDED and name.lower() not in named
    }


class ForwardingReceiver(NotificationReceiver):
    """A `NotificationReceiver` that answers each verified notification with the app's answer."""

    def __init__(
        self,
        verifier: AsyncNotificationVerifier,
        forward_to: str,
        *,
        report: Callable[[Forwarded], None],
        refused: Callable[[NotificationRejected], None],
        timeout: float = 10.0,
    ) -> None:
        super().__init__(verifier)
        self.forward_to = forward_to
        self.report = report
        self.refused = refused
        self.timeout = timeout
        self.http = httpx.AsyncClient(
            timeout=timeout,
            follow_redirects=False,
            trust_env=False,  # the app is local: never through an HTTP_PROXY
            limits=httpx.Limits(max_connections=8, max_keepalive_connections=2),
        )

    async def aclose(self) -> None:
        """Close the verifier's and the forward's HTTP connections."""
        await super().aclose()
        await self.http.aclose()

    def _refused(self, exc: NotificationRejected) -> None:
        self.refused(exc)

    async def _deliver(
        self, verified: VerifiedNotification, body: bytes, headers: dict[str, str], send: Send
    ) -> None:
        started = time.monotonic()
        error: str | None = None
        answer_headers: list[tuple[bytes, bytes]] = []
        try:
            # httpx's timeout bounds each read; this bounds the whole exchange.
            async with asyncio.timeout(self.timeout):
                status, answer, answer_headers = await self._forward(body, headers)
        except (TimeoutError, httpx.TimeoutException):
            status, error = (
                504,
                f"the app at {self.forward_to} did not answer within {self.timeout:g} s",
            )
        except httpx.HTTPError as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__  # one line
            status, error = 502, f"cannot reach the app at {self.forward_to}: {reason}"
        if error is not None:
            answer = f"tenantstatus receive: {error}\n".encode()
            answer_headers = [(b"content-type", b"text/plain; charset=utf-8")]
        latency_ms = round((time.monotonic() - started) * 1000)
        if 200 <= status < 300:
            self.verifier.remember(verified)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [*answer_headers, (b"content-length", str(len(answer)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": answer})
        self.report(Forwarded(verified, status, latency_ms, error))

    async def _forward(
        self, body: bytes, headers: dict[str, str]
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        request = self.http.build_request(
            "POST", self.forward_to, content=body, headers=forwarded_headers(headers)
        )
        response = await self.http.send(request, stream=True)
        try:
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                chunks.append(chunk[: MAX_ANSWER - size])
                size += len(chunks[-1])
                if size >= MAX_ANSWER:
                    break
        finally:
            await response.aclose()
        kept = [
            (name.encode("latin-1"), response.headers[name].encode("latin-1"))
            for name in ("content-type", "retry-after")
            if name in response.headers
        ]
        return response.status_code, b"".join(chunks), kept
