"""``POST /api/cron/{name}``: an external scheduler fires a periodic task or cron entry, behind ``CRON_SECRET``.

For deployments whose scheduling lives outside remit (a Kubernetes CronJob, a platform's cron calling a URL):
the call enqueues the item's job for its latest due tick, claiming the tick as remit's own leader does, so
the leader and any number of external callers enqueue each tick once. Nothing runs in the request: the answer
names the job, and ``remit jobs follow ID`` (or ``GET /api/v1/jobs/{id}/progress``) follows it.

- 202 ``{"name", "tick", "enqueued": true, "job_id"}`` — enqueued;
- 200 with ``"enqueued": false`` — nothing due now, or that tick was already taken (``tick`` says which);
- 401 without the secret (``X-Cron-Secret``, or ``Authorization: Bearer``), 503 when ``CRON_SECRET`` is unset,
  404 for a name no part or host module declares.

Routes of a part for one task (``POST /api/cron/reconcile-provisioning``, which runs the reconciler inline and
answers its summary) are matched before this one and take the same guard.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from remit.api.auth import ApiError, ServiceRoute, require_cron_secret
from remit.api.schemas import TRIGGER_RESPONSES, Triggered
from remit.errors import JobError
from remit.runtime import Runtime

PREFIX = "/api/cron"

router = APIRouter(prefix=PREFIX, tags=["cron"], route_class=ServiceRoute, dependencies=[Depends(require_cron_secret)])

#: The longest name a periodic task or cron entry may be looked up by (a longer one is declared nowhere).
MAX_NAME_LENGTH = 200


@router.post("/{name}", response_model=Triggered, status_code=202, responses=TRIGGER_RESPONSES)
async def trigger(request: Request, name: str) -> JSONResponse:
    """Enqueue the periodic task or cron entry ``name`` for its due tick, once per tick across processes."""
    runtime: Runtime = request.app.state.runtime
    known = {item.name for item in runtime.engine.scheduled}
    if len(name) > MAX_NAME_LENGTH or name not in known:
        raise ApiError(404, "resource_missing", "no periodic task or cron entry has this name", param="name")
    try:
        result = await runtime.engine.trigger(name)
    except JobError:  # declared meanwhile nowhere: the set above came from the same engine
        raise ApiError(404, "resource_missing", "no periodic task or cron entry has this name", param="name") from None
    return JSONResponse(result.to_json(), status_code=202 if result.job_id is not None else 200)


__all__ = ["PREFIX", "router"]
