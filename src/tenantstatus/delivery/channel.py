"""The line protocol between `serve` and its dispatch processes, over a socket pair.

Down (service to dispatcher): `wake`, `keys`, `forget <application id>`.
Up (dispatcher to service): `attempt <outcome> <seconds or ->`, `depth <rows>`.
"""

from __future__ import annotations

__all__ = ["KEYS", "WAKE", "attempt", "depth", "forget", "parse"]

WAKE = b"wake\n"
KEYS = b"keys\n"


def forget(application_id: str) -> bytes:
    """Drop this application from the dispatcher's cache."""
    return f"forget {application_id}\n".encode()


def attempt(outcome: str, latency: float | None) -> bytes:
    """One delivery attempt's outcome and latency, for the service's metrics."""
    return f"attempt {outcome} {'-' if latency is None else f'{latency:.6f}'}\n".encode()


def depth(rows: int) -> bytes:
    """The outbox depth the dispatcher last counted."""
    return f"depth {rows}\n".encode()


def parse(line: bytes) -> tuple[str, list[str]]:
    """A line's verb and arguments; ("", []) for a blank or undecodable line."""
    try:
        words = line.decode("ascii").split()
    except UnicodeDecodeError:
        return "", []
    return (words[0], words[1:]) if words else ("", [])
