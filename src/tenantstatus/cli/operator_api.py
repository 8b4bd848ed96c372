"""A small synchronous client for the operator API, used by the CLI."""

from __future__ import annotations

from typing import Any

import httpx2 as httpx

__all__ = [
    "NEGATIVE",
    "OK",
    "UNREACHABLE",
    "USAGE",
    "CommandError",
    "OperatorApi",
    "check_url",
]

# The exit codes every command documents.
OK, NEGATIVE, USAGE, UNREACHABLE = 0, 1, 2, 3


class CommandError(Exception):
    """A CLI command failed; the message is the one line the user sees.

    `exit_code` is one of the documented codes; `details` are extra fields for the
    `--json` error object (for example how many tenants an interrupted import created).
    """

    def __init__(
        self, message: str, exit_code: int = NEGATIVE, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.details = details or {}


def check_url(url: str, option: str = "--url") -> str:
    """Return `url` if it is an absolute http(s) URL, or raise a usage `CommandError`."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise CommandError(
            f"{option} {url!r} is not a valid URL ({exc}); give one like http://127.0.0.1:8080",
            USAGE,
        ) from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise CommandError(
            f"{option} {url!r} is not an http:// or https:// URL; "
            "give one like http://127.0.0.1:8080",
            USAGE,
        )
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise CommandError(f"{option} {url!r}: port {parsed.port} is out of range", USAGE)
    return url


class OperatorApi:
    """Calls `/admin` on a running service with the operator token."""

    def __init__(self, url: str, token: str | None, *, timeout: float = 30.0) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        base = check_url(url).rstrip("/")
        self._client = httpx.Client(base_url=base, headers=headers, timeout=timeout)
        self.url = url
        self._has_token = bool(token)

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
            raise CommandError(
                f"the service at {self.url} did not answer in time; is it overloaded?",
                UNREACHABLE,
            ) from None
        except httpx.TransportError as exc:
            raise CommandError(
                f"cannot reach the service at {self.url}: {exc}; "
                "is it running, and is --url (TENANTSTATUS_URL) its address?",
                UNREACHABLE,
            ) from None
        if response.status_code == 401:
            raise CommandError(self._unauthorized(response))
        if response.status_code >= 400:
            code = UNREACHABLE if response.status_code >= 500 else NEGATIVE
            raise CommandError(_describe_error(response), code)
        try:
            return response.json()
        except ValueError:
            raise CommandError(
                f"the answer from {self.url}{path} is not JSON; "
                "is --url (TENANTSTATUS_URL) a tenantstatus service?",
                UNREACHABLE,
            ) from None

    def _unauthorized(self, response: httpx.Response) -> str:
        which = "was refused" if self._has_token else "is missing"
        return (
            f"Unauthorized (401): the operator token {which}; "
            "give it with --token or TENANTSTATUS_TOKEN"
        )


def _describe_error(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}: {' '.join(response.text[:200].split())}"
    if isinstance(body, dict) and "detail" in body:
        detail = body["detail"]
        if response.status_code == 409 and isinstance(body.get("AllowedOperations"), list):
            detail = _refusal(body)
        return f"{body.get('title', 'Error')} ({response.status_code}): {detail}"
    return f"HTTP {response.status_code}: {body}"


def _refusal(problem: dict[str, Any]) -> str:
    """A refused lifecycle operation: why, then what to do instead."""
    tenant, state = problem.get("ContextIdentifier"), problem.get("CurrentState")
    allowed = ", ".join(str(op) for op in problem["AllowedOperations"])
    if state is None:
        return (
            f"tenant {tenant} does not exist; provision it first with "
            f"'tenantstatus tenant add {tenant} --endpoint URL'"
        )
    if problem.get("Operation") == "provision":
        return (
            f"tenant {tenant} already exists (state {state}); change it with "
            f"'tenantstatus tenant op {tenant} OPERATION', OPERATION one of: {allowed}"
        )
    # The service's detail is "<why>. Allowed now: <operations>."; the CLI keeps the why.
    why = str(problem["detail"]).partition(". Allowed now:")[0].rstrip(".")
    if not allowed:
        return f"{why}; no operation is allowed from {state}"
    return (
        f"{why}; run one of the operations allowed now instead: {allowed} "
        f"(tenantstatus tenant op {tenant} OPERATION)"
    )
