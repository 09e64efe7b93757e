"""The orchestrator's write-back and the reconciler's cron trigger.

``POST /api/internal/provisioning/callback``: the body is verified first — the hex HMAC-SHA256 of the raw
bytes in ``X-Provisioning-Signature`` under ``PROVISIONING_CALLBACK_SECRET`` (else the trigger secret),
compared in constant time — and nothing is read or written before it matches. Answers: 200
``{"ok": true, "status": …}`` (the job's status after the update: a replay, or a ``failed`` after
``provisioned``, answers the unchanged status); 401 bad or missing signature; 400 malformed body; 404
``{"error": "no provisioning job for stripe_session_id"}`` (remit never invents a job); 503 when no secret is
configured (the orchestrator retries). A database outage is a 503 from the error middleware.

``POST /api/cron/reconcile-provisioning``: one reconciler run for an external scheduler, behind the cron
endpoints' guard (:func:`remit.api.auth.require_cron_secret`: ``x-cron-secret`` or a bearer ``CRON_SECRET``,
constant time; 401 otherwise, 503 when unset, in the API's one error shape); 200 with the run's summary.

The callback's own answers keep the shape issue 12 gives the orchestrator (``{"ok", "status"}`` and
``{"error": "…"}``); the OpenAPI document declares them as they are.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from remit.api.auth import ServiceRoute, require_cron_secret
from remit.api.schemas import COMMON_ERRORS, ErrorBody, error
from remit.provisioning.callback import MalformedCallback, NoJob, announce, apply_update, parse_callback
from remit.provisioning.reconciler import reconcile
from remit.provisioning.trigger import SIGNATURE_HEADER
from remit.runtime import Runtime
from remit.signing import verify_hex_signature

router = APIRouter(tags=["provisioning"])
cron_router = APIRouter(tags=["provisioning"], route_class=ServiceRoute, dependencies=[Depends(require_cron_secret)])


class CallbackAccepted(BaseModel):
    ok: Literal[True]
    status: str


class CallbackRefused(BaseModel):
    """The callback's refusals, in the shape the orchestrator contract gives them."""

    error: str


def _refused(description: str) -> dict[str, Any]:
    return {"model": CallbackRefused, "description": description}


CALLBACK_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": CallbackAccepted, "description": "Applied (or already so): the job's status after it."},
    400: _refused("A malformed body."),
    401: _refused("A bad or missing signature; nothing changed."),
    403: error("The origin guard refused a request that did not come through the trusted proxy."),
    404: _refused("No provisioning job for stripe_session_id (remit never invents one)."),
    500: error("An unexpected failure (`internal_error`)."),
    503: {
        "description": "No callback secret is configured, or the database is unavailable; the orchestrator retries.",
        "content": {
            "application/json": {
                "schema": {
                    "anyOf": [
                        {"$ref": "#/components/schemas/CallbackRefused"},
                        {"$ref": "#/components/schemas/ErrorBody"},
                    ]
                }
            }
        },
    },
}
RECONCILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    **COMMON_ERRORS,
    200: {
        "description": "The reconciler run's summary (counts by outcome).",
        "content": {"application/json": {"schema": {"type": "object"}}},
    },
    401: error("No valid cron secret (`unauthorized`)."),
    403: error("The origin guard refused a request that did not come through the trusted proxy."),
    503: error("CRON_SECRET is not set (`cron_not_configured`), or the database is unavailable."),
}
_ = ErrorBody  # referenced by the 503 above; every route's ErrorBody keeps it in the document

CALLBACK_PATH = "/api/internal/provisioning/callback"
CRON_PATH = "/api/cron/reconcile-provisioning"
#: A callback is a few hundred bytes; anything far larger is not one.
MAX_CALLBACK_BYTES = 65_536


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers={"Cache-Control": "no-store"})


@router.post(CALLBACK_PATH, summary="The provisioning orchestrator's signed write-back", responses=CALLBACK_RESPONSES)
async def provisioning_callback(request: Request) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    secrets = runtime.settings.provisioning_callback_secrets
    if not secrets:
        return _error(503, "provisioning callback secret is not configured")
    body = await request.body()
    if not verify_hex_signature(body, request.headers.get(SIGNATURE_HEADER), secrets):
        return _error(401, "bad or missing signature")
    if len(body) > MAX_CALLBACK_BYTES:
        return _error(400, "the body is too large to be a callback")
    try:
        update = parse_callback(body)
    except MalformedCallback as bad:
        return _error(400, str(bad))
    try:
        async with runtime.db.begin() as conn:
            job, changed = await apply_update(conn, update, runtime.clock.now())
    except NoJob:
        return _error(404, "no provisioning job for stripe_session_id")
    announce(job, changed)
    return JSONResponse({"ok": True, "status": job.status.value})


@cron_router.post(
    CRON_PATH, summary="Run the provisioning reconciler once (for an external scheduler)", responses=RECONCILE_RESPONSES
)
async def reconcile_provisioning(request: Request) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    return JSONResponse(await reconcile(runtime))


__all__ = ["CALLBACK_PATH", "CRON_PATH", "cron_router", "router"]
