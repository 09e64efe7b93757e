"""Billing actions on the live adapter: :class:`~remit.processor.stripe.StripeProcessor` (the official SDK) over
HTTP to the fake's ``/fake/v1`` on a local uvicorn, as ``test_stripe_adapter`` runs it — the same actions as
on the fake, the caller's idempotency key on the wire, and a repeat that sends no request at all."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from remit import billing
from remit.billing.action_retention import prune_actions
from remit.clock import FrozenClock
from remit.db.tables import accounts, billing_actions
from remit.processor.fake import CollectingDelivery
from remit.processor.stripe import StripeProcessor
from remit.runtime import Runtime
from remit.telemetry import spans
from tests.support.fake_server import ServedFake, serve_fake

# The SDK's httpx client passes form bodies as ``data=str``, which httpx deprecates; not ours to change.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


@pytest.fixture
async def live(rt: Runtime, collected: CollectingDelivery) -> AsyncIterator[ServedFake]:
    """``rt`` on the Stripe adapter against the served fake, with packages priced in the fake's catalogue."""
    async with serve_fake(rt, delivery=collected, clock=rt.clock, secret="whsec_adapter") as served:
        packages: dict[str, Any] = {}
        for slug, amount, quota in (("starter", 1500, 100_000), ("pro", 4900, 1_100_000)):
            product = await served.fake.create_product(name=slug, idempotency_key=f"product-{slug}")
            price = await served.fake.create_price(
                product=product["id"], unit_amount=amount, idempotency_key=f"price-{slug}"
            )
            packages[slug] = {"price": price["id"], "tokens_quota": quota, "name": slug.title()}
        rt.settings = rt.settings.model_copy(update={"packages_spec": json.dumps(packages)})
        adapter = StripeProcessor("sk_test_remit", api_base=served.base, timeout=5.0)
        rt.processor = adapter
        served.wire.requests.clear()
        try:
            yield served
        finally:
            await adapter.close()


async def test_the_actions_through_the_sdk_and_repeats_send_nothing(rt: Runtime, live: ServedFake) -> None:
    seen: list[spans.SpanEvent] = []
    detach = spans.attach(seen.append)

    async def twice(action: Any, *args: Any, **kwargs: Any) -> billing.ActionResult:
        first = await action(rt, *args, **kwargs)
        sent = len(live.wire.requests)
        posts = [r for r in live.wire.requests if r[0] in ("POST", "DELETE")]
        assert posts[-1][2] == kwargs["idempotency_key"]  # the caller's key reached the processor
        again = await action(rt, *args, **kwargs)
        assert len(live.wire.requests) == sent  # no request at all
        assert again.replayed
        assert again.object == first.object
        return first

    try:
        customer = await twice(
            billing.create_customer, idempotency_key="s-1", payment_method="pm_card_visa", account_id="acct_live"
        )
        checkout = await twice(
            billing.create_checkout_session,
            account_id="acct_live",
            package="pro",
            idempotency_key="s-2",
            success_url="https://app.example/ok",
        )
        assert checkout.object["customer"] == customer.id
        assert checkout.object["metadata"] == {"remit_account_id": "acct_live", "remit_package": "pro"}
        portal = await twice(
            billing.create_portal_session, idempotency_key="s-3", account_id="acct_live", return_url="https://a"
        )
        assert str(portal.url).startswith("https://")
        sub = await twice(billing.subscribe, customer=str(customer.id), package="starter", idempotency_key="s-4")
        assert sub.object["status"] == "active"
        changed = await twice(
            billing.change_plan, str(sub.id), idempotency_key="s-5", package="pro", proration_behavior="none"
        )
        assert (
            changed.object["items"]["data"][0]["price"]["id"]
            == json.loads(rt.settings.packages_spec or "")["pro"]["price"]
        )
        ending = await twice(billing.cancel_subscription, str(sub.id), idempotency_key="s-6", at_period_end=True)
        assert ending.object["cancel_at_period_end"] is True
        resumed = await twice(billing.resume_subscription, str(sub.id), idempotency_key="s-7")
        assert resumed.object["cancel_at_period_end"] is False
        canceled = await twice(billing.cancel_subscription, str(sub.id), idempotency_key="s-8")
        assert canceled.object["status"] == "canceled"
        updated = await twice(billing.update_customer, str(customer.id), idempotency_key="s-9", name="Ada")
        assert updated.object["name"] == "Ada"
    finally:
        detach()
    assert {e.metadata["processor"] for e in seen} == {"stripe"}
    assert all(e.metadata["customer_id"] == customer.id for e in seen if e.phase == "stop")
    async with rt.db.connect() as conn:
        rows = (await conn.execute(sa.select(billing_actions))).mappings().all()
        account = (await conn.execute(sa.select(accounts))).mappings().one()
    assert {r["processor"] for r in rows} == {"stripe"}
    assert len(rows) == 9
    assert (account["id"], account["customer_id"], account["package_slug"]) == ("acct_live", customer.id, "pro")


async def test_a_refusal_through_the_sdk_is_stored_and_a_package_without_price_is_refused_first(
    rt: Runtime, live: ServedFake
) -> None:
    with pytest.raises(billing.ActionRefused) as refused:
        await billing.cancel_subscription(rt, "sub_missing", idempotency_key="r-1")
    assert (refused.value.status, refused.value.code) == (404, "resource_missing")
    sent = len(live.wire.requests)
    with pytest.raises(billing.ActionRefused):
        await billing.cancel_subscription(rt, "sub_missing", idempotency_key="r-1")
    assert len(live.wire.requests) == sent

    rt.settings = rt.settings.model_copy(update={"packages_spec": json.dumps({"free": {"tokens_quota": 10}})})
    with pytest.raises(billing.InvalidActionRequest) as unpriced:
        await billing.create_checkout_session(
            rt, account_id="acct_f", package="free", idempotency_key="r-2", success_url="https://a"
        )
    assert (unpriced.value.param, unpriced.value.code) == ("package", "package_without_price")
    assert len(live.wire.requests) == sent


async def test_inside_the_callers_transaction_on_the_adapter(rt: Runtime, live: ServedFake, db_url: str) -> None:
    if db_url.startswith("sqlite"):
        pytest.skip(
            "the served stand-in keeps its world in this very SQLite file, so its own transaction would wait for "
            "the caller's write lock; a real processor shares no database (covered on PostgreSQL)"
        )
    async with rt.db.begin() as conn:
        session = await billing.create_checkout_session(
            conn, account_id="acct_tx", package="starter", idempotency_key="t-1", success_url="https://a"
        )
        await conn.execute(sa.text("SELECT 1"))
    again = await billing.create_checkout_session(
        rt, account_id="acct_tx", package="starter", idempotency_key="t-1", success_url="https://a"
    )
    assert (again.replayed, again.id) == (True, session.id)


async def test_joining_and_package_prices_are_the_processors_own(rt: Runtime, live: ServedFake) -> None:
    """Billing calls both through the protocol: the adapter joins nothing and has no demo catalogue; the fake
    joins the caller's transaction and prices a demo package once (the same price every time)."""
    async with rt.db.begin() as conn:
        assert isinstance(rt.processor.joining(conn), contextlib.nullcontext)
    assert await rt.processor.package_price(slug="starter", name="Starter") is None
    assert len(live.wire.requests) == 0
    first = await live.fake.package_price(slug="starter", name="Starter")
    assert first == await live.fake.package_price(slug="starter", name="Starter")
    price = await live.fake.engine.call("GET", f"/v1/prices/{first}")
    assert (price.body["unit_amount"], price.body["recurring"]["interval"]) == (1500, "month")


async def test_a_session_made_through_the_sdk_expires_after_a_day_and_its_url_is_blanked(
    rt: Runtime, live: ServedFake
) -> None:
    body: dict[str, Any] = {"account_id": "acct_exp", "package": "pro", "success_url": "https://app.example/ok"}
    checkout = await billing.create_checkout_session(rt, idempotency_key="e-1", **body)
    assert str(checkout.url).startswith("https://")
    assert isinstance(rt.clock, FrozenClock)
    rt.clock.advance(timedelta(hours=24, seconds=1))
    sent = len(live.wire.requests)
    with pytest.raises(billing.SessionExpired):
        await billing.create_checkout_session(rt, idempotency_key="e-1", **body)
    assert len(live.wire.requests) == sent  # answered from the stored outcome: no request
    assert (await prune_actions(rt)).redacted == 1
    async with rt.db.connect() as conn:
        result = (await conn.execute(sa.select(billing_actions.c.result))).scalar_one()
    assert (result["id"], result["url"]) == (checkout.id, None)
