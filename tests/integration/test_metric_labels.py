"""Every label of every ``remit_*`` series takes its values from a fixed set remit's code decides — never an
id, an email or whatever a request carried. A realistic run in a fresh interpreter (so the registry holds only
what it labelled) is scraped, and each label value is checked against its set. On SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from remit.api.app import create_app
from remit.billing.kinds import KINDS
from remit.flags import FLAGS
from remit.jobs.states import JobState
from remit.mail.kinds import MailKind
from remit.mail.log import MailOutcome
from remit.money.losses import LossReason
from remit.money.policy import CaseState
from remit.telemetry.metrics import PAYMENT_SYNC_EVENT_READ_OUTCOMES
from remit.telemetry.ops import CATALOG
from remit.usage.records import MeterEventState
from remit.webhooks.events import EventStatus
from remit.webhooks.gauges import OTHER_TYPE, label_types
from tests.support.metrics_flow import runtime_for

ROOT = Path(__file__).resolve().parents[2]


def route_paths(routes: Iterable[Any], prefix: str = "") -> set[str]:
    """Every route template of an app, through included routers (the route label's whole set)."""
    paths: set[str] = set()
    for route in routes:
        path = getattr(route, "path", None)
        if isinstance(path, str):
            paths.add(prefix + path)
        included = getattr(route, "original_router", None)
        if included is not None:
            paths |= route_paths(included.routes, prefix + getattr(route, "prefix", ""))
    return paths


async def label_sets(db_url: str) -> dict[str, set[str]]:
    """What each label may be, as remit's code decides it for this configuration."""
    runtime = runtime_for(db_url)
    try:
        app = create_app(runtime)
        routes = route_paths(app.routes)
        return {
            "queue": {spec.name for spec in runtime.settings.queues.values()},
            "state": {state.value for state in JobState} | {state.value for state in CaseState},
            "outcome": {
                "completed",
                "retryable",
                "discarded",
                "cancelled",
                "snoozed",
                "ok",
                "failed",
                "enqueued",
                "delivered",
                "retry",
                "refused",
                "requested",
                "skipped",
                "recorded",
                "unchanged",
                "drift",
                "applied",
            }
            | {outcome.value for outcome in MailOutcome}
            | set(PAYMENT_SYNC_EVENT_READ_OUTCOMES),
            "kind": {kind.value for kind in MailKind},
            "event": set(CATALOG),
            "type": set(label_types(runtime.handlers)) | {OTHER_TYPE},
            "status": {status.value for status in EventStatus}
            | {f"{n}xx" for n in range(1, 6)}
            | {state.value for state in MeterEventState},
            "method": {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER"},
            "route": routes | {"unmatched"},
            "task": {item.name for item in runtime.engine.scheduled},
            "object_type": set(KINDS),
            "flag": set(FLAGS),
            "reason": {reason.value for reason in LossReason},
            "days": {str(days) for days in runtime.settings.card_expiry_days},
        }
    finally:
        await runtime.close()


async def test_every_label_value_of_a_realistic_run_comes_from_a_fixed_set(db_url: str) -> None:
    scrape = subprocess.run(
        [sys.executable, "-m", "tests.support.metrics_flow", db_url],
        capture_output=True,
        text=True,
        check=True,
        timeout=240,
        cwd=ROOT,
    ).stdout
    allowed = await label_sets(db_url)
    seen: dict[str, set[str]] = defaultdict(set)
    strays = []
    for family in text_string_to_metric_families(scrape):
        if not family.name.startswith("remit_"):
            continue
        for sample in family.samples:
            for label, value in sample.labels.items():
                if label == "le":
                    continue
                seen[label].add(value)
                if label not in allowed or value not in allowed[label]:
                    strays.append((sample.name, label, value))
    assert strays == []
    # the run labelled what it must have: an unknown event type, an unmatched route, a refused method
    assert OTHER_TYPE in seen["type"]
    assert {"unmatched", "/api/v1/billing/customers/{customer_id}"} <= seen["route"]
    assert "OTHER" in seen["method"]
    assert {"webhook_dlq.dead_lettered", "connect_payout_failed", "emergency_stop", "billing_switched"} <= seen["event"]
    assert {"remit_webhooks", "remit_ops"} <= seen["queue"]
    assert "skipped" in seen["outcome"]  # the payment-failed mail of a customer without an address
