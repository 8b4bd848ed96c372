"""A small synchronous client for the operator API, used by the CLI."""

from __future__ import annotations

from typing import Any

import httpx2 as httpx

__all__ = ["CommandError", "OperatorApi"]


class CommandError(Exception):
    """A CLI command failed; the message is the one line the user sees."""


class OperatorApi:
    """Calls `/admin` on a running service with the operator token."""

    def __init__(self, url: str, token: str | None, *, timeout: float = 30.0) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=timeout)
        self.url = url

    def __enter__(self) -> OperatorApi:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._client.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
    ) -> Any:
        """Send a request; return the decoded JSON or raise `CommandError` with the reason."""
        query = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            response = self._client.request(method, path, json=json, params=query)
        except httpx.TimeoutException:
            raise CommandError(f"the service at {self.url} did not answer in time") from None
        except httpx.TransportError as exc:
            raise CommandError(f"cannot reach the service at {self.url}: {exc}") from None
        if response.status_code >= 400:
            raise CommandError(_describe_error(response))
        return response.json()


def _describe_error(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}: {response.text[:200]}"
    if isinstance(body, dict) and "detail" in body:
        return f"{body.get('title', 'Error')} ({response.status_code}): {body['detail']}"
    return f"HTTP {response.status_code}: {body}"
