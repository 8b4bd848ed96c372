"""Commands for application vendors: `check`, `watch` and `receive`.

tenantstatus check Cust12345 --env online        # exit 0 when running, 1 when not
tenantstatus watch Cust12345 Cust67890 --url http://127.0.0.1:8000
tenantstatus receive --port 8080 --issuer https://status.example.com --audience my-app
tenantstatus receive --issuer https://status.example.com --audience my-app \
    --webhook-secret whsec_... --forward-to http://127.0.0.1:3000/webhooks

Exit codes: 0 running (or done), 1 not running, 2 a usage error, 3 the state API could
not be reached or gave an answer outside the contract. Errors are one line on stderr.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime
from functools import partial
from typing import Annotated, NoReturn

import typer

from tenantstatus.cli.forward import Forwarded, ForwardingReceiver
from tenantstatus.cli.operator_api import CommandError, check_url
from tenantstatus.client import (
    AsyncNotificationVerifier,
    DuplicateDelivery,
    NotificationReceiver,
    NotificationRejected,
    RetryPolicy,
    TenantStatusClient,
    TenantStatusError,
    VerifiedNotification,
    base_url_for,
)
from tenantstatus.client.cache import PulledStatus

__all__ = ["check", "receive", "register", "watch"]

RUNNING, NOT_RUNNING, USAGE, UNAVAILABLE = 0, 1, 2, 3

UrlOpt = Annotated[
    str | None,
    typer.Option("--url", help="The state API's base URL (default: the global --url)."),
]
EnvOpt = Annotated[
    str | None,
    typer.Option("--env", help="A platform environment: sod, qaonline or online."),
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
TimeoutOpt = Annotated[float, typer.Option("--timeout", help="Seconds per HTTP request.")]


def register(app: typer.Typer) -> None:
    """Add the vendor commands to the `tenantstatus` app."""
    app.command("check")(check)
    app.command("watch")(watch)
    app.command("receive")(receive)


def _fail(code: int, message: str) -> NoReturn:
    raise CommandError(message, code)


def _client(
    ctx: typer.Context, url: str | None, env: str | None, timeout: float
) -> TenantStatusClient:
    default = None if env is not None else (ctx.obj or {}).get("url")
    try:
        base = base_url_for(url or default, env)
    except ValueError as exc:
        _fail(USAGE, str(exc))
    check_url(base, "--url" if env is None else "--env")
    return TenantStatusClient(base, timeout=timeout, retry_policy=RetryPolicy(attempts=2))


def _instant(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _describe(status: PulledStatus) -> str:
    running = "running" if status.is_running else "not running"
    stale = ", stale: the state API is unreachable" if status.stale else ""
    endpoint = status.endpoint or "-"
    return (
        f"{status.context_identifier}: {status.state_name} ({running}{stale}) "
        f"endpoint {endpoint}, valid until {_instant(status.valid_until)}"
    )


def check(
    ctx: typer.Context,
    context_identifier: Annotated[str, typer.Argument(metavar="CTX", help="The tenant.")],
    url: UrlOpt = None,
    env: EnvOpt = None,
    as_json: JsonFlag = False,
    timeout: TimeoutOpt = 5.0,
) -> None:
    """Print a tenant's state; exit 0 when it is running, 1 when it is not."""
    with _client(ctx, url, env, timeout) as client:
        try:
            status = client.get_state(context_identifier)
        except ValueError as exc:
            _fail(USAGE, str(exc))
        except TenantStatusError as exc:
            _fail(UNAVAILABLE, str(exc))
    if as_json:
        print(json.dumps(status.to_wire(), indent=2))
    else:
        print(_describe(status))
    raise SystemExit(RUNNING if status.is_running else NOT_RUNNING)


def watch(
    ctx: typer.Context,
    context_identifiers: Annotated[
        list[str], typer.Argument(metavar="CTX...", help="The tenants to watch.")
    ],
    url: UrlOpt = None,
    env: EnvOpt = None,
    max_wait: Annotated[
        float, typer.Option("--max-wait", help="Longest pause between polls, in seconds.")
    ] = 60.0,
    max_events: Annotated[
        int, typer.Option("--max-events", help="Stop after this many lines (0: never).")
    ] = 0,
    timeout: TimeoutOpt = 5.0,
) -> None:
    """Show each tenant's state, then every change, re-polling at ValidUntil."""
    seen: dict[str, tuple[str, str, bool] | str] = {}
    printed = 0
    with _client(ctx, url, env, timeout) as client:
        first = True
        try:
            while True:
                wake = time.time() + max_wait
                for tenant in context_identifiers:
                    line, mark, valid_until = _poll(client, tenant, first)
                    if seen.get(tenant) != mark:
                        seen[tenant] = mark
                        printed += 1
                        print(f"{_instant(datetime.now(UTC))}  {line}", flush=True)
                        if printed == max_events:
                            return
                    if valid_until is not None:
                        wake = min(wake, valid_until)
                first = False
                time.sleep(max(0.1, wake - time.time()))
        except KeyboardInterrupt:
            return


def _poll(
    client: TenantStatusClient, tenant: str, first: bool
) -> tuple[str, tuple[str, str, bool] | str, float | None]:
    try:
        status = client.get_state(tenant) if first else client.refresh(tenant)
    except ValueError as exc:
        _fail(USAGE, str(exc))
    except TenantStatusError as exc:
        return f"{tenant}: error: {exc}", f"error: {type(exc).__name__}", None
    mark = (status.state_name, status.endpoint, status.stale)
    return _describe(status), mark, status.valid_until.timestamp()


def receive(
    audience: Annotated[
        str,
        typer.Option(
            "--audience", envvar="TENANTSTATUS_AUDIENCE", help="Your application's id (aud)."
        ),
    ],
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8090,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    issuer: Annotated[
        str | None, typer.Option("--issuer", help="The tenantstatus service's URL.")
    ] = None,
    env: Annotated[
        str | None, typer.Option("--env", help="Trust the platform's environment instead.")
    ] = None,
    webhook_secret: Annotated[
        str | None,
        typer.Option(
            "--webhook-secret",
            envvar="TENANTSTATUS_WEBHOOK_SECRET",
            help="Your whsec_ secret: check the Standard Webhooks signature as well.",
        ),
    ] = None,
    forward_to: Annotated[
        str | None,
        typer.Option(
            "--forward-to",
            help="Your app's URL (loopback http is fine): pass each verified notification "
            "on, body and headers unchanged, and answer the service with what the app "
            "answered (502/504 when it cannot be reached or is too slow). Forged "
            "notifications are refused and never forwarded.",
        ),
    ] = None,
    forward_timeout: Annotated[
        float,
        typer.Option("--forward-timeout", help="Seconds the app has to answer a forward."),
    ] = 10.0,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="With --forward-to: one JSON object per line."),
    ] = False,
) -> None:
    """Print each verified notification as a JSON line, or forward it to your app.

    Each line starts with "Test": true for a test notification (`app test`: no tenant
    changed), false for a real one.

    With --forward-to, print one line per notification: what was verified, what your
    app answered, and how long it took.
    """
    if (issuer is None) == (env is None):
        _fail(USAGE, "give either --issuer URL or --env NAME")
    if forward_to is not None:
        check_url(forward_to, "--forward-to")
    if not forward_timeout > 0:
        _fail(
            USAGE,
            f"--forward-timeout must be a positive number of seconds, not {forward_timeout:g}; "
            "give one like 10",
        )
    try:
        import uvicorn
    except ImportError:
        _fail(USAGE, "tenantstatus receive needs an ASGI server: pip install uvicorn")
    secrets = [webhook_secret] if webhook_secret else []
    try:
        if issuer is not None:
            verifier = AsyncNotificationVerifier.for_service(
                issuer, audience, webhook_secrets=secrets
            )
        else:
            verifier = AsyncNotificationVerifier.for_platform(
                env or "", audience, webhook_secrets=secrets
            )
    except ValueError as exc:
        _fail(USAGE, str(exc))
    receiver: NotificationReceiver
    if forward_to is None:
        receiver = NotificationReceiver(
            verifier, handler=_print_notification, on_test=_print_notification
        )
    else:
        report = partial(_print_forwarded, forward_to, bool(secrets), as_json)
        receiver = ForwardingReceiver(
            verifier,
            forward_to,
            report=report,
            refused=partial(_print_refused, as_json),
            timeout=forward_timeout,
        )
    onward = f", forwarding to {forward_to}" if forward_to else ""
    print(
        f"listening on http://{host}:{port}/ for notifications from {verifier.issuer}{onward}",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(receiver, host=host, port=port, log_level="warning", lifespan="on")


def _print_notification(verified: VerifiedNotification) -> None:
    # "Test" first, so a test notification (`app test`) stands out on the terminal too.
    document = {
        "Test": verified.is_test,
        **verified.notification.to_wire(),
        "Delivery": verified.delivery_id,
        "KeyId": verified.key_id,
    }
    document.pop("Token", None)
    change = verified.change_type
    document["Change"] = change.name if change is not None else "unknown"
    print(json.dumps(document), flush=True)


def _print_forwarded(url: str, signed: bool, as_json: bool, forwarded: Forwarded) -> None:
    verified = forwarded.verified
    change = verified.change_type
    change_name = change.name if change is not None else "unknown"
    if as_json:
        document = {
            "Delivery": verified.delivery_id,
            "ContextIdentifier": verified.context_identifier,
            "Change": change_name,
            "KeyId": verified.key_id,
            "WebhookSignature": "verified" if signed else "not checked",
            "ForwardedTo": url,
            "StatusCode": forwarded.status_code,
            "LatencyMs": forwarded.latency_ms,
            "Error": forwarded.error,
        }
        print(json.dumps(document), flush=True)
        return
    checked = f"token (key {verified.key_id})" + (" and webhook signature" if signed else "")
    outcome = (
        f"answered {forwarded.status_code}"
        if forwarded.error is None
        else f"{forwarded.status_code}: {forwarded.error}"
    )
    print(
        f"{_instant(datetime.now(UTC))}  {verified.context_identifier} {change_name} "
        f"delivery {verified.delivery_id}: verified {checked}; {url} {outcome} "
        f"in {forwarded.latency_ms} ms",
        flush=True,
    )


def _print_refused(as_json: bool, exc: NotificationRejected) -> None:
    duplicate = isinstance(exc, DuplicateDelivery)
    if as_json:
        document = {
            "Refused": type(exc).__name__,
            "Delivery": exc.delivery_id if isinstance(exc, DuplicateDelivery) else None,
            "StatusCode": exc.status_code,
            "Error": str(exc),
            "Forwarded": False,
        }
        print(json.dumps(document), flush=True)
        return
    what = "answered 200 (already accepted)" if duplicate else f"refused {exc.status_code}"
    print(
        f"{_instant(datetime.now(UTC))}  {what}, not forwarded: {type(exc).__name__}: {exc}",
        flush=True,
    )
