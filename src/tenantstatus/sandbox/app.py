"""The sandbox: the real service and simulated tenant installations in one ASGI app.

    settings = sandbox_settings(host="127.0.0.1", port=8080, data_dir=Path("/tmp/sb"))
    app = create_sandbox(settings, Scenario(), notify=["http://127.0.0.1:9000/notify"])
    uvicorn.run(app, host=settings.host, port=settings.port)

Requests under `/sim` go to the installations; everything else is the service as
`tenantstatus serve` runs it. When the service has started, the sandbox creates the
scenario's tenants, registers one application per notify URL (approved by every
tenant), reports what it made (`on_ready`) and starts playing the scenario, and, with
the scenario's `tooling`, the platform's tooling (`PlatformTooling`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from tenantstatus.clock import Clock
from tenantstatus.config import Settings
from tenantstatus.lifecycle import Operation, OperationRequest, Tenant
from tenantstatus.model import TenantState
from tenantstatus.retry import RetrySchedule
from tenantstatus.sandbox.directory import ServiceDirectory
from tenantstatus.sandbox.installations import PREFIX, InstallationSite
from tenantstatus.sandbox.player import PlayedOperation, ScenarioPlayer
from tenantstatus.sandbox.releases import Release
from tenantstatus.sandbox.scenario import Scenario
from tenantstatus.sandbox.tooling import PlatformTooling
from tenantstatus.service import compose_app
from tenantstatus.service.auth import new_token
from tenantstatus.service.push.applications import ApplicationService
from tenantstatus.service.tenants.service import ImportItem, TenantService

__all__ = [
    "LOCAL_NETWORKS",
    "SANDBOX_RETRY_SCHEDULE",
    "RegisteredApplication",
    "Sandbox",
    "SandboxInfo",
    "create_sandbox",
    "sandbox_settings",
]

log = logging.getLogger(__name__)

#: Where State Change URLs may point from a sandbox: loopback and private networks.
LOCAL_NETWORKS = ("127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
#: Quicker retries than production, so a receiver that was down catches up in seconds.
SANDBOX_RETRY_SCHEDULE = RetrySchedule((0, 1, 2, 5, 10, 30, 60, 300))
_SEED_ACTOR = "sandbox"
_SEED_BATCH = 1000


def sandbox_settings(
    *,
    host: str,
    port: int,
    data_dir: Path,
    public_url: str | None = None,
    state_ttl: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Service settings for a sandbox: SQLite in `data_dir`, http and local receivers allowed.

    `TENANTSTATUS_*` variables still apply (the signing algorithm, the TTL, the operator
    token...), except the database: a sandbox always keeps its own SQLite file. Without
    an operator token in the environment, a fresh one is made.
    """
    env = os.environ if environ is None else environ
    overrides: dict[str, Any] = {
        "host": host,
        "port": port,
        "data_dir": data_dir,
        "public_url": public_url,
        "state_ttl": state_ttl,
        "allow_http": True,
    }
    if not env.get("TENANTSTATUS_ALLOWED_NETWORKS"):
        overrides["allowed_networks"] = LOCAL_NETWORKS
    if not env.get("TENANTSTATUS_RETRY_SCHEDULE"):
        overrides["retry_schedule"] = SANDBOX_RETRY_SCHEDULE
    settings = Settings.from_env(env, **overrides)
    return replace(
        settings, database_url=None, operator_token=settings.operator_token or new_token()
    )


@dataclass(frozen=True, slots=True)
class RegisteredApplication:
    """An application the sandbox registered for a notify URL; shown once, at start."""

    id: str
    name: str
    url: str
    token: str | None
    secret: str


@dataclass(frozen=True, slots=True)
class SandboxInfo:
    """What a vendor needs to use a running sandbox."""

    url: str
    operator_token: str
    data_dir: Path
    notice: float
    tenants: tuple[Tenant, ...]
    applications: tuple[RegisteredApplication, ...] = ()
    steps: tuple[str, ...] = ()
    stats_url: str = ""
    tooling: str | None = None  # what the simulated platform tooling does, if it plays

    def to_json(self) -> dict[str, Any]:
        """Everything, PascalCase keys, for `tenantstatus sandbox --json`."""
        return {
            "Url": self.url,
            "StateApi": f"{self.url}/api/state/{{ContextIdentifier}}",
            "Issuer": self.url,
            "OperatorToken": self.operator_token,
            "DataDir": str(self.data_dir),
            "Stats": self.stats_url,
            "Notice": self.notice,
            "Tenants": [
                {
                    "ContextIdentifier": tenant.context_identifier,
                    "State": tenant.state.name,
                    "Endpoint": tenant.endpoint,
                }
                for tenant in self.tenants
            ],
            "Applications": [
                {
                    "Id": application.id,
                    "Name": application.name,
                    "Url": application.url,
                    "Token": application.token,
                    "Secret": application.secret,
                }
                for application in self.applications
            ],
            "Steps": list(self.steps),
            "Tooling": self.tooling,
        }


class Sandbox:
    """The ASGI app: `/sim/...` to the installations, the rest to the service."""

    def __init__(
        self,
        settings: Settings,
        scenario: Scenario,
        *,
        notify: Sequence[str] = (),
        on_ready: Callable[[SandboxInfo], None] | None = None,
        on_played: Callable[[PlayedOperation], None] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.operator_token = settings.operator_token or new_token()
        self.settings = replace(settings, operator_token=self.operator_token)
        settings = self.settings
        self.scenario = scenario
        self.notify = tuple(notify)
        self.on_ready = on_ready or (lambda info: None)
        composed = compose_app(settings, clock=clock)
        self.service: ASGIApp = composed.asgi
        self.tenants: TenantService = composed.services.tenants
        self.applications: ApplicationService = composed.services.applications
        self.site = InstallationSite(
            ServiceDirectory(self.tenants.store),
            self.tenants.clock,
            base_url=settings.resolved_public_url,
            notice=scenario.notice,
            known=tuple(tenant.context_identifier for tenant in scenario.tenants),
            scenario_view=lambda: self.player.view(),
            tooling_view=lambda: None if self.tooling is None else self.tooling.view(),
        )
        self.player = ScenarioPlayer(self.tenants, scenario, self.site.endpoint, report=on_played)
        self.tooling: PlatformTooling | None = None
        if scenario.tooling is not None:
            # Through the operator API, as the platform's own tooling: over the loopback.
            self.tooling = PlatformTooling(
                scenario.tooling,
                base_url=_local_url(settings.host, settings.port),
                token=self.operator_token,
                report=on_played,
            )
        self.info: SandboxInfo | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(scope, receive, send)
            return
        path: str = scope.get("path", "")
        if path == PREFIX or path.startswith(PREFIX + "/"):
            await self.site(scope, receive, send)
            return
        await self.service(scope, receive, send)

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The service's lifespan, with the sandbox set up after its start and before its stop.

        When the setup fails, the service is shut down again before the server is told, and
        the exception is raised after `lifespan.startup.failed`, as Starlette does.
        """
        failures: list[Exception] = []

        async def send_started(message: MutableMapping[str, Any]) -> None:
            if failures:
                return  # the service's shutdown after a failed setup: the server never started
            if message["type"] == "lifespan.startup.complete":
                try:
                    await self.start()
                except Exception as exc:
                    failures.append(exc)
                    return
            await send(message)

        async def receive_stopping() -> MutableMapping[str, Any]:
            if failures:
                return {"type": "lifespan.shutdown"}
            message = await receive()
            if message["type"] == "lifespan.shutdown":
                if self.tooling is not None:
                    await self.tooling.stop()
                await self.player.stop()
            return message

        await self.service(scope, receive_stopping, send_started)
        if failures:
            await send({"type": "lifespan.startup.failed", "message": str(failures[0])})
            raise failures[0]

    async def start(self) -> SandboxInfo:
        """Create the tenants, register the applications, report, and start the scenario."""
        tenants = await self._seed()
        applications = [await self._register(url, tenants) for url in self.notify]
        base = self.settings.resolved_public_url
        self.info = SandboxInfo(
            url=base,
            operator_token=self.operator_token,
            data_dir=self.settings.data_dir,
            notice=self.scenario.notice,
            tenants=tuple(tenants),
            applications=tuple(applications),
            steps=tuple(step.describe() for step in self.scenario.steps),
            stats_url=f"{base}{PREFIX}/_stats",
            tooling=None if self.scenario.tooling is None else self.scenario.tooling.describe(),
        )
        self.on_ready(self.info)
        self.player.start()
        if self.tooling is not None:
            self.tooling.start()
        return self.info

    async def _seed(self) -> list[Tenant]:
        """Create the scenario's new tenants in bulk, and keep those an earlier run made."""
        store = self.tenants.store
        fresh: list[ImportItem] = []
        for simulated in self.scenario.tenants:
            ctx = simulated.context_identifier
            existing = await store.get_tenant(ctx)
            if existing is not None:
                await self._keep(existing, simulated.host)
                continue
            endpoint = self.site.endpoint(simulated.host, ctx)
            release = Release.of(simulated.version_name, simulated.file_version)
            request = OperationRequest(
                Operation.PROVISION,
                endpoint=endpoint,
                state=simulated.state,
                version_name=release.version_name,
                file_version=release.file_version,
                version_document=release.document(endpoint),
            )
            fresh.append(ImportItem(ctx, request))
        # A thousand at a time: one transaction each, where one per tenant took seconds.
        for start in range(0, len(fresh), _SEED_BATCH):
            await self.tenants.import_tenants(fresh[start : start + _SEED_BATCH], actor=_SEED_ACTOR)
        seeded = [await store.get_tenant(t.context_identifier) for t in self.scenario.tenants]
        return [tenant for tenant in seeded if tenant is not None]

    async def _keep(self, tenant: Tenant, host: str) -> Tenant:
        """A tenant from an earlier run on this data directory: move it to this address.

        An earlier sandbox may have listened on another port; its Endpoints would lead
        nowhere. The tenant keeps its state and host; the move is announced.
        """
        endpoint = self.site.endpoint(
            self.site.host_of(tenant.endpoint) or host, tenant.context_identifier
        )
        if tenant.endpoint == endpoint or tenant.state is TenantState.Deleted:
            return tenant
        request = OperationRequest(Operation.MOVE, endpoint=endpoint)
        outcome, _ = await self.tenants.run(tenant.context_identifier, request, actor=_SEED_ACTOR)
        return outcome.tenant

    async def _register(self, url: str, tenants: Sequence[Tenant]) -> RegisteredApplication:
        credentials = await self.applications.create(f"Sandbox application for {url}", url)
        application = credentials.application
        for tenant in tenants:
            await self.applications.approve(application.id, tenant.context_identifier)
        return RegisteredApplication(
            id=application.id,
            name=application.name,
            url=application.url,
            token=credentials.token,
            secret=credentials.secret,
        )


def _local_url(host: str, port: int) -> str:
    """Where this process reaches its own server: loopback when it listens everywhere."""
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 (a comparison, not a bind)
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def create_sandbox(
    settings: Settings,
    scenario: Scenario | None = None,
    *,
    notify: Sequence[str] = (),
    on_ready: Callable[[SandboxInfo], None] | None = None,
    on_played: Callable[[PlayedOperation], None] | None = None,
    clock: Clock | None = None,
) -> Sandbox:
    """Build the sandbox app; it sets itself up when its server starts it."""
    return Sandbox(
        settings,
        scenario or Scenario(),
        notify=notify,
        on_ready=on_ready,
        on_played=on_played,
        clock=clock,
    )
