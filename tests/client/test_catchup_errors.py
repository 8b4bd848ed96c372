"""The feed's answers outside a page, through httpx2's transport seam: each an error of the tree."""

from __future__ import annotations

import httpx2 as httpx
import pytest

from tenantstatus.client import (
    AsyncNotificationFeed,
    NotificationFeed,
    StatusUnavailable,
    UnexpectedResponse,
)

APP = "app_0123456789abcdef"


def _feed(handler: httpx.MockTransport) -> NotificationFeed:
    return NotificationFeed("http://status.test", APP, "tsapp_x", transport=handler)


def test_a_5xx_is_status_unavailable_with_when_to_retry() -> None:
    busy = httpx.MockTransport(lambda r: httpx.Response(503, headers={"Retry-After": "7"}))
    with _feed(busy) as feed, pytest.raises(StatusUnavailable) as caught:
        list(feed)
    assert caught.value.retry_after == 7
    assert feed.cursor == 0


def test_a_page_that_does_not_parse_is_an_unexpected_response() -> None:
    odd = httpx.MockTransport(lambda r: httpx.Response(200, json={"Notifications": "x"}))
    with _feed(odd) as feed, pytest.raises(UnexpectedResponse):
        feed.page()


def test_a_connection_error_is_status_unavailable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with _feed(httpx.MockTransport(refuse)) as feed, pytest.raises(StatusUnavailable):
        feed.page()


def test_the_request_carries_the_cursor_the_limit_and_the_token() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"Notifications": [], "Next": 41, "More": False})

    with _feed(httpx.MockTransport(answer)) as feed:
        feed.cursor = 41
        assert list(feed) == []
    (request,) = seen
    assert request.url.path == f"/admin/applications/{APP}/notifications"
    assert dict(request.url.params) == {"after": "41", "limit": "100"}
    assert request.headers["authorization"] == "Bearer tsapp_x"


@pytest.mark.parametrize(("after", "limit"), [(-1, 100), (0, 0), (0, 1001)])
def test_a_cursor_or_limit_out_of_range_is_refused_before_any_request(
    after: int, limit: int
) -> None:
    with pytest.raises(ValueError):
        NotificationFeed("http://status.test", APP, "t", after=after, limit=limit)
    with pytest.raises(ValueError):
        AsyncNotificationFeed("http://status.test", APP, "t", after=after, limit=limit)
