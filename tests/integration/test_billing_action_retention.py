"""``remit_billing_actions`` retention on both databases: a session's key repeated after the session expired
(24 h) is ``SessionExpired``, never a dead URL; the periodic task ``billing.prune_actions`` blanks expired
sessions' URLs and client secrets and deletes rows past ``REMIT_BILLING_ACTION_RETENTION_DAYS``, in batches,
on the leader, as a job on ``remit_maintenance``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import ValidationError

from remit import billing
from remit.billing.action_retention import PRUNE_TASK, delete_old, prune_actions
from remit.billing.action_store import SESSION_SECRETS_TTL
from remit.clock import FrozenClock
from remit.config import Settings
from remit.db.tables import billing_actions
from remit.periodic import Cron
from remit.processor.fake import CollectingDelivery, FakeEngine, FakeProcessor
from remit.runtime import Runtime
from tests.support.webhooks import SECRET

pytestmark = pytest.mark.webhook_settings(REMIT_BILLING_ACTION_RETENTION_DAYS="7")

CHECKOUT: dict[str, Any] = {
    "account_id": "acct_r",
    "package": "starter",
    "success_url": "https://app.example.com/welcome",
}


@pytest.fixture
def fake(rt: Runtime, collected: CollectingDelivery) -> FakeProcessor:
    processor = FakeProcessor(FakeEngine(rt.db, rt.clock, delivery=collected, secret=SECRET))
    rt.processor = processor
    return processor


def clock(rt: Runtime) -> FrozenClock:
    assert isinstance(rt.clock, FrozenClock)
    return rt.clock


async def rows(rt: Runtime) -> dict[str, dict[str, Any]]:
    async with rt.db.connect() as conn:
        found = (await conn.execute(sa.select(billing_actions))).mappings()
        return {row["idempotency_key"]: dict(row) for row in found}


async def test_a_session_repeat_answers_its_url_for_a_day_then_session_expired(
    rt: Runtime, fake: FakeProcessor
) -> None:
    checkout = await billing.create_checkout_session(rt, idempotency_key="r-checkout", **CHECKOUT)
    customer = await billing.create_customer(rt, idempotency_key="r-customer", email="ada@example.com")
    clock(rt).advance(SESSION_SECRETS_TTL - timedelta(seconds=1))
    again = await billing.create_checkout_session(rt, idempotency_key="r-checkout", **CHECKOUT)
    assert (again.replayed, again.url) == (True, checkout.url)
    clock(rt).advance(timedelta(seconds=1))
    with pytest.raises(billing.SessionExpired) as expired:
        await billing.create_checkout_session(rt, idempotency_key="r-checkout", **CHECKOUT)
    assert (expired.value.status, expired.value.code, expired.value.param) == (
        410,
        "session_expired",
        "idempotency_key",
    )
    assert str(checkout.url) not in str(expired.value)
    # an action without secrets answers its outcome for the whole retention
    later = await billing.create_customer(rt, idempotency_key="r-customer", email="ada@example.com")
    assert (later.replayed, later.object) == (True, customer.object)
    # a key reused for another request is still told so, not "expired"
    with pytest.raises(billing.IdempotencyKeyReused):
        await billing.create_checkout_session(rt, idempotency_key="r-checkout", **{**CHECKOUT, "package": "pro"})


async def test_the_task_blanks_expired_secrets_then_deletes_rows_past_the_retention(
    rt: Runtime, fake: FakeProcessor
) -> None:
    customer = await billing.create_customer(
        rt, idempotency_key="r-1", account_id="acct_r", payment_method="pm_card_visa"
    )
    checkout = await billing.create_checkout_session(rt, idempotency_key="r-2", **CHECKOUT)
    portal = await billing.create_portal_session(
        rt, idempotency_key="r-3", account_id="acct_r", return_url="https://a.example"
    )
    assert checkout.url is not None
    assert portal.url is not None
    stored = await rows(rt)
    assert stored["r-1"]["secrets_expire_at"] is None
    assert stored["r-2"]["secrets_expire_at"] == stored["r-2"]["updated_at"] + SESSION_SECRETS_TTL

    early = await prune_actions(rt)  # nothing has expired yet
    assert (early.deleted, early.redacted) == (0, 0)
    assert (await rows(rt))["r-2"]["result"]["url"] == checkout.url

    clock(rt).advance(timedelta(hours=25))
    blanked = await prune_actions(rt)
    assert (blanked.deleted, blanked.redacted) == (0, 2)
    stored = await rows(rt)
    for key, made in (("r-2", checkout), ("r-3", portal)):
        assert stored[key]["result"]["url"] is None
        assert stored[key]["result"].get("client_secret") is None
        assert {k: v for k, v in stored[key]["result"].items() if k not in ("url", "client_secret")} == {
            k: v for k, v in made.object.items() if k not in ("url", "client_secret")
        }
        assert stored[key]["redacted_at"] == clock(rt).now()
        assert stored[key]["secrets_expire_at"] is None
        assert made.url not in repr(stored[key])
    assert stored["r-1"]["result"] == customer.object  # no secrets, untouched
    assert (await prune_actions(rt)).redacted == 0  # done once
    with pytest.raises(billing.SessionExpired):
        await billing.create_portal_session(
            rt, idempotency_key="r-3", account_id="acct_r", return_url="https://a.example"
        )

    clock(rt).advance(timedelta(days=6))  # the first three are now 7 days and an hour old
    fresh = await billing.create_customer(rt, idempotency_key="r-4", email="new@example.com")
    pruned = await prune_actions(rt)
    assert pruned.deleted == 3
    assert pruned.before == clock(rt).now() - timedelta(days=7)
    assert set(await rows(rt)) == {"r-4"}
    # past the retention a key is forgotten: a call with it is a new action (the fake answers its first object)
    again = await billing.create_customer(rt, idempotency_key="r-1", account_id="acct_r", payment_method="pm_card_visa")
    assert not again.replayed
    assert (await billing.create_customer(rt, idempotency_key="r-4", email="new@example.com")).object == fresh.object


async def test_old_rows_go_in_batches_and_a_fresh_claim_stays(rt: Runtime, fake: FakeProcessor) -> None:
    for index in range(5):
        await billing.create_customer(rt, idempotency_key=f"b-{index}")
    clock(rt).advance(timedelta(days=8))
    await billing.create_customer(rt, idempotency_key="b-fresh")
    assert await delete_old(rt, clock(rt).now() - timedelta(days=7), batch=2) == 5
    assert set(await rows(rt)) == {"b-fresh"}


async def test_the_scheduled_task_runs_on_the_maintenance_queue(rt: Runtime, fake: FakeProcessor) -> None:
    assert (PRUNE_TASK.name, PRUNE_TASK.schedule) == ("billing.prune_actions", Cron("23 * * * *"))
    assert PRUNE_TASK.leader_only
    assert PRUNE_TASK.queue == "remit_maintenance"
    assert PRUNE_TASK in billing.PART.periodic
    await billing.create_checkout_session(rt, idempotency_key="s-1", **CHECKOUT)
    clock(rt).advance(timedelta(days=8))
    await billing.create_checkout_session(rt, idempotency_key="s-2", **CHECKOUT)
    clock(rt).advance(timedelta(hours=25))
    assert "billing.prune_actions" in await rt.engine.fire_due()
    await rt.drain(["remit_maintenance"])
    stored = await rows(rt)
    assert set(stored) == {"s-2"}
    assert stored["s-2"]["result"]["url"] is None
    listed = {entry.name: entry for entry in await rt.engine.schedule()}
    assert listed["billing.prune_actions"].last_counts == {"deleted": 1, "redacted": 1}


def test_the_retention_is_at_least_a_day() -> None:
    base = {"DATABASE_URL": "sqlite:///:memory:"}
    assert Settings.model_validate(base).billing_action_retention_days == 7.0
    assert (
        Settings.model_validate({**base, "REMIT_BILLING_ACTION_RETENTION_DAYS": "30"}).billing_action_retention_days
        == 30.0
    )
    with pytest.raises(ValidationError, match="REMIT_BILLING_ACTION_RETENTION_DAYS"):
        Settings.model_validate({**base, "REMIT_BILLING_ACTION_RETENTION_DAYS": "0.5"})
