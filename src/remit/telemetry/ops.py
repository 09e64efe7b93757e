"""The ops event catalog and :func:`emit`.

An ops event is something an operator may need to act on (a webhook dead-lettered, a replay run, an upcast
that failed, a periodic task that failed, the processor refusing remit's key, a mail given up). Each has a name
in :data:`CATALOG` (documented on its part's page: the webhook events in ``docs/webhooks.md`` under "Ops
events", ``jobs.discarded``, ``periodic.failed`` and ``processor_credentials_expired`` in ``docs/jobs.md``,
the upcast in ``docs/ledger.md``, ``pdf_adapter_unavailable`` and ``mail.failed`` in ``docs/mail.md``), is
logged as ``remit.ops.<name>`` at its catalog level (a warning only when a person must act) and counted in
``remit_ops_events_total``. Metadata passes an allow-list of identifier and count fields, so an email, a
name, a raw body or a secret cannot reach a log line through here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from remit.telemetry.metrics import ops_events_total

log = logging.getLogger("remit.ops")


@dataclass(frozen=True, slots=True)
class OpsEventSpec:
    """One ops event: its name, when it happens, the first thing an operator does, and the level it is
    logged at — a warning when something needs a person, info for routine work a person asked for or a
    schedule ran (a replay that worked, a prune), so a successful command prints no warning."""

    name: str
    when: str
    first_action: str
    level: int = logging.WARNING


CATALOG: dict[str, OpsEventSpec] = {
    spec.name: spec
    for spec in [
        OpsEventSpec(
            "webhook_dlq.dead_lettered",
            "a webhook event failed its last dispatch attempt, or a handler failed permanently",
            "remit webhooks show ID; fix the cause; remit webhooks replay ID",
        ),
        OpsEventSpec(
            "webhook_dlq.replay",
            "an operator replayed dead or failed webhook events",
            "watch remit webhooks list --status dead shrink",
            logging.INFO,
        ),
        OpsEventSpec(
            "webhook_dlq.prune",
            "old processed and dead webhook events were deleted",
            "none; check the counts are what retention implies",
            logging.INFO,
        ),
        OpsEventSpec(
            "events_upcast_failed",
            "a ledger event had a schema version no upcaster knows",
            "deploy the upcaster for that version, then replay",
        ),
        OpsEventSpec(
            "periodic.failed",
            "a periodic task's run raised (the task runs again at its next tick; a queued one retries as a job)",
            "remit schedule list; the log line 'periodic task failed' names the error type; fix the cause",
        ),
        OpsEventSpec(
            "pdf_adapter_unavailable",
            "a mail that should have carried an invoice PDF went out with the processor's hosted-invoice link "
            "instead: no PDF engine in this process (WeasyPrint or its system libraries missing)",
            "install the pdf extra and the README's apt packages on the workers; remit invoices pdf ID -o FILE",
        ),
        OpsEventSpec(
            "mail.failed",
            "a transactional mail was given up: refused for good, its job's attempts ran out, or it was handed "
            "to the mail server twice without a confirmed outcome (unconfirmed)",
            "remit mail show ID; fix the cause (SMTP settings, the address); remit mail retry ID",
        ),
        OpsEventSpec(
            "jobs.discarded",
            "a job failed its last attempt, or gave up (Discard), and was discarded",
            "remit jobs list --state discarded; fix; remit jobs retry ID",
        ),
        OpsEventSpec(
            "processor_credentials_expired",
            "the processor refused remit's API key (401/403) in a job: the processor-calling queues were paused "
            "for every worker and their jobs wait; emitted once per expiry, not per job or worker",
            "remit doctor; rotate STRIPE_API_KEY and restart the workers; remit queues resume QUEUE",
        ),
    ]
}

#: Metadata keys that may accompany an ops event: identifiers, names from fixed sets, counts and amounts.
ALLOWED_FIELDS = frozenset(
    {
        "event_id",
        "processor_event_id",
        "event_type",
        "job_id",
        "job_name",
        "queue",
        "attempt",
        "status",
        "customer_id",
        "subscription_id",
        "invoice_id",
        "charge_id",
        "refund_id",
        "operation_id",
        "account_id",
        "session_id",
        "object_type",
        "object_id",
        "schema_version",
        "reason",
        "source",
        "actor",
        "count",
        "matched",
        "replayed",
        "deleted",
        "dry_run",
        "error_type",
        "amount",
        "currency",
        "expected",
        "actual",
        "processor",
        "since",
        "older_than_days",
        "processed",
        "dead",
        "hurried",
        "stagger",
        "limit",
        "endpoint",
        "task",
        "code",
        "queues",
        "mail_id",
        "mail_kind",
        "deliveries",
    }
)

Sink = Callable[[str, dict[str, Any]], None]
_sinks: list[Sink] = []


def add_sink(sink: Sink) -> Callable[[], None]:
    """Send every ops event to ``sink(name, metadata)`` too (a host's alerting, a test); returns a remover."""
    _sinks.append(sink)
    return lambda: _sinks.remove(sink)


def safe_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    """Keep only allow-listed keys with scalar values."""
    return {
        key: value
        for key, value in metadata.items()
        if key in ALLOWED_FIELDS and (value is None or isinstance(value, (str, int, float, bool)))
    }


def emit(name: str, **metadata: Any) -> dict[str, Any]:
    """Emit ops event ``name``; unknown names are a bug and raise. Returns the metadata that was kept."""
    if name not in CATALOG:
        raise KeyError(f"ops event {name!r} is not in the catalog")
    kept = safe_metadata(metadata)
    ops_events_total.labels(event=name).inc()
    log.log(CATALOG[name].level, "remit.ops.%s", name, extra={"ops_event": name, "ops": kept})
    for sink in list(_sinks):
        sink(name, kept)
    return kept
