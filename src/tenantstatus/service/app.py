"""The service's ASGI application.

    >>> app = create_app(Settings.from_env())
    >>> uvicorn.run(app)

Requests meet, in order: the state API's hot path (bare ASGI, from memory), the
body limit, then FastAPI with the operator API, health and metrics.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp

from tenantstatus.__about__ import __version__
from tenantstatus.clock import Clock, SystemClock
from tenantstatus.config import Settings
from tenantstatus.service import admin, keys_admin, push_admin, wellknown
from tenantstatus.service.applications import ApplicationService
from tenantstatus.service.auth import OperatorAuth
from tenantstatus.service.change_feed import ChangeFeed
from tenantstatus.service.delivery_control import DeliveryControl, InProcessDelivery
from tenantstatus.service.dispatch_processes import DispatchProcesses
from tenantstatus.service.dispatcher_setup import DispatcherParts, build_dispatcher, url_policy
from tenantstatus.service.errors import install_error_handlers
from tenantstatus.service.limits import BodyLimit
from tenantstatus.service.metrics import ServiceMetrics
from tenantstatus.service.openapi import install_openapi
from tenantstatus.service.problems import problem
from tenantstatus.service.scheduler import Scheduler
from tenantstatus.service.signing_keys import KeyService
from tenantstatus.service.state_api import StateRoute
from tenantstatus.service.state_cache import StateCache, ValidityClock
from tenantstatus.service.status import status_router
from tenantstatus.service.tenants import TenantService
from tenantstatus.store import SqlStore, StoreUnavailable
from tenantstatus.store.secret_box import SecretBox

__all__ = ["app_from_environment", "create_app"]

log = logging.getLogger(__name__)

_DESCRIPTION = """\
Tenant lifecycle state for a multi-tenant SaaS platform.

`GET /api/state/{ContextIdentifier}` is public. Everything under `/admin` needs the
operator token as `Authorization: Bearer <token>`. Errors are `application/problem+json`.
"""


def create_app(settings: Settings, *, clock: Clock | None = None) -> ASGIApp:
    """Build the service for `settings`; the store opens when the app starts."""
    clock = clock or SystemClock()
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    store = SqlStore(settings.resolved_database_url)
    cache = StateCache()
    metrics = ServiceMetrics()
    box = SecretBox.from_data_dir(settings.data_dir, settings.secret_key)
    keys = KeyService(store, box, clock, settings.signing_alg)
    policy = url_policy(settings)
    local: DispatcherParts | None = None
    processes: DispatchProcesses | None = None
    delivery: DeliveryControl
    if settings.delivery_processes > 0:
        processes = DispatchProcesses(
            settings.delivery_processes,
            {**os.environ, **settings.to_env()},
            observe=metrics.observe_delivery,
            report_depth=metrics.outbox_depth.set,
            stop_timeout=settings.delivery_timeout + 10,
        )
        delivery = processes
    else:
        local = build_dispatcher(
            settings,
            store,
            box,
            keys,
            clock,
            observe=metrics.observe_delivery,
            report_depth=metrics.outbox_depth.set,
        )
        delivery = InProcessDelivery(local.dispatcher, local.recipients)
    tenants = TenantService(store, cache, clock, metrics, on_announce=delivery.wake)
    applications = ApplicationService(store, box, clock, policy.check_url, delivery.forget)
    scheduler = Scheduler(tenants, interval=settings.scheduler_interval)
    feed = (
        ChangeFeed(settings.resolved_database_url.replace("+asyncpg", ""), tenants)
        if store.dialect == "postgresql"
        else None
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await store.open()
        auth, fresh_token = await OperatorAuth.establish(store, settings.operator_token)
        if fresh_token is not None:
            # Shown once, never logged: only its hash is kept.
            print(
                f"tenantstatus: generated the operator token (shown once): {fresh_token}",
                file=sys.stderr,
                flush=True,
            )
        app.state.operator_auth = auth
        await keys.load()
        loaded = await tenants.load_cache()
        log.info("state cache loaded: %d tenants", loaded)
        if feed is not None:
            feed.start()
        app.state.ready = True
        scheduler.start()
        if local is not None:
            local.dispatcher.start()
        if processes is not None:
            processes.start()
        key_refresher = asyncio.create_task(keys.keep_fresh(), name="tenantstatus-keys")
        try:
            yield
        finally:
            app.state.ready = False
            key_refresher.cancel()
            if feed is not None:
                await feed.stop()
            await scheduler.stop()
            if local is not None:
                await local.dispatcher.stop()
                await local.transport.aclose()
            if processes is not None:
                await processes.stop()
            await store.close()

    app = FastAPI(
        title="tenantstatus",
        version=__version__,
        description=_DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.tenants = tenants
    app.state.store = store
    app.state.applications = applications
    app.state.delivery = delivery
    app.state.keys = keys
    app.state.issuer = settings.resolved_public_url
    app.state.ready = False
    install_error_handlers(app)
    install_openapi(app)
    app.include_router(admin.router)
    app.include_router(push_admin.router)
    app.include_router(keys_admin.router)
    app.include_router(wellknown.router)
    app.include_router(status_router(public_overview=settings.status_public))
    _add_health_routes(app, store)

    state_route = StateRoute(
        BodyLimit(
            app,
            default=settings.max_body_bytes,
            overrides={"/admin/tenants/import": settings.import_max_body_bytes},
        ),
        cache,
        ValidityClock(settings.state_ttl),
        app.state,
    )
    metrics.watch(lambda: state_route.served, cache.counts_by_state)
    app.state.metrics = metrics
    return state_route


def app_from_environment() -> ASGIApp:
    """The app for one of several worker processes: settings from `TENANTSTATUS_*`."""
    return create_app(Settings.from_env())


def _add_health_routes(app: FastAPI, store: SqlStore) -> None:
    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        """The process is alive."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], responses={503: {"description": "Not ready"}})
    async def readyz(request: Request) -> Response:
        """The state cache is loaded and the database answers."""
        if not request.app.state.ready:
            return problem(503, "Not ready", "The service is still starting.")
        try:
            await store.ping()
        except StoreUnavailable as exc:
            return problem(503, "Not ready", f"The database does not answer: {exc}")
        return JSONResponse({"status": "ready"})

    @app.get("/metrics", tags=["health"], response_class=Response)
    async def metrics(request: Request) -> Response:
        """Prometheus metrics."""
        registry = request.app.state.metrics.registry
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
