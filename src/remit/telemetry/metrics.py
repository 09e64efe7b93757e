"""Prometheus metrics, all on one registry that ``GET /metrics`` exports.

Names carry the ``remit_`` prefix and their unit; labels come from small fixed sets (queue, state, outcome,
event type, status), never identifiers. Gauges that describe the database (queue depth, oldest job age) are
collected at scrape time by :mod:`remit.telemetry.collectors`.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

JOB_RUNTIME_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)

jobs_executed_total = Counter(
    "remit_jobs_executed_total",
    "Job attempts that ran to an outcome, by queue and outcome (completed, retryable, discarded, cancelled, snoozed).",
    ["queue", "outcome"],
    registry=REGISTRY,
)
jobs_failed_total = Counter(
    "remit_jobs_failed_total", "Job attempts that raised an error, by queue.", ["queue"], registry=REGISTRY
)
jobs_discarded_total = Counter(
    "remit_jobs_discarded_total",
    "Jobs discarded (last attempt failed, or the job gave up), by queue.",
    ["queue"],
    registry=REGISTRY,
)
jobs_snoozed_total = Counter(
    "remit_jobs_snoozed_total",
    "Jobs that snoozed without spending an attempt, by queue.",
    ["queue"],
    registry=REGISTRY,
)
jobs_rescued_total = Counter(
    "remit_jobs_rescued_total",
    "Jobs returned to their queue after their worker stopped heartbeating.",
    ["queue"],
    registry=REGISTRY,
)
job_run_seconds = Histogram(
    "remit_job_run_seconds",
    "Wall time of one job attempt, by queue.",
    ["queue"],
    buckets=JOB_RUNTIME_BUCKETS,
    registry=REGISTRY,
)
periodic_runs_total = Counter(
    "remit_periodic_runs_total",
    "Runs of periodic tasks and cron entries, by task name and outcome (ok, failed, enqueued).",
    ["task", "outcome"],
    registry=REGISTRY,
)
periodic_run_seconds = Histogram(
    "remit_periodic_run_seconds",
    "Wall time of one run of a periodic task, by task name.",
    ["task"],
    buckets=JOB_RUNTIME_BUCKETS,
    registry=REGISTRY,
)
ops_events_total = Counter("remit_ops_events_total", "Ops events emitted, by event name.", ["event"], registry=REGISTRY)

queue_jobs = Gauge(
    "remit_queue_jobs",
    "Jobs in each queue by state, read from the database at scrape time.",
    ["queue", "state"],
    registry=REGISTRY,
)
queue_oldest_available_age_seconds = Gauge(
    "remit_queue_oldest_available_age_seconds",
    "Seconds the oldest due job of each queue has waited (0 when none waits).",
    ["queue"],
    registry=REGISTRY,
)
queue_paused = Gauge("remit_queue_paused", "1 when the queue is paused.", ["queue"], registry=REGISTRY)
workers_alive = Gauge("remit_workers_alive", "Worker processes that heartbeated within the lease.", registry=REGISTRY)
mirror_stale_skipped_total = Counter(
    "remit_mirror_stale_skipped_total",
    "Processor events not applied to the billing mirror because the row already holds newer state "
    "(an older watermark, or a late update of a deleted object), by object type.",
    ["object_type"],
    registry=REGISTRY,
)
processor_throttled_total = Counter(
    "remit_processor_throttled_total",
    "Processor calls a job made that were answered 429 (rate limited), by the job's queue; the job snoozed.",
    ["queue"],
    registry=REGISTRY,
)
webhook_events = Gauge(
    "remit_webhook_events",
    "Stored webhook events not yet processed, and dead letters, by status (held, received, processing, failed, "
    "dead) and event type (remit's subscribed types; 'other' for the rest), read from the database at scrape time.",
    ["status", "type"],
    registry=REGISTRY,
)
webhook_oldest_pending_age_seconds = Gauge(
    "remit_webhook_oldest_pending_age_seconds",
    "Seconds since the oldest webhook event still waiting for its handlers (received, processing or failed) "
    "arrived; 0 when none waits.",
    registry=REGISTRY,
)
webhook_last_dead_letter_timestamp_seconds = Gauge(
    "remit_webhook_last_dead_letter_timestamp_seconds",
    "Unix time the newest dead letter died (0 when there is none): alerts fire for a while after it moves.",
    registry=REGISTRY,
)
flag_enabled = Gauge(
    "remit_flag_enabled",
    "1 when the runtime flag is on (billing, origin_guard), as every process reads it from the database.",
    ["flag"],
    registry=REGISTRY,
)
emergency_stop = Gauge(
    "remit_emergency_stop",
    "1 while an emergency stop (remit stop --all) is in force: queues paused, webhooks held.",
    registry=REGISTRY,
)
emergency_stop_since_timestamp_seconds = Gauge(
    "remit_emergency_stop_since_timestamp_seconds",
    "Unix time the emergency stop in force began (0 when none is).",
    registry=REGISTRY,
)
processor_credentials_expired = Gauge(
    "remit_processor_credentials_expired",
    "1 while the processor's credentials are marked expired (a job met a 401/403; its queues are paused).",
    registry=REGISTRY,
)
provisioning_stuck = Gauge(
    "remit_provisioning_stuck",
    "Open provisioning jobs with no progress for REMIT_PROVISIONING_STUCK_SECONDS or at the attempt cap.",
    registry=REGISTRY,
)
ops_webhook_deliveries_total = Counter(
    "remit_ops_webhook_deliveries_total",
    "Attempts to POST an ops event to REMIT_OPS_WEBHOOK_URL, by outcome (delivered, retry, refused).",
    ["outcome"],
    registry=REGISTRY,
)
mail_sent_total = Counter(
    "remit_mail_sent_total",
    "Mail that reached a final state, by kind and outcome: sent; duplicate_window (sent, but on a second hand-over "
    "after one whose outcome was unknown: it may have arrived twice); failed; skipped (nobody to send it to).",
    ["kind", "outcome"],
    registry=REGISTRY,
)
meter_events = Gauge(
    "remit_meter_events",
    "Usage records in the local store, by status (pending, reported, failed).",
    ["status"],
    registry=REGISTRY,
)
meter_oldest_pending_age_seconds = Gauge(
    "remit_meter_oldest_pending_age_seconds",
    "Age of the oldest usage record not yet reported to the processor (0 when none is pending).",
    registry=REGISTRY,
)
usage_rollup_lag_events = Gauge(
    "remit_usage_rollup_lag_events",
    "Usage records stored but not yet counted in the rollups (meter-event ids above the rollup's watermark).",
    registry=REGISTRY,
)
dunning_requests_total = Counter(
    "remit_dunning_requests_total",
    "Dunning sweeper requests to the processor for a subscription's terminal state, by outcome (requested, failed, "
    "skipped: the processor already showed it terminal or no longer past due).",
    ["outcome"],
    registry=REGISTRY,
)
dunning_cases = Gauge(
    "remit_dunning_cases",
    "Dunning cases by state (in_grace, requested, exhausted, recovered), read from the database at scrape time.",
    ["state"],
    registry=REGISTRY,
)
fee_transactions_total = Counter(
    "remit_fee_transactions_total",
    "Balance transactions a fee pass matched to a charge or refund, by outcome (recorded, unchanged, drift).",
    ["outcome"],
    registry=REGISTRY,
)
fee_processor_calls_total = Counter(
    "remit_fee_processor_calls_total",
    "Processor calls made by fee passes (one per page of up to 100 balance transactions).",
    registry=REGISTRY,
)
revenue_loss_total = Counter(
    "remit_revenue_loss_total",
    "revenue_loss signals raised, by reason (refund_fee_not_returned, dispute_lost, refund_exceeds_net).",
    ["reason"],
    registry=REGISTRY,
)
revenue_loss_amount_total = Counter(
    "remit_revenue_loss_amount_total",
    "Money lost, in the currency's smallest unit summed across currencies (a trend, not an accounting figure), by "
    "reason.",
    ["reason"],
    registry=REGISTRY,
)
payment_sync_objects_total = Counter(
    "remit_payment_sync_objects_total",
    "Objects payment sync re-fetched, by object type (charge, invoice, subscription) and outcome (applied, "
    "unchanged, failed).",
    ["object_type", "outcome"],
    registry=REGISTRY,
)
#: How a payment sync pass's read of the processor's event list went: the ``outcome`` label's whole set.
PAYMENT_SYNC_EVENT_READ_OUTCOMES = ("read", "throttled", "failed", "refused")
payment_sync_event_reads_total = Counter(
    "remit_payment_sync_event_reads_total",
    "Payment sync passes by how the processor's event list went (read, throttled, failed: no answer or a 5xx, "
    "refused: a 4xx no retry fixes, the cursor kept).",
    ["outcome"],
    registry=REGISTRY,
)
for _outcome in PAYMENT_SYNC_EVENT_READ_OUTCOMES:
    payment_sync_event_reads_total.labels(outcome=_outcome)  # exported at 0, so the first refusal is an increase
card_expiry_notices_total = Counter(
    "remit_card_expiry_notices_total",
    "Card-expiring mails owed, by threshold in days (as configured by REMIT_CARD_EXPIRY_DAYS).",
    ["days"],
    registry=REGISTRY,
)
billing_action_duration_seconds = Histogram(
    "remit_billing_action_duration_seconds",
    "Wall time of one billing action (remit.billing.actions: checkout, subscribe, cancel …), by action, processor "
    "(fake, stripe) and outcome (created, replayed, refused, failed).",
    ["action", "processor", "outcome"],
    buckets=JOB_RUNTIME_BUCKETS,
    registry=REGISTRY,
)
