"""The OpenAPI document (``/openapi.json``) as remit answers, not as FastAPI guesses.

FastAPI documents a 422 ``HTTPValidationError`` on every route with parameters; remit answers a parameter it
refuses with 400 and its one error shape (:mod:`remit.api.errors`), which every route declares instead, so
the 422s and their schemas are taken out. The bearer schemes are declared (service tokens on ``/api/v1``, the
cron secret on ``/api/cron``), so clients and fuzzers know what to send. A test checks that every operation
declares a body schema for each of its answers and that error answers are the error shape.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

SECURITY_SCHEMES = {
    "serviceToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "A token of REMIT_SERVICE_TOKENS (docs/api.md#service-tokens).",
    },
    "cronSecret": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Cron-Secret",
        "description": "A secret of CRON_SECRET (docs/api.md#cron-endpoints); `Authorization: Bearer` works too.",
    },
}
#: Which scheme guards which path prefix.
SECURED_PREFIXES = {"/api/v1/": "serviceToken", "/api/cron/": "cronSecret"}


def shape(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` (FastAPI's document) as remit answers (see the module docs); changed in place and returned."""
    for path, item in schema.get("paths", {}).items():
        scheme = next((name for prefix, name in SECURED_PREFIXES.items() if path.startswith(prefix)), None)
        for operation in item.values():
            operation.get("responses", {}).pop("422", None)
            if scheme is not None:
                operation["security"] = [{scheme: []}]
    components = schema.setdefault("components", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        components.get("schemas", {}).pop(unused, None)
    components["securitySchemes"] = SECURITY_SCHEMES
    return schema


def install(app: FastAPI) -> None:
    """Serve :func:`shape`'s document at ``app.openapi_url`` (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = shape(FastAPI.openapi(app))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


__all__ = ["SECURITY_SCHEMES", "install", "shape"]
