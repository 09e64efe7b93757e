"""The load test's plan and figures (pure): the events it generates, its limits, its percentiles, and what
counts as a production configuration."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from remit.cli.usage import production_reason
from remit.config import Settings
from remit.usage.loadtest import LoadPlan, LoadTestRefused, Progress, WatchedDelivery, percentiles, waiting_for

NOW = datetime(2024, 6, 30, 12, 0, tzinfo=UTC)


def test_the_plan_generates_every_event_once_in_time_order_inside_the_window():
    plan = LoadPlan(3, 2, 4, "api_requests", run="r1", batch=5)
    events = list(plan.events(["cus_a", "cus_b", "cus_c"], NOW))
    assert len(events) == plan.total == 24
    assert len({e.operation_id for e in events}) == 24
    assert all(e.operation_id.startswith("loadtest-r1-") for e in events)
    stamps = [e.timestamp for e in events]
    assert stamps == sorted(stamps)
    assert min(stamps) == NOW - timedelta(days=2)
    assert max(stamps) < NOW
    per_customer = {c: sum(1 for e in events if e.customer_id == c) for c in ("cus_a", "cus_b", "cus_c")}
    assert per_customer == {"cus_a": 8, "cus_b": 8, "cus_c": 8}
    assert {e.value for e in events} <= {1, 2, 3, 4, 5}


def test_batches_cover_the_events_with_a_short_last_batch():
    plan = LoadPlan(3, 2, 4, "api_requests", run="r1", batch=5)
    sizes = [len(b) for b in plan.batches(["a", "b", "c"], NOW)]
    assert sizes == [5, 5, 5, 5, 4]


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"customers": 0}, "--customers"),
        ({"days": 35}, "--days"),
        ({"events_per_day": 0}, "--events-per-day"),
        ({"batch": 1001}, "--batch"),
        ({"concurrency": 0}, "--concurrency"),
    ],
)
def test_plans_outside_the_limits_are_refused_naming_the_option(kwargs, named):
    values = {"customers": 1, "days": 1, "events_per_day": 1, "meter": "api_requests", **kwargs}
    with pytest.raises(LoadTestRefused, match=named):
        LoadPlan(**values)


def test_percentiles_are_nearest_rank():
    assert percentiles([]) == {50: 0.0, 95: 0.0, 100: 0.0}
    values = [float(v) for v in range(1, 101)]
    assert percentiles(values) == {50: 50.0, 95: 95.0, 100: 100.0}
    assert percentiles([3.0, 1.0, 2.0]) == {50: 2.0, 95: 3.0, 100: 3.0}


def _runtime(**env: str) -> SimpleNamespace:
    return SimpleNamespace(settings=Settings.model_validate({"DATABASE_URL": "sqlite:///x.db", **env}))


def test_production_is_remit_env_production_or_a_live_stripe_key():
    assert production_reason(_runtime()) is None  # type: ignore[arg-type]
    assert production_reason(_runtime(REMIT_ENV="test")) is None  # type: ignore[arg-type]
    live = _runtime(REMIT_PROCESSOR="stripe", STRIPE_API_KEY="sk_live_abc", STRIPE_WEBHOOK_SECRET="whsec_x")
    assert production_reason(live) == "a live Stripe key"  # type: ignore[arg-type]
    test_key = _runtime(REMIT_PROCESSOR="stripe", STRIPE_API_KEY="sk_test_abc", STRIPE_WEBHOOK_SECRET="whsec_x")
    assert production_reason(test_key) is None  # type: ignore[arg-type]
    prod = SimpleNamespace(settings=SimpleNamespace(is_production=True, stripe_api_key=None, processor="stripe"))
    assert production_reason(prod) == "REMIT_ENV=production"  # type: ignore[arg-type]


def test_waiting_for_names_what_the_follow_up_still_needs():
    assert (
        waiting_for(unsettled=0, rollup=False, invoices_missing=0, failed_webhooks=0, depths={"remit_meters": 0}) == ""
    )
    said = waiting_for(
        unsettled=12, rollup=True, invoices_missing=2, failed_webhooks=0, depths={"remit_meters": 1, "remit_usage": 0}
    )
    assert said == "12 events to be reported, the rollup, 2 invoices in the mirror, queues remit_meters 1"
    hinted = waiting_for(unsettled=0, rollup=False, invoices_missing=1, failed_webhooks=3, depths={})
    assert hinted == "1 invoices in the mirror (3 webhook deliveries failed: remit fake deliver)"


def test_the_watched_delivery_never_shows_a_url_password():
    inner = SimpleNamespace(url="http://ops:s3cret-pass@remit.internal:8000/webhooks/stripe?token=abc123")
    watched = WatchedDelivery(inner, Progress(1), lambda _progress: None)  # type: ignore[arg-type]
    assert "s3cret-pass" not in watched.url
    assert "abc123" not in watched.url
    assert watched.url.startswith("http://ops:")
