"""The service's ASGI application.

    >>> app = create_app(Settings.from_env())
    >>> uvicorn.run(app)

Requests meet, in order: the state API's hot path (bare ASGI, from memory), the
body limit, then FastAPI with the operator API, health and metrics.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

from fastapi import FastAPI
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp

from tenantstatus.__about__ import __version__
from tenantstatus.clock import Clock, SystemClock
from tenantstatus.config import Settings
from tenantstatus.delivery.assembly import open_delivery, url_policy
from tenantstatus.delivery.page_signing import PageSigner
from tenantstatus.delivery.retention import DeliveryRetention
from tenantstatus.delivery.signing_keys import KeyService
from tenantstatus.service.apidocs import api_docs_router
from tenantstatus.service.auth import OperatorAuth
from tenantstatus.service.connections import prepare_process
from tenantstatus.service.limits import BodyLimit
from tenantstatus.service.metrics import ServiceMetrics
from tenantstatus.service.notices import routes as notice_routes
from tenantstatus.service.openapi import install_openapi
from tenantstatus.service.portal import FORM_MAX_BYTES, FORM_PATHS, portal_router
from tenantstatus.service.problems import install_error_handlers, problem
from tenantstatus.service.push import catchup_routes, key_routes, test_routes, wellknown
from tenantstatus.service.push import routes as push_routes
from tenantstatus.service.push.applications import ApplicationService
from tenantstatus.service.rollouts import Conductor, RolloutService
from tenantstatus.service.rollouts import routes as rollout_routes
from tenantstatus.service.services import Services, ServicesDep
from tenantstatus.service.state import StateCache, StateRoute, ValidityClock
from tenantstatus.service.status import status_router
from tenantstatus.service.tenants import Scheduler, TenantService, follow_changes
from tenantstatus.service.tenants import routes as tenant_routes
from tenantstatus.store import SqlStore, StoreUnavailable
from tenantstatus.store.private_files import private_directory
from tenantstatus.store.secret_box import SecretBox

__all__ = ["ServiceApp", "app_from_environment", "compose_app", "create_app"]

log = logging.getLogger(__name__)

_DESCRIPTION = """\
Tenant lifecycle state for a multi-tenant SaaS platform.

`GET /api/state/{ContextIdentifier}` is public. Everything under `/admin` needs the
operator token as `Authorization: Bearer <token>`. Errors are `application/problem+json`.
"""


@dataclass(frozen=True, slots=True)
class ServiceApp:
    """The service's ASGI app and the parts it was composed of, for embedders."""

    asgi: ASGIApp
    services: Services


def create_app(settings: Settings, *, clock: Clock | None = None) -> ASGIApp:
    """Build the service for `settings`; the store opens when the app starts."""
    return compose_app(settings, clock=clock).asgi


def compose_app(settings: Settings, *, clock: Clock | None = None) -> ServiceApp:
    """Build the service's parts and the app that serves them: the composition root."""
    clock = clock or SystemClock()
    private_directory(settings.data_dir)
    store = SqlStore(settings.resolved_database_url)
    cache = StateCache()
    metrics = ServiceMetrics()
    box = SecretBox.from_data_dir(settings.data_dir, settings.secret_key)
    keys = KeyService(
        store, box, clock, settings.signing_alg, timedelta(seconds=settings.key_publish_seconds)
    )
    delivery = open_delivery(
        settings,
        store,
        box,
        keys,
        clock,
        observe=metrics.observe_delivery,
        report_depth=metrics.outbox_depth.set,
    )
    tenants = TenantService(store, cache, clock, metrics, on_announce=delivery.wake)
    check_url = url_policy(settings).check_url
    services = Services(
        store=store,
        tenants=tenants,
        applications=ApplicationService(store, box, clock, check_url, delivery.forget),
        rollouts=RolloutService(store, tenants),
        keys=keys,
        delivery=delivery,
        cache=cache,
        clock=clock,
        metrics=metrics,
        issuer=settings.resolved_public_url,
        # RSA signs with the GIL released: a catch-up page is signed on every core.
        page_signer=PageSigner(min(4, os.cpu_count() or 1) if settings.signing_threads else 0),
    )
    scheduler = Scheduler(tenants, interval=settings.scheduler_interval)
    conductor = Conductor(store, tenants, metrics, interval=settings.scheduler_interval)
    retention = DeliveryRetention(
        store, clock, settings.delivery_retention, on_pruned=metrics.observe_pruned
    )
    metrics.delivery_retention.set(settings.delivery_retention.total_seconds())

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
        if auth.source == "stored":
            log.warning(
                "TENANTSTATUS_OPERATOR_TOKEN is not set: the operator token is the one stored "
                "in the database (printed once, when it was generated or reset). If it is "
                "lost, `tenantstatus operator-token reset` replaces it"
            )
        services.operator_auth = auth
        await keys.load()
        loaded = await tenants.load_cache()
        log.info("state cache loaded: %d tenants", loaded)
        feed = asyncio.create_task(
            follow_changes(store.changes, tenants), name="tenantstatus-change-feed"
        )
        services.ready = True
        scheduler.start()
        conductor.start()
        delivery.start()
        retention.start()
        key_refresher = asyncio.create_task(keys.keep_fresh(), name="tenantstatus-keys")
        token_follower = asyncio.create_task(
            auth.follow_store(store), name="tenantstatus-operator-token"
        )
        try:
            yield
        finally:
            services.ready = False
            key_refresher.cancel()
            token_follower.cancel()
            feed.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await feed
            await conductor.stop()
            await scheduler.stop()
            await retention.stop()
            await delivery.stop()
            services.page_signer.close()
            await store.close()

    app = FastAPI(
        title="tenantstatus",
        version=__version__,
        description=_DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.services = services
    install_error_handlers(app)
    install_openapi(app)
    app.include_router(tenant_routes.router)
    app.include_router(notice_routes.router)
    app.include_router(rollout_routes.router)
    app.include_router(push_routes.router)
    app.include_router(test_routes.router)
    app.include_router(catchup_routes.router)
    app.include_router(key_routes.router)
    app.include_router(wellknown.router)
    app.include_router(status_router(public_overview=settings.status_public))
    app.include_router(portal_router())
    _add_health_routes(app)
    app.include_router(api_docs_router(openapi_url="/openapi.json", title=app.title))

    state_route = StateRoute(
        BodyLimit(
            app,
            default=settings.max_body_bytes,
            overrides={
                "/admin/tenants/import": settings.import_max_body_bytes,
                **dict.fromkeys(FORM_PATHS, FORM_MAX_BYTES),
            },
        ),
        cache,
        ValidityClock(settings.state_ttl),
    )
    metrics.watch(lambda: state_route.served, cache.counts_by_state)
    return ServiceApp(state_route, services)


def app_from_environment() -> ASGIApp:
    """The app for one of several worker processes: settings from `TENANTSTATUS_*`."""
    if not logging.getLogger().handlers:
        # A spawned worker: uvicorn configured only its own loggers, at `--log-level`.
        logging.basicConfig(
            level=logging.getLogger("uvicorn.error").getEffectiveLevel(),
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
    settings = Settings.from_env()
    prepare_process(settings.header_timeout, settings.max_connections)
    return create_app(settings)


def _add_health_routes(app: FastAPI) -> None:
    @app.get("/healthz", tags=["health"], summary="Liveness")
    async def healthz() -> dict[str, str]:
        """The process is alive and its event loop answers; says nothing of the database."""
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["health"],
        summary="Readiness",
        responses={503: {"description": "Not ready: starting, or the database does not answer"}},
    )
    async def readyz(services: ServicesDep) -> Response:
        """The state cache is loaded and the database answers: route traffic here."""
        if not services.ready:
            return problem(503, "Not ready", "The service is still starting.")
        try:
            await services.store.ping()
        except StoreUnavailable as exc:
            return problem(503, "Not ready", f"The database does not answer: {exc}")
        return JSONResponse({"status": "ready"})

    @app.get(
        "/metrics",
        tags=["health"],
        summary="Prometheus metrics",
        response_class=Response,
        responses={200: {"description": "Metrics", "content": {CONTENT_TYPE_LATEST: {}}}},
    )
    async def metrics(services: ServicesDep) -> Response:
        """Prometheus metrics: state answers served, tenants by state, outbox depth,
        delivery outcomes and latencies."""
        registry = services.metrics.registry
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
