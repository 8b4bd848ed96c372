"""Catch up by pull: read the notifications a receiver missed, from a stored cursor.

    feed = NotificationFeed(service_url, app_id, token, after=load_cursor())
    for item in feed:                           # oldest first, until caught up
        verified = verifier.verify(item.body)   # DuplicateDelivery: push got it first
        handle(verified)
        save_cursor(feed.cursor)                # resume here next time

Each item's `delivery_id` is its push's `webhook-id` (and the token's `jti`), so one
verifier for push and pull drops whichever copy comes second. `FeedCore` builds the
requests and reads the pages; the two shells only send them.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self

import httpx2 as httpx

from tenantstatus.__about__ import __version__
from tenantstatus.client.errors import CatchUpRefused, StatusUnavailable, UnexpectedResponse

__all__ = [
    "AsyncNotificationFeed",
    "FeedCore",
    "FeedPage",
    "NotificationFeed",
    "PulledNotification",
]

USER_AGENT = f"tenantstatus-client/{__version__}"
MAX_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class PulledNotification:
    """One notification read from the feed; verify `body` before trusting it."""

    cursor: int
    delivery_id: str
    context_identifier: str
    change_type_name: str
    status: str
    test: bool
    created_at: datetime
    token: str
    body: bytes


@dataclass(frozen=True, slots=True)
class FeedPage:
    """One page of the feed, oldest first, and the cursor after it."""

    notifications: tuple[PulledNotification, ...]
    next_cursor: int
    more: bool


class FeedCore:
    """The feed's sans-I/O core: where to ask, and what an answer means."""

    def __init__(
        self, service_url: str, application_id: str, token: str, *, after: int, limit: int
    ) -> None:
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError(f"limit must be between 1 and {MAX_LIMIT}")
        if after < 0:
            raise ValueError("a cursor is never negative; 0 reads from the oldest")
        self.url = f"{service_url.rstrip('/')}/admin/applications/{application_id}/notifications"
        self.headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        self.limit = limit
        #: Where the feed stands: store it, and pass it as `after` to resume there.
        self.cursor = after

    def params(self) -> dict[str, int]:
        """The query of the next page's request."""
        return {"after": self.cursor, "limit": self.limit}

    def read(self, status_code: int, headers: Mapping[str, str], content: bytes) -> FeedPage:
        """The page in an answer, or the `TenantStatusError` it means."""
        if status_code in (401, 403, 404):
            raise CatchUpRefused(
                _detail(content, status_code), url=self.url, status_code=status_code
            )
        if status_code >= 500:
            raise StatusUnavailable(
                f"{self.url} answered {status_code}", url=self.url, retry_after=_seconds(headers)
            )
        if status_code != 200:
            raise UnexpectedResponse(
                f"{self.url} answered {status_code}: {_detail(content, status_code)}",
                url=self.url,
                status_code=status_code,
            )
        try:
            document = json.loads(content)
            page = FeedPage(
                tuple(_notification(item) for item in document["Notifications"]),
                int(document["Next"]),
                bool(document["More"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise UnexpectedResponse(
                f"{self.url} answered a page that does not parse: {exc}", url=self.url
            ) from None
        return page

    def unreachable(self, exc: httpx.TransportError) -> StatusUnavailable:
        """What a transport failure means."""
        return StatusUnavailable(
            f"cannot reach {self.url}: {str(exc) or type(exc).__name__}", url=self.url
        )


def _notification(item: Mapping[str, Any]) -> PulledNotification:
    return PulledNotification(
        cursor=int(item["Cursor"]),
        delivery_id=str(item["Id"]),
        context_identifier=str(item["ContextIdentifier"]),
        change_type_name=str(item["ChangeType"]),
        status=str(item["Status"]),
        test=bool(item["Test"]),
        created_at=datetime.fromisoformat(item["CreatedAt"]),
        token=str(item["Token"]),
        body=str(item["Body"]).encode(),
    )


def _detail(content: bytes, status_code: int) -> str:
    try:
        detail = json.loads(content).get("detail")
    except (ValueError, AttributeError):
        detail = None
    return str(detail)[:300] if detail else f"HTTP {status_code}"


def _seconds(headers: Mapping[str, str]) -> float | None:
    value = headers.get("retry-after", "")
    return float(value) if value.isdigit() else None


class NotificationFeed(FeedCore):
    """The feed (sync): iterate for every notification after the cursor, oldest first.

    Iteration stops when caught up; `cursor` then stands after the last item, and
    iterating again later reads only what is new.
    """

    def __init__(
        self,
        service_url: str,
        application_id: str,
        token: str,
        *,
        after: int = 0,
        limit: int = 100,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 10.0,
    ) -> None:
        super().__init__(service_url, application_id, token, after=after, limit=limit)
        self._http = httpx.Client(transport=transport, timeout=timeout)

    def page(self) -> FeedPage:
        """The next page after `cursor` (maybe empty); `cursor` moves past it."""
        try:
            response = self._http.get(self.url, params=self.params(), headers=self.headers)
        except httpx.TransportError as exc:
            raise self.unreachable(exc) from None
        page = self.read(response.status_code, response.headers, response.content)
        self.cursor = page.next_cursor
        return page

    def pages(self) -> Iterator[FeedPage]:
        """Pages until caught up (the last one may be empty)."""
        while True:
            page = self.page()
            yield page
            if not page.more:
                return

    def __iter__(self) -> Iterator[PulledNotification]:
        start = self.cursor
        for page in self.pages():
            self.cursor = start
            for item in page.notifications:
                self.cursor = item.cursor
                yield item
            self.cursor = start = page.next_cursor

    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncNotificationFeed(FeedCore):
    """The feed (async): `async for` every notification after the cursor, oldest first."""

    def __init__(
        self,
        service_url: str,
        application_id: str,
        token: str,
        *,
        after: int = 0,
        limit: int = 100,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 10.0,
    ) -> None:
        super().__init__(service_url, application_id, token, after=after, limit=limit)
        self._http = httpx.AsyncClient(transport=transport, timeout=timeout)

    async def page(self) -> FeedPage:
        """The next page after `cursor` (maybe empty); `cursor` moves past it."""
        try:
            response = await self._http.get(self.url, params=self.params(), headers=self.headers)
        except httpx.TransportError as exc:
            raise self.unreachable(exc) from None
        page = self.read(response.status_code, response.headers, response.content)
        self.cursor = page.next_cursor
        return page

    async def pages(self) -> AsyncIterator[FeedPage]:
        """Pages until caught up (the last one may be empty)."""
        while True:
            page = await self.page()
            yield page
            if not page.more:
                return

    async def __aiter__(self) -> AsyncIterator[PulledNotification]:
        start = self.cursor
        async for page in self.pages():
            self.cursor = start
            for item in page.notifications:
                self.cursor = item.cursor
                yield item
            self.cursor = start = page.next_cursor

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
