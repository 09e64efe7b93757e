"""The application factory: one FastAPI app with every router mounted."""

from __future__ import annotations

from fastapi import FastAPI

from remit import __version__, admin
from remit.api import billing, errors, fake, health, metrics, provisioning, usage, webhooks
from remit.runtime import Runtime


def create_app(runtime: Runtime) -> FastAPI:
    """Build the ASGI app over ``runtime``; routers find it at ``request.app.state.runtime``."""
    docs = runtime.settings.serves_api_docs  # off in production unless REMIT_API_DOCS=on
    app = FastAPI(
        title="remit",
        version=__version__,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
    )
    app.state.runtime = runtime
    errors.install(app)  # one JSON error shape; inside the metrics middleware, which counts its answers
    app.add_middleware(metrics.RequestMetricsMiddleware)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(webhooks.build_router(runtime.settings))
    app.include_router(billing.router)
    app.include_router(provisioning.router)
    app.include_router(usage.router)
    fake.mount(app, runtime)
    admin.mount(app)
    return app
