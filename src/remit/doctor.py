"""``remit doctor``: the runbook's diagnosis, in the runbook's order, as data.

Each step answers one question an operator asks when something is stuck, and the order matters: a bad
configuration explains a database that cannot be reached, an unmigrated schema explains failing queries, a
deep queue with no live worker explains late webhooks. A step whose premise failed is reported as skipped
rather than as a second, misleading failure. Configuration is reported as set/unset per variable, never with
a value. The process is healthy (exit 0) only when no step failed; warnings (a paused queue, an old job) are
shown but do not fail it.

The database is named as it resolved (a SQLite file by its absolute path, a server URL with its password
hidden), and a SQLite file that does not exist is reported rather than created: the default ``./remit.db`` is
relative to the working directory. Discarded jobs are counted only while their work was not done again (a
replayed dead letter's fresh dispatch redoes it), so a fixed and replayed dead letter stops showing here.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from remit.cli.hints import command
from remit.config import Settings, field_env_names, load_settings
from remit.db import migrate
from remit.db.location import describe, missing_sqlite_file
from remit.errors import ConfigurationError, DatabaseUnavailable
from remit.processor.credentials import read_expiry
from remit.runtime import Runtime

log = logging.getLogger("remit.doctor")

#: Each step that talks to something may take this long before it is reported as failed.
STEP_TIMEOUT_S = 5.0
#: A queue whose oldest due job waited longer than this is reported as a warning.
STALE_QUEUE_AGE_S = 300.0


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class Check:
    """One diagnosis step: its name, outcome, a one-line human detail and structured data for ``--json``."""

    name: str
    status: Status
    detail: str
    data: dict[str, Any] = field(default_factory=dict)

    def as_row(self) -> dict[str, Any]:
        return {"check": self.name, "status": self.status.value, "detail": self.detail, "data": self.data}


def is_healthy(checks: list[Check]) -> bool:
    return all(check.status is not Status.FAIL for check in checks)


# --- configuration (pure) -----------------------------------------------------------------------------------


def required_variables(settings: Settings | None, env: Mapping[str, str]) -> list[str]:
    """The variables the chosen mode cannot run without."""
    processor = settings.processor if settings else env.get("REMIT_PROCESSOR", "fake")
    environment = settings.environment if settings else env.get("REMIT_ENV", "development")
    required = []
    if processor == "stripe":
        required += ["STRIPE_API_KEY", "STRIPE_WEBHOOK_SECRET"]
    if environment == "production":
        required += ["REMIT_PROCESSOR", "REMIT_SERVICE_TOKENS"]  # the fake processor is refused in production
    return required


def configuration_check(env: Mapping[str, str]) -> tuple[Check, Settings | None]:
    """Which variables are set (never their values), what the mode requires, and every problem."""
    names = sorted(set(field_env_names().values()))
    try:
        settings: Settings | None = load_settings(env)
        problems: list[str] = []
    except ConfigurationError as exc:
        settings, problems = None, list(exc.problems)
    required = required_variables(settings, env)
    variables = {name: ("set" if env.get(name) else "unset") for name in names}
    missing = [name for name in required if variables[name] == "unset"]
    set_names = [name for name in names if variables[name] == "set"]
    mode = settings.processor if settings else "unknown"
    data: dict[str, Any] = {
        "processor": mode,
        "variables": variables,
        "required": required,
        "missing": missing,
        "problems": problems,
    }
    if problems:
        return Check("configuration", Status.FAIL, "; ".join(problems), data), None
    detail = (
        f"processor {mode}; {len(set_names)} variable(s) set"
        f"{': ' + ', '.join(set_names) if set_names else ''}; others at their defaults"
    )
    return Check("configuration", Status.OK, detail, data), settings


# --- steps that talk to the database and the processor ------------------------------------------------------


async def _bounded(step: Callable[[], Awaitable[Check]], name: str) -> Check:
    try:
        return await asyncio.wait_for(step(), timeout=STEP_TIMEOUT_S)
    except TimeoutError:
        return Check(name, Status.FAIL, f"no answer within {STEP_TIMEOUT_S:g}s")
    except Exception as exc:  # a diagnosis reports what broke instead of crashing on it
        log.warning("doctor step failed", extra={"step": name, "error_type": type(exc).__name__}, exc_info=exc)
        return Check(name, Status.FAIL, f"{type(exc).__name__} (details in the log)")


async def database_check(runtime: Runtime) -> Check:
    """Whether the database answers, naming it (a SQLite path is resolved against the working directory, so
    the operator sees which file this is); a SQLite file that does not exist is reported, never created."""
    where = describe(runtime.db.url)
    data = {"dialect": runtime.db.dialect, "database": where}
    missing = missing_sqlite_file(runtime.db.url)
    if missing is not None:
        detail = f"no database file at {missing} (DATABASE_URL's default ./remit.db is relative to this directory)"
        return Check("database", Status.FAIL, detail, data)
    try:
        await runtime.db.ping()
    except DatabaseUnavailable as exc:
        cause = type(exc.__cause__ or exc).__name__
        return Check("database", Status.FAIL, f"{where} unreachable ({cause})", data)
    return Check("database", Status.OK, f"{where} reachable", data)


async def migrations_check(runtime: Runtime) -> Check:
    engine = runtime.db.sync_engine
    current = await asyncio.to_thread(migrate.current_revision, engine)
    head = migrate.head_revision()
    data = {"current": current, "head": head}
    if current == head:
        return Check("migrations", Status.OK, f"at head ({head})", data)
    return Check("migrations", Status.FAIL, f"at {current or 'base'}, head is {head}: run `{command('migrate')}`", data)


async def queues_check(runtime: Runtime) -> Check:
    stats = await runtime.engine.queue_stats()
    not_redone = await runtime.engine.discarded_not_redone()
    rows: list[dict[str, Any]] = [
        {
            "name": s.name,
            "available": s.available,
            "scheduled": s.scheduled,
            "executing": s.executing,
            "retryable": s.retryable,
            "discarded": not_redone.get(s.name, 0),
            "oldest_available_age_s": s.oldest_available_age_s,
            "paused": s.paused,
        }
        for s in stats
    ]
    paused = [row["name"] for row in rows if row["paused"]]
    stale = [row["name"] for row in rows if row["oldest_available_age_s"] > STALE_QUEUE_AGE_S]
    waiting = sum(row["available"] + row["scheduled"] + row["retryable"] for row in rows)
    executing = sum(row["executing"] for row in rows)
    discarded = sum(row["discarded"] for row in rows)
    detail = f"{len(rows)} queue(s); {waiting} waiting, {executing} executing, {discarded} discarded"
    notes = []
    if paused:
        notes.append("paused: " + ", ".join(paused))
    if stale:
        notes.append(f"oldest due job older than {STALE_QUEUE_AGE_S:g}s in: " + ", ".join(stale))
    status = Status.WARN if notes else Status.OK
    return Check("queues", status, "; ".join([detail, *notes]), {"queues": rows})


async def workers_check(runtime: Runtime) -> Check:
    lease = runtime.settings.job_lease_seconds
    alive = await runtime.engine.live_workers()
    data = {
        "workers": [{"id": w.id, "queues": list(w.queues), "heartbeat_at": w.heartbeat_at.isoformat()} for w in alive]
    }
    if not alive:
        return Check(
            "workers",
            Status.FAIL,
            f"no worker heartbeated in the last {lease:g}s: start `{command('up')}` or `{command('worker')}`",
            data,
        )
    return Check("workers", Status.OK, f"{len(alive)} alive", data)


async def processor_check(runtime: Runtime) -> Check:
    settings = runtime.settings
    if settings.is_production and settings.processor != "stripe":
        # remit refuses to start this way; a runtime built around load_settings must not be called healthy
        return Check(
            "processor",
            Status.FAIL,
            f"the {settings.processor} processor in production: set REMIT_PROCESSOR=stripe",
            {"processor": settings.processor},
        )
    processor = runtime.processor
    await processor.ping()
    return Check("processor", Status.OK, f"{processor.name} reachable", {"processor": processor.name})


async def credentials_check(runtime: Runtime) -> Check:
    """Whether a job found the processor's credentials expired (401/403): then its queues are paused and the
    key must be rotated before ``remit queues resume`` (docs/jobs.md, "Processor faults")."""
    processor = runtime.processor.name
    expiry = await read_expiry(runtime.db, processor)
    if expiry is None:
        return Check("processor_credentials", Status.OK, f"{processor} credentials not marked expired")
    detail = (
        f"{processor} refused remit's key (HTTP {expiry.status_code}) at {expiry.expired_at.isoformat()} in a job on "
        f"{expiry.queue}; paused: {', '.join(expiry.queues)}. Rotate STRIPE_API_KEY, restart the workers, then "
        f"`{command('queues resume', expiry.queue)}`"
    )
    return Check("processor_credentials", Status.FAIL, detail, expiry.to_json())


async def pdf_engine_problem(runtime: Runtime) -> str | None:
    """Why invoice PDFs cannot be made here, or None. Local work that always ends — the first time in a
    process, importing WeasyPrint and rendering a probe page: seconds on a loaded machine — so :func:`diagnose`
    runs it outside the step bound meant for what may never answer (the SMTP server)."""
    from remit.documents.generate import pdf_engine

    try:
        return await asyncio.to_thread(pdf_engine(runtime).problem)
    except Exception as exc:  # a host's engine: a diagnosis reports what broke instead of crashing on it
        log.warning("pdf engine check failed", extra={"error_type": type(exc).__name__}, exc_info=exc)
        return f"{type(exc).__name__} (details in the log)"


async def mail_check(runtime: Runtime, pdf_problem: str | None) -> Check:
    """Where mail goes (an SMTP server, probed with a session that sends nothing, or the development outbox)
    and whether invoice PDFs can be made here (``pdf_problem``: :func:`pdf_engine_problem`'s answer, found
    outside the step bound); never an address or a password."""
    from remit.mail.mailer import MailOutcomeUnknown, MailRefused
    from remit.mail.smtp import SmtpMailer

    settings = runtime.settings
    target = settings.smtp
    data: dict[str, Any] = {"transport": "smtp" if target else "outbox", "pdf_engine": pdf_problem is None}
    status = Status.OK
    if target is None:
        detail = "development outbox (REMIT_SMTP_URL unset): nothing leaves this machine"
        if settings.is_production:
            status = Status.WARN
    else:
        where = f"smtp {target.host}:{target.port} ({target.tls} TLS{', AUTH' if target.username else ''})"
        try:
            await SmtpMailer(target).probe()
        except (MailRefused, MailOutcomeUnknown) as exc:
            return Check("mail", Status.FAIL, f"{where}: {exc}", data)
        detail = f"{where} answers"
    if pdf_problem is not None:
        status = Status.WARN
        detail += f"; no PDF engine ({pdf_problem}): receipts link to the hosted invoice"
    return Check("mail", status, detail, data)


# --- the whole diagnosis ------------------------------------------------------------------------------------


async def diagnose(environ: Mapping[str, str] | None = None, *, runtime: Runtime | None = None) -> list[Check]:
    """Run every step in runbook order and return their outcomes (never raises for what it diagnoses)."""
    env = dict(os.environ if environ is None else environ)
    config, settings = configuration_check(env)
    checks = [config]
    later = ["database", "migrations", "queues", "workers", "processor", "processor_credentials", "mail"]
    if settings is None and runtime is None:
        return checks + [Check(name, Status.SKIPPED, "configuration is invalid") for name in later]
    owned = runtime is None
    rt = runtime or Runtime.from_settings(settings, parts=())  # type: ignore[arg-type]
    try:
        database = await _bounded(lambda: database_check(rt), "database")
        checks.append(database)
        if database.status is Status.FAIL:
            return checks + [Check(name, Status.SKIPPED, "database unreachable") for name in later[1:]]
        migrations = await _bounded(lambda: migrations_check(rt), "migrations")
        checks.append(migrations)
        if migrations.status is Status.FAIL and migrations.data.get("current") is None:
            checks += [Check(name, Status.SKIPPED, "database not migrated") for name in ("queues", "workers")]
        else:
            checks.append(await _bounded(lambda: queues_check(rt), "queues"))
            checks.append(await _bounded(lambda: workers_check(rt), "workers"))
        checks.append(await _bounded(lambda: processor_check(rt), "processor"))
        if migrations.status is Status.FAIL:
            checks.append(Check("processor_credentials", Status.SKIPPED, "database not migrated"))
        else:
            checks.append(await _bounded(lambda: credentials_check(rt), "processor_credentials"))
        pdf = await pdf_engine_problem(rt)  # not bounded: local work that ends, however slowly
        checks.append(await _bounded(lambda: mail_check(rt, pdf), "mail"))
    finally:
        if owned:
            await rt.close()
    return checks


__all__ = ["Check", "Status", "configuration_check", "diagnose", "is_healthy", "required_variables"]
