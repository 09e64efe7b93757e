"""``/admin/provisioning``: the hand-offs from paid checkouts to provisioned tenants, with re-arm and hand-link.

The list is ``remit provisioning list`` (``?stuck=1``: exactly the rows ``remit_provisioning_stuck`` counts,
through the same query). Re-arm and hand-link call the same audited functions as ``remit provisioning rearm``
and ``remit provisioning link`` (:mod:`remit.provisioning.operator`), with the admin as the actor: each first
answers with its dry run (what the job is now and what would change), and a refusal (a provisioned job, no
payload to replay, the trigger not configured) is shown with the function's own reason. Pages are addressed by
the job's row id; a checkout session id is shown, never put in a URL.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from remit.admin.pages import PREFIX, AdminRoute, Posted, Viewing, redirect, refused, runtime_of, show
from remit.provisioning import jobs_table
from remit.provisioning.jobs_table import ProvisioningJob
from remit.provisioning.operator import Refused, link, rearm
from remit.provisioning.states import ProvisioningStatus
from remit.runtime import Runtime

router = APIRouter(prefix=PREFIX, include_in_schema=False, route_class=AdminRoute)

LIST_LIMIT = 200
#: The longest deployment or cell id a hand-link takes (the columns' width).
MAX_ID = 255
MAX_QUOTA = 10**15


class BadLink(ValueError):
    """A hand-link form field that cannot be used; the message names it."""


def link_fields(form: dict[str, str]) -> tuple[str, str | None, int]:
    """``(deployment, cell or None, quota)`` from a hand-link form, or :class:`BadLink` naming the field (pure)."""
    deployment = form.get("deployment", "").strip()
    cell = form.get("cell", "").strip() or None
    raw_quota = form.get("quota", "").strip() or "0"
    if not deployment:
        raise BadLink("deployment is required")
    if len(deployment) > MAX_ID or (cell is not None and len(cell) > MAX_ID):
        raise BadLink(f"deployment and cell are at most {MAX_ID} characters")
    if not raw_quota.isdigit() or int(raw_quota) > MAX_QUOTA:
        raise BadLink("quota is a whole number of tokens, 0 or more (0 keeps the account's)")
    return deployment, cell, int(raw_quota)


async def _job(runtime: Runtime, job_id: int) -> ProvisioningJob | None:
    async with runtime.db.read() as conn:
        return await jobs_table.get_job(conn, job_id)


def trigger_configured(runtime: Runtime) -> bool:
    settings = runtime.settings
    return bool(settings.provisioning_trigger_url and settings.provisioning_trigger_secret)


@router.get("/provisioning")
async def provisioning(request: Request, session: Viewing) -> Response:
    runtime = runtime_of(request)
    settings = runtime.settings
    stuck_only = request.query_params.get("stuck") == "1"
    status = request.query_params.get("status") or None
    if status is not None and status not in {s.value for s in ProvisioningStatus}:
        return refused(f"No provisioning status {status}.", status_code=400)
    now = runtime.clock.now()
    stuck = (now, settings.provisioning_stuck_seconds, settings.provisioning_max_attempts)
    async with runtime.db.read() as conn:
        found = await jobs_table.list_jobs(
            conn,
            statuses=[ProvisioningStatus(status)] if status else None,
            stuck=stuck if stuck_only else None,
            limit=LIST_LIMIT,
        )
        stuck_count = await jobs_table.count_stuck(
            conn,
            now,
            stuck_seconds=settings.provisioning_stuck_seconds,
            max_attempts=settings.provisioning_max_attempts,
        )
    context = {
        "jobs": found,
        "stuck_only": stuck_only,
        "status": status or "",
        "statuses": [s.value for s in ProvisioningStatus],
        "stuck_count": stuck_count,
        "trigger_configured": trigger_configured(runtime),
        "max_attempts": settings.provisioning_max_attempts,
        "now": now,
    }
    return show(request, session, "provisioning.html", context)


@router.post("/provisioning/{job_id}/rearm")
async def rearm_job(request: Request, action: Posted, job_id: int) -> Response:
    runtime = runtime_of(request)
    force = action.form.get("force") == "yes"
    try:
        dry = await rearm(runtime, job_id, actor=action.actor, force=force, dry_run=True)
        if not action.confirmed:
            job = dry.job
            lines = [
                f"Job {job.id} ({job.stripe_session_id}) is {job.status.value} after {job.attempts} attempt(s)"
                + (f", last error {job.last_error}." if job.last_error else "."),
                "Re-arming puts it back to enqueued with 0 attempts and its payload kept; the next reconciler run "
                "(every few minutes, or remit provisioning reconcile) sends it to the orchestrator again.",
            ]
            if force:
                lines.append("Forced: the trigger is not configured, so the attempts may be spent again.")
            return action.confirm(
                title=f"Re-arm provisioning job {job_id}",
                lines=lines,
                fields={"force": "yes" if force else ""},
                button=f"Re-arm job {job_id}",
                back="/provisioning",
            )
        await rearm(runtime, job_id, actor=action.actor, force=force)
    except Refused as exc:
        return refused(f"Not re-armed: {exc}.", status_code=409)
    return redirect("/provisioning", notice="rearmed", id=job_id)


@router.get("/provisioning/{job_id}/link")
async def link_form(request: Request, session: Viewing, job_id: int) -> Response:
    job = await _job(runtime_of(request), job_id)
    if job is None:
        return refused(f"No provisioning job {job_id}.", status_code=404)
    return show(request, session, "provisioning_link.html", {"job": job})


@router.post("/provisioning/{job_id}/link")
async def link_job(request: Request, action: Posted, job_id: int) -> Response:
    runtime = runtime_of(request)
    job = await _job(runtime, job_id)
    if job is None:
        return refused(f"No provisioning job {job_id}.", status_code=404)
    try:
        deployment, cell, quota = link_fields(action.form)
    except BadLink as exc:
        return refused(f"Not linked: {exc}.", status_code=400)
    try:
        if not action.confirmed:
            await link(
                runtime,
                job.stripe_session_id,
                deployment_id=deployment,
                cell_id=cell,
                tokens_quota=quota,
                actor=action.actor,
                dry_run=True,
            )
            lines = [
                f"Job {job.id} ({job.stripe_session_id}) is {job.status.value}; account {job.account_id or '(none)'}.",
                f"It becomes provisioned on deployment {deployment}"
                + (f", cell {cell}" if cell else "")
                + (f", with a quota of {quota} tokens" if quota else ", the account's quota kept")
                + ": the same update as the orchestrator's callback (a provisioned job is left as it is).",
            ]
            return action.confirm(
                title=f"Hand-link provisioning job {job_id}",
                lines=lines,
                fields={"deployment": deployment, "cell": cell, "quota": quota},
                button=f"Link job {job_id}",
                back="/provisioning",
            )
        outcome = await link(
            runtime,
            job.stripe_session_id,
            deployment_id=deployment,
            cell_id=cell,
            tokens_quota=quota,
            actor=action.actor,
        )
    except Refused as exc:
        return refused(f"Not linked: {exc}.", status_code=409)
    return redirect("/provisioning", notice="linked" if outcome.changed else "link_unchanged", id=job_id)


__all__ = ["BadLink", "link_fields", "router"]
