"""The ``/admin`` routes: login and logout, the overview, dead letters, queues, jobs, flags and the audit trail
(provisioning in :mod:`remit.admin.provisioning_pages`).

Every page needs a logged-in admin (:mod:`remit.admin.access`); a page asked for without one redirects to the
login form, a form posted without one is refused (403). Every form carries the session's CSRF token and is
refused (403) without it, or when the browser says it comes from another origin. Actions that change what
remit does — a replay, a pause, a flag, the emergency stop, a cancel — first answer with a confirmation page
(for a bulk replay: the dry run, with the count it would replay) and act only when that page's form is sent.
Each action goes through the same audited call the CLI uses, with the admin's identity (``admin:<user>``) as
the actor; logins, refused logins and logouts are audited too.

Nothing here puts customer data in a URL: pages are addressed by row ids and fixed filter values.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.routing import APIRoute
from starlette.responses import RedirectResponse, Response, StreamingResponse

from remit import audit
from remit.admin import passwords
from remit.admin.access import Gate, client_address
from remit.admin.forms import FormRefused, read_form
from remit.admin.overview import read_overview
from remit.admin.render import SCRIPT_HEADERS, SECURITY_HEADERS, page
from remit.admin.sessions import AdminSession, same_token
from remit.control import stop as emergency
from remit.control.switches import switch
from remit.errors import WebhookError
from remit.flags import FLAGS, read_switches
from remit.jobs.progress import Progress
from remit.jobs.progress_stream import STREAM_HEADERS, progress_events
from remit.jobs.states import JobState
from remit.runtime import Runtime
from remit.telemetry import ops
from remit.webhooks.dead_letters import EventFilter, count_by_status, get_event, list_events
from remit.webhooks.events import EventStatus
from remit.webhooks.replay import replay_event, replay_matching

log = logging.getLogger("remit.admin")

PREFIX = "/admin"
CSRF_FIELD = "csrf_token"
STATIC = Path(__file__).parent / "static"
#: The messages a redirect after an action may show, by code (a URL never carries free text).
NOTICES = {
    "replayed": "Replayed {n} webhook event(s): their dispatch jobs are queued.",
    "paused": "Paused queue {name}.",
    "resumed": "Resumed queue {name}.",
    "flag": "Flag {name} is now {value}.",
    "stopped": "Emergency stop in force: {n} queue(s) paused, webhooks held.",
    "started": "Emergency stop ended: {n} queue(s) resumed, {released} held event(s) released.",
    "retried": "Job {id} is available again.",
    "cancelled": "Job {id} cancelled.",
    "not_cancelled": "Job {id} was not cancelled: it is running or already finished.",
    "logged_out": "Logged out.",
    "rearmed": "Provisioning job {id} re-armed: the next reconciler run sends it again.",
    "linked": "Provisioning job {id} hand-linked: provisioned.",
    "link_unchanged": "Provisioning job {id} was already provisioned: nothing changed.",
}
LIST_LIMIT = 100
#: The largest job id looked up (ids are 64-bit; a larger one is a 404 without a query).
MAX_JOB_ID = 2**63 - 1


class Answered(Exception):
    """A request answered before its handler ran (a refused form): :class:`AdminRoute` sends ``response``."""

    def __init__(self, response: Response) -> None:
        super().__init__("answered before the handler")
        self.response = response


class AdminRoute(APIRoute):
    """An admin route: an :class:`Answered` raised by its dependencies (or itself) is its answer."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except Answered as answered:
                return answered.response

        return answer


router = APIRouter(prefix=PREFIX, include_in_schema=False, route_class=AdminRoute)


def gate(request: Request) -> Gate:
    """The app's :class:`Gate`, made on first use (one per app, so its login limiter is per process)."""
    found: Gate | None = getattr(request.app.state, "admin_gate", None)
    if found is None:
        found = Gate(runtime_of(request).settings)
        request.app.state.admin_gate = found
    return found


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


# --- responses ---------------------------------------------------------------------------------------------


def refused(message: str, *, status_code: int = 403) -> Response:
    context = {"message": message, "admin": None, "prefix": PREFIX, "notice": None}
    return page("refused.html", context, status_code=status_code)


def redirect(path: str, **query: Any) -> Response:
    target = f"{PREFIX}{path}"
    if query:
        target += "?" + urlencode({k: v for k, v in query.items() if v is not None})
    return RedirectResponse(target, status_code=303, headers=SECURITY_HEADERS)


def with_session(request: Request, session: AdminSession, response: Response) -> Response:
    """Set the session cookie when this session is not the one the browser sent (a proxy-named user's first
    request, whose fresh CSRF token the cookie must carry)."""
    codec = gate(request).codec
    if codec.loads(request.cookies.get(codec.session_cookie)) != session:
        response.set_cookie(
            codec.session_cookie,
            codec.dumps(session),
            max_age=codec.max_age,
            **codec.cookie_options(),  # type: ignore[arg-type]
        )
    return response


def show(request: Request, session: AdminSession, template: str, context: dict[str, Any], **kw: Any) -> Response:
    notice = request.query_params.get("notice")
    text = None
    if notice in NOTICES:
        values = {k: v for k, v in request.query_params.items() if k != "notice"}
        try:
            text = NOTICES[notice].format(**values)
        except (KeyError, IndexError):
            text = None
    full = {"admin": session, "prefix": PREFIX, "csrf": session.csrf, "notice": text, **context}
    return with_session(request, session, page(template, full, **kw))


def confirm(
    request: Request,
    session: AdminSession,
    *,
    title: str,
    lines: list[str],
    action: str,
    fields: Mapping[str, Any],
    button: str,
    back: str,
) -> Response:
    """The confirmation page of a destructive action: what it would do, and the form that does it."""
    hidden = {**{k: "" if v is None else str(v) for k, v in fields.items()}, "confirm": "yes"}
    context = {"title": title, "lines": lines, "action": action, "fields": hidden, "button": button, "back": back}
    return show(request, session, "confirm.html", context)


# --- guards --------------------------------------------------------------------------------------------------


def not_enabled() -> Response:
    return page("disabled.html", {"admin": None, "prefix": PREFIX}, status_code=503)  # says which variable turns it on


def viewer(request: Request) -> AdminSession | Response:
    """The admin for a page view, or where to go instead (the login form, or the page saying it is off)."""
    settings = runtime_of(request).settings
    if not settings.admin_enabled:
        return not_enabled()
    session = gate(request).session(request)
    if session is not None:
        return session
    if settings.admin_proxy_user_header:
        return refused("The proxy in front of remit did not name a user.", status_code=401)
    return redirect("/login")


def same_origin(request: Request) -> bool:
    """Whether the browser's ``Origin`` (when it sends one) is this site: a second check beside the token."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    host = request.headers.get("host", "")
    return urlsplit(origin).netloc == host


async def actor_form(request: Request) -> tuple[AdminSession, dict[str, str]] | Response:
    """The admin and the form of a POST, or the refusal: not logged in, another origin, no or a wrong token."""
    settings = runtime_of(request).settings
    if not settings.admin_enabled:
        return not_enabled()
    session = gate(request).session(request)
    if session is None:
        return refused("Log in first: this action needs an admin session.")
    if not same_origin(request):
        return refused("This form was sent from another site.")
    try:
        form = await read_form(request)
    except FormRefused as exc:
        return refused(f"The form was refused: {exc}.", status_code=400)
    if not same_token(form.get(CSRF_FIELD), session.csrf):
        return refused("The form's CSRF token is missing or wrong: reload the page and try again.")
    return session, form


def confirmed(form: Mapping[str, str]) -> bool:
    return form.get("confirm") == "yes"


@dataclass(frozen=True)
class Action:
    """An admin form that passed :func:`actor_form`'s checks: who sent it, what it says, and its confirm step.

    A destructive handler answers ``action.confirm(...)`` until ``action.confirmed``, then acts as
    ``action.actor``; the confirmation page's form posts back to the URL the action was sent to."""

    request: Request
    session: AdminSession
    form: dict[str, str]

    @property
    def actor(self) -> str:
        return self.session.actor

    @property
    def confirmed(self) -> bool:
        return confirmed(self.form)

    def confirm(
        self, *, title: str, lines: list[str], button: str, back: str, fields: Mapping[str, Any] | None = None
    ) -> Response:
        """The confirmation page: ``lines`` say what would happen; its button sends ``fields`` and confirm=yes."""
        return confirm(
            self.request,
            self.session,
            title=title,
            lines=lines,
            action=self.request.url.path,
            fields=fields or {},
            button=button,
            back=back,
        )


async def posted_action(request: Request) -> Action:
    """The dependency of every admin action: the checked form, or :class:`Answered` with the refusal."""
    checked = await actor_form(request)
    if isinstance(checked, Response):
        raise Answered(checked)
    session, form = checked
    return Action(request, session, form)


def viewing(request: Request) -> AdminSession:
    """The dependency of every admin page: the admin viewing it, or :class:`Answered` with :func:`viewer`'s
    answer (the login form, or the page saying the admin page is off)."""
    session = viewer(request)
    if isinstance(session, Response):
        raise Answered(session)
    return session


#: An admin page's parameter: ``async def queues(request: Request, session: Viewing)``.
Viewing = Annotated[AdminSession, Depends(viewing)]
#: An admin action's parameter: ``async def pause(action: Posted, name: str)``.
Posted = Annotated[Action, Depends(posted_action)]


# --- login ---------------------------------------------------------------------------------------------------


@router.get("/login")
async def login_form(request: Request) -> Response:
    settings = runtime_of(request).settings
    if not settings.admin_enabled:
        return not_enabled()
    if not settings.admin_password_hash:
        return redirect("")  # the proxy logs people in
    return login_page(request)


def login_page(request: Request, *, error: str | None = None, status_code: int = 200) -> Response:
    codec = gate(request).codec
    token, cookie = codec.login_token()
    context = {"admin": None, "prefix": PREFIX, "csrf": token, "error": error, "notice": None}
    if request.query_params.get("notice") == "logged_out":
        context["notice"] = NOTICES["logged_out"]
    response = page("login.html", context, status_code=status_code)
    response.set_cookie(codec.login_cookie, cookie, max_age=30 * 60, **codec.cookie_options())  # type: ignore[arg-type]
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    runtime = runtime_of(request)
    settings = runtime.settings
    if not settings.admin_password_hash:
        return not_enabled() if not settings.admin_enabled else refused("Log in through your proxy.")
    the_gate = gate(request)
    if not same_origin(request):
        return refused("This form was sent from another site.")
    try:
        form = await read_form(request)
    except FormRefused as exc:
        return refused(f"The form was refused: {exc}.", status_code=400)
    if not the_gate.codec.login_token_matches(request.cookies.get(the_gate.codec.login_cookie), form.get(CSRF_FIELD)):
        return login_page(
            request, error="The login form expired or was not sent from this page: try again.", status_code=403
        )
    client = client_address(request)
    if not the_gate.limiter.allowed(client):
        await _audit(runtime, "admin-login", "admin.login_refused", {"reason": "rate_limited"})
        response = login_page(request, error="Too many failed attempts: wait and try again.", status_code=429)
        response.headers["Retry-After"] = str(the_gate.limiter.retry_after(client))
        return response
    user, password = form.get("user", ""), form.get("password", "")
    good = await asyncio.to_thread(passwords.verify, settings.admin_password_hash, password)
    if not (good and same_token(user, settings.admin_user)):
        the_gate.limiter.failed(client)
        await _audit(runtime, "admin-login", "admin.login_refused", {"reason": "bad_credentials"})
        return login_page(request, error="Wrong user or password.", status_code=401)
    session = AdminSession.new(settings.admin_user)
    await _audit(runtime, session.actor, "admin.login", {})
    response = redirect("")
    codec = the_gate.codec
    response.set_cookie(codec.session_cookie, codec.dumps(session), max_age=codec.max_age, **codec.cookie_options())  # type: ignore[arg-type]
    response.delete_cookie(codec.login_cookie, **codec.cookie_options())  # type: ignore[arg-type]
    return response


@router.post("/logout")
async def logout(request: Request, action: Posted) -> Response:
    await _audit(runtime_of(request), action.actor, "admin.logout", {})
    codec = gate(request).codec
    response = redirect("/login", notice="logged_out")
    response.delete_cookie(codec.session_cookie, **codec.cookie_options())  # type: ignore[arg-type]
    return response


async def _audit(runtime: Runtime, actor: str, action: str, details: dict[str, Any]) -> None:
    async with runtime.db.begin() as conn:
        await audit.record(conn, at=runtime.clock.now(), actor=actor, action=action, subject="admin", details=details)


# --- pages ---------------------------------------------------------------------------------------------------


@router.get("")
async def overview(request: Request, session: Viewing) -> Response:
    runtime = runtime_of(request)
    data = await read_overview(runtime)
    context = {"o": data, "now": runtime.clock.now(), "catalog": ops.CATALOG}
    return show(request, session, "overview.html", context)


@router.get("/static/admin.css")
async def stylesheet() -> Response:
    css = (STATIC / "admin.css").read_text(encoding="utf-8")
    return Response(css, media_type="text/css", headers={"Cache-Control": "max-age=3600"})


@router.get("/static/progress.js")
async def progress_script() -> Response:
    script = (STATIC / "progress.js").read_text(encoding="utf-8")
    return Response(script, media_type="text/javascript", headers={"Cache-Control": "max-age=3600"})


@router.get("/dead-letters")
async def dead_letters(request: Request, session: Viewing) -> Response:
    runtime = runtime_of(request)
    pattern = (request.query_params.get("type") or "").strip()[:200] or None
    event_filter = EventFilter(statuses=(EventStatus.DEAD,), type_pattern=pattern)
    async with runtime.db.connect() as conn:
        events = await list_events(conn, event_filter, limit=LIST_LIMIT)
        total = (await count_by_status(conn, (EventStatus.DEAD,))).get("dead", 0)
    context = {"events": events, "type": pattern or "", "total": total, "now": runtime.clock.now()}
    return show(request, session, "dead_letters.html", context)


@router.post("/dead-letters/replay")
async def replay_bulk(request: Request, action: Posted) -> Response:
    runtime = runtime_of(request)
    pattern = action.form.get("type", "").strip()[:200] or None
    event_filter = EventFilter(statuses=(EventStatus.DEAD,), type_pattern=pattern)
    dry = await replay_matching(runtime, event_filter, actor=action.actor, dry_run=True)
    expected = action.form.get("expected")
    if not action.confirmed or expected != str(dry.matched):
        if dry.matched == 0:
            return redirect("/dead-letters", notice="replayed", n=0)
        lines = [f"{dry.matched} dead event(s) match" + (f" type {pattern}" if pattern else "") + "."]
        lines += [f"{event_type}: {n}" for event_type, n in sorted(dry.by_type.items())]
        if action.confirmed:
            lines.insert(0, f"The count changed since the dry run (it was {expected}): check it again.")
        return action.confirm(
            title="Replay dead letters (dry run)",
            lines=lines,
            fields={"type": pattern, "expected": dry.matched},
            button=f"Replay {dry.matched} event(s)",
            back="/dead-letters",
        )
    result = await replay_matching(runtime, event_filter, actor=action.actor, limit=dry.matched)
    return redirect("/dead-letters", notice="replayed", n=result.replayed)


@router.post("/dead-letters/{event_row_id}/replay")
async def replay_one(request: Request, action: Posted, event_row_id: int) -> Response:
    runtime = runtime_of(request)
    if not action.confirmed:
        async with runtime.db.connect() as conn:
            event = await get_event(conn, event_row_id)
        if event is None:
            return refused(f"No webhook event {event_row_id}.", status_code=404)
        return action.confirm(
            title=f"Replay webhook event {event_row_id} (dry run)",
            lines=[f"1 event would be replayed: {event.type} ({event.event_id}), now {event.status}."],
            button="Replay 1 event",
            back="/dead-letters",
        )
    try:
        result = await replay_event(runtime, event_row_id, actor=action.actor)
    except WebhookError as exc:
        return refused(str(exc), status_code=exc.status_code)
    return redirect("/dead-letters", notice="replayed", n=result.replayed)


@router.get("/queues")
async def queues(request: Request, session: Viewing) -> Response:
    stats = await runtime_of(request).engine.queue_stats()
    return show(request, session, "queues.html", {"queues": stats})


async def _known_queue(runtime: Runtime, name: str) -> str | None:
    return name if name in await runtime.engine.known_queues() else None


@router.post("/queues/{name}/pause")
async def pause_queue(request: Request, action: Posted, name: str) -> Response:
    runtime = runtime_of(request)
    if await _known_queue(runtime, name) is None:
        return refused(f"No queue {name}.", status_code=404)
    if not action.confirmed:
        return action.confirm(
            title=f"Pause queue {name}",
            lines=[f"Workers stop claiming jobs of {name} until it is resumed; jobs keep being queued."],
            button=f"Pause {name}",
            back="/queues",
        )
    await runtime.engine.pause(name, actor=action.actor)
    return redirect("/queues", notice="paused", name=name)


@router.post("/queues/{name}/resume")
async def resume_queue(request: Request, action: Posted, name: str) -> Response:
    runtime = runtime_of(request)
    if await _known_queue(runtime, name) is None:
        return refused(f"No queue {name}.", status_code=404)
    await emergency.start_queue(runtime, name, actor=action.actor)
    return redirect("/queues", notice="resumed", name=name)


@router.get("/jobs")
async def jobs(request: Request, session: Viewing) -> Response:
    runtime = runtime_of(request)
    queue = request.query_params.get("queue") or None
    state = request.query_params.get("state") or None
    if state is not None and state not in {s.value for s in JobState}:
        return refused(f"No job state {state}.", status_code=400)
    found = await runtime.engine.list_jobs(queue=queue, state=state, limit=LIST_LIMIT)
    known = await runtime.engine.known_queues()
    context = {
        "jobs": found,
        "queue": queue or "",
        "state": state or "",
        "queues": known,
        "states": [s.value for s in JobState],
        "now": runtime.clock.now(),
    }
    return show(request, session, "jobs.html", context)


async def _job_snapshot(runtime: Runtime, job_id: int) -> Progress | None:
    job = await runtime.engine.get(job_id) if 0 < job_id <= MAX_JOB_ID else None
    return None if job is None else Progress.of(job)


@router.get("/jobs/{job_id}")
async def job_page(request: Request, session: Viewing, job_id: int) -> Response:
    """One job, with a progress bar that follows it live (``progress.js`` reading the stream below)."""
    snapshot = await _job_snapshot(runtime_of(request), job_id)
    if snapshot is None:
        return refused(f"No job {job_id}.", status_code=404)
    return show(request, session, "job.html", {"job": snapshot.to_json()}, headers=SCRIPT_HEADERS)


@router.get("/jobs/{job_id}/progress")
async def job_progress_stream(request: Request, job_id: int) -> Response:
    """The job's progress as server-sent events (the API's stream, behind the admin session instead of a token).

    Without a session it is refused (401), not redirected: an event stream cannot follow a login form.
    """
    settings = runtime_of(request).settings
    if not settings.admin_enabled:
        return not_enabled()
    if gate(request).session(request) is None:
        return refused("Log in to follow a job.", status_code=401)
    runtime = runtime_of(request)
    if await _job_snapshot(runtime, job_id) is None:
        return refused(f"No job {job_id}.", status_code=404)
    return StreamingResponse(
        progress_events(runtime.engine, job_id), media_type="text/event-stream", headers=STREAM_HEADERS
    )


@router.post("/jobs/{job_id}/retry")
async def retry_job(request: Request, action: Posted, job_id: int) -> Response:
    changed = await runtime_of(request).engine.retry([job_id], actor=action.actor)
    if not changed:
        return refused(f"Job {job_id} cannot be retried (it is running, waiting or completed).", status_code=409)
    return redirect("/jobs", notice="retried", id=job_id)


@router.post("/jobs/{job_id}/cancel")
async def cancel_job(request: Request, action: Posted, job_id: int) -> Response:
    runtime = runtime_of(request)
    if not action.confirmed:
        job = await runtime.engine.get(job_id)
        if job is None:
            return refused(f"No job {job_id}.", status_code=404)
        return action.confirm(
            title=f"Cancel job {job_id}",
            lines=[f"{job.name} on {job.queue}, now {job.state}: it will not run again unless retried."],
            button=f"Cancel job {job_id}",
            back="/jobs",
        )
    done = await runtime.engine.cancel(job_id, actor=action.actor, reason="cancelled on the admin page")
    return redirect("/jobs", notice="cancelled" if done else "not_cancelled", id=job_id)


@router.get("/flags")
async def flags(request: Request, session: Viewing) -> Response:
    runtime = runtime_of(request)
    async with runtime.db.connect() as conn:
        switches = await read_switches(conn, runtime.settings)
    specs = {name: spec for name, spec in FLAGS.items()}
    return show(request, session, "flags.html", {"switches": switches, "specs": specs})


@router.post("/flags/{name}")
async def set_flag(request: Request, action: Posted, name: str) -> Response:
    if name not in FLAGS:
        return refused(f"No flag {name}.", status_code=404)
    value = action.form.get("value")
    if value not in ("on", "off"):
        return refused("A flag is set on or off.", status_code=400)
    if not action.confirmed:
        return action.confirm(
            title=f"Switch {name} {value}",
            lines=[f"On: {FLAGS[name].meaning}.", "Every remit process follows within REMIT_FLAGS_REFRESH_SECONDS."],
            fields={"value": value},
            button=f"Switch {name} {value}",
            back="/flags",
        )
    await switch(runtime_of(request), name, value == "on", actor=action.actor)
    return redirect("/flags", notice="flag", name=name, value=value)


@router.post("/stop")
async def stop(request: Request, action: Posted) -> Response:
    which = action.form.get("action")
    if which not in ("stop", "start"):
        return refused("The emergency stop is started or stopped.", status_code=400)
    if not action.confirmed:
        lines = (
            ["Every queue is paused and every webhook held (still stored: nothing is lost)."]
            if which == "stop"
            else ["The queues the stop paused resume, and the webhooks held meanwhile are released."]
        )
        return action.confirm(
            title="Emergency stop" if which == "stop" else "End the emergency stop",
            lines=lines,
            fields={"action": which},
            button="Stop everything" if which == "stop" else "Start again",
            back="/flags",
        )
    runtime = runtime_of(request)
    if which == "stop":
        result = await emergency.stop_all(runtime, actor=action.actor)
        return redirect("/flags", notice="stopped", n=len(result.queues))
    result = await emergency.start_all(runtime, actor=action.actor)
    return redirect("/flags", notice="started", n=len(result.queues), released=result.released)


@router.get("/audit")
async def audit_trail(request: Request, session: Viewing) -> Response:
    runtime = runtime_of(request)
    async with runtime.db.connect() as conn:
        entries = await audit.recent(conn, limit=LIST_LIMIT)
    return show(request, session, "audit.html", {"entries": entries, "now": runtime.clock.now()})


__all__ = [
    "CSRF_FIELD",
    "PREFIX",
    "Action",
    "AdminRoute",
    "Answered",
    "Posted",
    "Viewing",
    "actor_form",
    "confirm",
    "confirmed",
    "redirect",
    "refused",
    "router",
    "runtime_of",
    "show",
    "viewer",
]
