"""The ops event catalog and :func:`emit`.

An ops event is something an operator may need to act on (a webhook dead-lettered, a connected account gone, a
payout failed, billing switched off) or wants on record (a replay, a prune). :data:`CATALOG` is the one list:
each :class:`OpsEventSpec` says when the event fires, what it measures, which identifiers it carries, the
operator's first action and its runbook page. ``docs/ops-events.md`` is the same list for people, and the test
suite keeps them in step, checks every event has its runbook page under ``docs/runbooks/`` and is emitted
somewhere in ``src/``, and that every ``ops.emit`` call passes only fields its entry declares.

:func:`emit` logs the event as ``remit.ops.<name>`` at its catalog level (a warning only when a person must
act), counts it in ``remit_ops_events_total{event}`` and hands it to every sink (:func:`add_sink`: a host's
callable, or remit's own ops webhook, :mod:`remit.control.forward`). Metadata is filtered twice: only fields
the event declares, and only those on the allow-list :data:`ALLOWED_FIELDS` (identifiers, codes, counts and
amounts, as scalars) — so an email, a name, a raw body or a secret cannot leave through here. The allow-list, the
filter and the sinks are :mod:`remit.telemetry.sinks`', shared with spans.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from remit.telemetry.metrics import ops_events_total
from remit.telemetry.sinks import ALLOWED_FIELDS, Sinks, log_fields, safe_metadata

log = logging.getLogger("remit.ops")

#: Where the runbook pages live, relative to the repository root.
RUNBOOKS = "docs/runbooks"


@dataclass(frozen=True, slots=True)
class OpsEventSpec:
    """One ops event.

    ``when`` says what happened; ``measurements`` are its numbers (counts, amounts), ``metadata`` its
    identifiers and codes; ``first_action`` is what the operator does first (runnable commands); ``runbook``
    is its page under ``docs/runbooks/``; ``level`` is the log level — a warning when something needs a
    person, info for routine work a person asked for or a schedule ran (a replay that worked, a prune).
    """

    name: str
    when: str
    measurements: tuple[str, ...]
    metadata: tuple[str, ...]
    first_action: str
    runbook: str
    level: int = logging.WARNING

    @property
    def fields(self) -> frozenset[str]:
        """Every key :func:`emit` keeps for this event."""
        return frozenset(self.measurements) | frozenset(self.metadata)

    @property
    def runbook_path(self) -> str:
        return f"{RUNBOOKS}/{self.runbook}"


CATALOG: dict[str, OpsEventSpec] = {
    spec.name: spec
    for spec in [
        OpsEventSpec(
            "webhook_dlq.dead_lettered",
            "a webhook event failed its last dispatch attempt, or its handlers failed permanently",
            ("attempt",),
            ("event_id", "processor_event_id", "event_type", "processor", "error_type", "job_id"),
            "remit webhooks show ID; fix the cause; remit webhooks replay ID",
            "webhook-dlq-dead-lettered.md",
        ),
        OpsEventSpec(
            "webhook_dlq.replay",
            "an operator replayed dead or failed webhook events",
            ("matched", "replayed", "hurried", "stagger", "limit"),
            ("actor", "dry_run", "status", "event_type", "since", "event_id"),
            "watch remit webhooks list --status dead shrink",
            "webhook-dlq-replay.md",
            logging.INFO,
        ),
        OpsEventSpec(
            "webhook_dlq.prune",
            "old processed and dead webhook events were deleted (or a run found none)",
            ("deleted", "processed", "dead"),
            ("actor", "dry_run"),
            "none; check the counts are what retention implies",
            "webhook-dlq-prune.md",
            logging.INFO,
        ),
        OpsEventSpec(
            "events_upcast_failed",
            "a ledger event had a schema version no upcaster knows",
            ("schema_version", "expected"),
            ("event_id", "event_type", "reason"),
            "deploy the upcaster for that schema_version; until then nothing can read the event",
            "events-upcast-failed.md",
        ),
        OpsEventSpec(
            "periodic.failed",
            "a periodic task's run raised (it runs again at its next tick; a queued one retries as a job)",
            (),
            ("task", "error_type"),
            "remit schedule list; the log line 'periodic task failed' names the error type; fix the cause",
            "periodic-failed.md",
        ),
        OpsEventSpec(
            "pdf_adapter_unavailable",
            "a mail that should have carried an invoice PDF went out with the processor's hosted-invoice link "
            "instead: no PDF engine in this process (WeasyPrint or its system libraries missing)",
            (),
            ("mail_id", "mail_kind", "invoice_id", "customer_id", "reason"),
            "install the pdf extra and the README's apt packages on the workers; remit invoices pdf ID -o FILE",
            "pdf-adapter-unavailable.md",
        ),
        OpsEventSpec(
            "mail.failed",
            "a transactional mail was given up: refused for good, its job's attempts ran out, or it was handed "
            "to the mail server twice without a confirmed outcome (unconfirmed)",
            ("deliveries", "attempt"),
            ("mail_id", "mail_kind", "object_id", "customer_id", "reason", "error_type", "job_id"),
            "remit mail show ID; fix the cause (SMTP settings, the address); remit mail retry ID",
            "mail-failed.md",
        ),
        OpsEventSpec(
            "jobs.discarded",
            "a job failed its last attempt, or gave up (Discard), and was discarded",
            ("attempt",),
            ("job_id", "job_name", "queue"),
            "remit jobs show ID; fix the cause; remit jobs retry ID",
            "jobs-discarded.md",
        ),
        OpsEventSpec(
            "connect_account_deauthorized",
            "a connected account disconnected the platform (account.application.deauthorized)",
            (),
            ("event_id", "processor_event_id", "account_id", "object_id"),
            "remit webhooks show ID; stop acting for the account; confirm in the processor's Connect dashboard",
            "connect-account-deauthorized.md",
        ),
        OpsEventSpec(
            "connect_capability_lost",
            "an account.updated event shows a capability that was active and is not any more",
            (),
            ("event_id", "processor_event_id", "account_id", "capability", "status"),
            "remit webhooks show ID; read the account's requirements in the processor's dashboard",
            "connect-capability-lost.md",
        ),
        OpsEventSpec(
            "connect_payout_failed",
            "a payout failed (payout.failed): the money is back in the balance",
            ("amount",),
            ("event_id", "processor_event_id", "account_id", "payout_id", "currency", "failure_code"),
            "remit webhooks show ID; fix the bank account named by failure_code in the processor's dashboard",
            "connect-payout-failed.md",
        ),
        OpsEventSpec(
            "billing_switched",
            "an operator switched the billing flag on or off (remit flags set billing on|off)",
            (),
            ("enabled", "previous", "actor"),
            "remit flags list; remit webhooks list --status held shows what waits",
            "billing-switched.md",
        ),
        OpsEventSpec(
            "emergency_stop",
            "an operator stopped or started every queue and webhook dispatch, or one queue (remit stop|start)",
            ("count",),
            ("action", "scope", "queue", "actor"),
            "curl -s $REMIT_URL/health; remit queues; remit start --all when the cause is fixed",
            "emergency-stop.md",
        ),
        OpsEventSpec(
            "processor_credentials_expired",
            "the processor refused remit's API key (401/403) in a job: the processor-calling queues were paused "
            "for every worker and their jobs wait; emitted once per expiry, not per job or worker",
            ("count",),
            ("processor", "status", "code", "queue", "job_id", "job_name", "queues"),
            "remit doctor; rotate STRIPE_API_KEY and restart the workers; remit queues resume QUEUE",
            "processor-credentials-expired.md",
        ),
        OpsEventSpec(
            "provisioning_failed",
            "a paid checkout's provisioning job needs a person: the orchestrator reported it failed, or its "
            "trigger attempts reached REMIT_PROVISIONING_MAX_ATTEMPTS without the orchestrator taking it",
            (),
            ("job_id", "session_id", "account_id", "attempt", "reason", "code"),
            "remit provisioning show SESSION_ID; fix the transport, then remit provisioning rearm JOB_ID",
            "provisioning-stuck.md",
        ),
        OpsEventSpec(
            "meter_reporting_failed",
            "a usage record moved to failed for the first time: the processor refused it for good (source sync or "
            "reconciler) or its meter error report named it (source webhook); once per record, never on retries "
            "or replays",
            (),
            ("source", "meter_event_id", "operation_id", "meter", "customer_id", "code"),
            "remit usage list --status failed; fix the cause; remit usage retry --status failed",
            "meter-reporting-failed.md",
        ),
        OpsEventSpec(
            "charge_failed",
            "a payment failed: a charge was declined (charge.failed) or an invoice's payment attempt failed "
            "(invoice.payment_failed); once per charge (per invoice and attempt when no charge is named)",
            ("amount", "attempt"),
            (
                "event_id",
                "processor_event_id",
                "charge_id",
                "invoice_id",
                "subscription_id",
                "customer_id",
                "currency",
                "failure_code",
                "decline_code",
            ),
            "remit webhooks show ID; remit dunning list shows the subscription's grace; the customer got the "
            "payment-failed mail (remit mail list)",
            "charge-failed.md",
        ),
        OpsEventSpec(
            "incomplete_expired",
            "a subscription's first payment never succeeded and the processor expired it (status "
            "incomplete_expired); once per subscription",
            (),
            ("event_id", "processor_event_id", "subscription_id", "customer_id", "invoice_id"),
            "remit webhooks show ID; nothing was provisioned for it; contact the customer if the signup matters",
            "incomplete-expired.md",
        ),
        OpsEventSpec(
            "dunning_exhaustion",
            "a past-due subscription reached its terminal state (unpaid or canceled), confirmed by the "
            "processor's webhook: source remit_sweeper when remit's dunning sweeper asked for it, processor when "
            "the processor's own retries ended it; once per subscription",
            ("attempt",),
            ("event_id", "processor_event_id", "subscription_id", "customer_id", "status", "source"),
            "remit dunning list --json; revoke access per your policy; the customer can pay the open invoice",
            "dunning-exhaustion.md",
        ),
        OpsEventSpec(
            "revenue_loss",
            "money the business expected is lost: a refund whose fee was not returned, a dispute lost (with its "
            "fee), a refund larger than the charge's net (reasons in docs/money.md); once per reason and subject",
            ("amount", "fee"),
            ("reason", "object_type", "object_id", "charge_id", "currency"),
            "remit reconcile fees --dry-run; read the subject at the processor; tell finance",
            "revenue-loss.md",
        ),
        OpsEventSpec(
            "billing_action_outcome_unknown",
            "a billing action's claim was left running past the time the processor keeps idempotency keys "
            "(23 h): remit marked the key failed with outcome_unknown instead of calling again, which could act "
            "twice; once per key",
            ("attempt",),
            ("action", "operation_id", "account_id", "customer_id", "processor", "code"),
            "find the key in remit_billing_actions; look its account's or customer's objects up at the "
            "processor; act with a new key only if nothing was made",
            "billing-action-outcome-unknown.md",
        ),
    ]
}

Sink = Callable[[str, dict[str, Any]], None]
_sinks: Sinks[Sink] = Sinks("ops", "ops event sink")


def add_sink(sink: Sink) -> Callable[[], None]:
    """Send every ops event to ``sink(name, metadata)`` too (a host's alerting, a test); returns a remover.

    A sink that raises is logged (its error type) and skipped: the work that emitted the event goes on."""
    return _sinks.add(sink)


def sinks() -> tuple[Sink, ...]:
    """The sinks added and not removed yet: a runtime's are removed when it closes (the tests check that none
    outlives its test, where it would record the next tests' events too)."""
    return _sinks.registered()


def emit(name: str, **metadata: Any) -> dict[str, Any]:
    """Emit ops event ``name``; unknown names are a bug and raise. Returns the metadata that was kept."""
    spec = CATALOG.get(name)
    if spec is None:
        raise KeyError(f"ops event {name!r} is not in the catalog")
    kept = safe_metadata(metadata, spec.fields)
    ops_events_total.labels(event=name).inc()
    log.log(spec.level, "remit.ops.%s", name, extra=log_fields("ops", name, kept))
    _sinks.send(log, name, name, dict(kept))
    return kept


__all__ = [
    "ALLOWED_FIELDS",
    "CATALOG",
    "RUNBOOKS",
    "OpsEventSpec",
    "Sink",
    "add_sink",
    "emit",
    "safe_metadata",
    "sinks",
]
