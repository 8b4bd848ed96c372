"""httpcore2's exceptions, raised as the httpx2 exceptions callers catch."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import httpcore2
import httpx2 as httpx

__all__ = ["httpx_errors"]

# Most specific first: the first match wins.
_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore2.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore2.ReadTimeout, httpx.ReadTimeout),
    (httpcore2.WriteTimeout, httpx.WriteTimeout),
    (httpcore2.PoolTimeout, httpx.PoolTimeout),
    (httpcore2.TimeoutException, httpx.TimeoutException),
    (httpcore2.ConnectError, httpx.ConnectError),
    (httpcore2.ReadError, httpx.ReadError),
    (httpcore2.WriteError, httpx.WriteError),
    (httpcore2.NetworkError, httpx.NetworkError),
    (httpcore2.ProxyError, httpx.ProxyError),
    (httpcore2.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore2.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore2.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore2.ProtocolError, httpx.ProtocolError),
)


@contextlib.contextmanager
def httpx_errors() -> Iterator[None]:
    """Re-raise an httpcore2 exception from the block as its httpx2 counterpart."""
    try:
        yield
    except Exception as exc:
        for core_error, httpx_error in _ERRORS:
            if isinstance(exc, core_error):
                raise httpx_error(_message(exc)) from exc
        raise


def _message(exc: BaseException) -> str:
    """`exc`'s message; for one without, its first cause's that has one, or the cause's type.

    An attempt records `ConnectError: <message>`, which must not end in nothing.
    """
    while not str(exc) and exc.__cause__ is not None:
        exc = exc.__cause__
    return str(exc) or f"{type(exc).__name__} (no detail given)"
