"""The orchestrator's write-back and the reconciler's cron trigger.

``POST /api/internal/provisioning/callback``: the body is verified first — the hex HMAC-SHA256 of the raw
bytes in ``X-Provisioning-Signature`` under ``PROVISIONING_CALLBACK_SECRET`` (else the trigger secret),
compared in constant time — and nothing is read or written before it matches. Answers: 200
``{"ok": true, "status": …}`` (the job's status after the update: a replay, or a ``failed`` after
``provisioned``, answers the unchanged status); 401 bad or missing signature; 400 malformed body; 404
``{"error": "no provisioning job for stripe_session_id"}`` (remit never invents a job); 503 when no secret is
configured (the orchestrator retries). A database outage is a 503 from the error middleware.

``POST /api/cron/reconcile-provisioning``: one reconciler run for an external scheduler, guarded by
``x-cron-secret`` (``CRON_SECRET``, constant time); 401 otherwise, 503 when unset; 200 with the run's summary.
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from remit.provisioning.callback import MalformedCallback, NoJob, announce, apply_update, parse_callback
from remit.provisioning.reconciler import reconcile
from remit.provisioning.trigger import SIGNATURE_HEADER
from remit.runtime import Runtime
from remit.signing import verify_hex_signature

router = APIRouter(tags=["provisioning"])

CALLBACK_PATH = "/api/internal/provisioning/callback"
CRON_PATH = "/api/cron/reconcile-provisioning"
#: A callback is a few hundred bytes; anything far larger is not one.
MAX_CALLBACK_BYTES = 65_536


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers={"Cache-Control": "no-store"})


@router.post(CALLBACK_PATH, summary="The provisioning orchestrator's signed write-back")
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


@router.post(CRON_PATH, summary="Run the provisioning reconciler once (for an external scheduler)")
async def reconcile_provisioning(request: Request) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    secret = runtime.settings.cron_secret
    if not secret:
        return _error(503, "CRON_SECRET is not configured")
    given = request.headers.get("x-cron-secret", "")
    if not hmac.compare_digest(secret.encode("utf-8"), given.encode("utf-8", "backslashreplace")):
        return _error(401, "bad or missing x-cron-secret")
    return JSONResponse(await reconcile(runtime))


__all__ = ["CALLBACK_PATH", "CRON_PATH", "router"]
