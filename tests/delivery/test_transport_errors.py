"""httpcore2's exceptions become httpx2's, and never with an empty message."""

from __future__ import annotations

import httpcore2
import httpx2 as httpx
import pytest

from tenantstatus.delivery.transport_errors import httpx_errors


def raise_from(error: Exception, cause: Exception) -> None:
    raise error from cause


def test_an_httpcore2_error_is_raised_as_its_httpx2_counterpart_with_its_message() -> None:
    with pytest.raises(httpx.ReadTimeout, match="no data within 1 s"), httpx_errors():
        raise httpcore2.ReadTimeout("no data within 1 s")


def test_an_error_without_a_message_takes_its_cause_s() -> None:
    reset = ConnectionResetError(104, "Connection reset by peer")
    expected = r"^\[Errno 104\] Connection reset by peer$"
    with pytest.raises(httpx.ReadError, match=expected), httpx_errors():
        raise_from(httpcore2.ReadError(), reset)


def test_an_error_with_no_message_anywhere_names_what_was_raised() -> None:
    expected = r"^ConnectionResetError \(no detail given\)$"
    with pytest.raises(httpx.ConnectError, match=expected), httpx_errors():
        raise_from(httpcore2.ConnectError(), ConnectionResetError())
