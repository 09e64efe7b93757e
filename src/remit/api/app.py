"""The application factory: one FastAPI app with every router mounted."""

from __future__ import annotations

from fastapi import FastAPI

from remit import __version__
from remit.runtime import Runtime


def create_app(runtime: Runtime) -> FastAPI:
    """Build the ASGI app over ``runtime``; routers find it at ``request.app.state.runtime``."""
    app = FastAPI(title="remit", version=__version__)
    app.state.runtime = runtime
    return app
