"""The application factory: one FastAPI app with every router mounted."""

from __future__ import annotations

from fastapi import FastAPI

from remit import __version__, admin
from remit.api import (
    billing,
    billing_actions,
    cron,
    errors,
    fake,
    health,
    jobs,
    metrics,
    openapi,
    provisioning,
    usage,
    webhooks,
)
from remit.api.origin import OriginGuardMiddleware
from remit.runtime import Runtime


def create_app(runtime: Runtime) -> FastAPI:
    """Build the ASGI app over ``runtime``; routers find it at ``request.app.state.runtime``."""
    settings = runtime.settings
    interactive = settings.serves_interactive_docs  # never in production, never against the live processor
    app = FastAPI(
        title="remit",
        version=__version__,
        docs_url="/docs" if interactive else None,
        redoc_url="/redoc" if interactive else None,
        openapi_url="/openapi.json" if settings.serves_api_docs else None,
    )
    app.state.runtime = runtime
    errors.install(app)  # one JSON error shape; inside the metrics middleware, which counts its answers
    app.add_middleware(OriginGuardMiddleware, runtime=runtime)  # refusals counted by the metrics middleware too
    app.add_middleware(metrics.RequestMetricsMiddleware)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(webhooks.build_router(settings))
    app.include_router(billing.router)
    app.include_router(billing_actions.router)
    app.include_router(jobs.router)
    app.include_router(provisioning.router)
    app.include_router(usage.router)
    app.include_router(provisioning.cron_router)  # before the generic /api/cron/{name}
    app.include_router(cron.router)
    fake.mount(app, runtime)
    admin.mount(app)
    openapi.install(app)
    return app
