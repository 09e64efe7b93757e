"""A paid checkout becomes exactly one provisioning job and one trigger, in the webhook's transaction — under
duplicates delivered concurrently, out-of-order events and unpaid completions — with the payload the trigger
replays, identifiers only; a package remit cannot resolve gets no payload and says why."""

from __future__ import annotations

import asyncio
import json

from remit.runtime import Runtime
from tests.support.provisioning import checkout_event, provisioning_rows, trigger_jobs
from tests.support.webhooks import client_for, post_event


async def _deliver(rt: Runtime, *documents: dict[str, object]) -> None:
    async with client_for(rt) as client:
        for document in documents:
            assert (await post_event(client, rt, document)).status_code == 200
    await rt.drain(["remit_webhooks"])


async def test_a_paid_checkout_records_one_job_with_the_exact_payload_and_its_trigger(rt: Runtime) -> None:
    document = checkout_event(session_id="cs_test_paid_1", account_id="acct_1", package="pro", customer="cus_9")
    await _deliver(rt, document)
    [job] = await provisioning_rows(rt)
    assert job.stripe_session_id == "cs_test_paid_1"
    assert job.status == "enqueued"
    assert job.attempts == 0
    assert job.origin == "remit"
    assert job.trigger_payload == {
        "stripe_session_id": "cs_test_paid_1",
        "account_id": "acct_1",
        "package_slug": "pro",
        "tokens_quota": 1_100_000,
        "customer_id": "cus_9",
    }
    assert await trigger_jobs(rt) == 1
    text = json.dumps(job.trigger_payload)
    assert "@" not in text
    assert "customer_details" not in text


async def test_twenty_concurrent_deliveries_and_replays_make_one_job_and_one_trigger(rt: Runtime) -> None:
    document = checkout_event(session_id="cs_test_dupes")
    async with client_for(rt) as client:
        answers = await asyncio.gather(*(post_event(client, rt, document) for _ in range(20)))
    assert {a.status_code for a in answers} == {200}
    # The same session under other event ids (the processor's retries can be new events too), then the
    # delayed-payment success for it.
    again = checkout_event(session_id="cs_test_dupes")
    later = checkout_event("checkout.session.async_payment_succeeded", session_id="cs_test_dupes")
    await _deliver(rt, again, later)
    assert len(await provisioning_rows(rt)) == 1
    assert await trigger_jobs(rt) == 1


async def test_unpaid_completion_waits_and_async_success_provisions_in_either_order(rt: Runtime) -> None:
    unpaid = checkout_event(session_id="cs_test_delayed", payment_status="unpaid")
    await _deliver(rt, unpaid)
    assert await provisioning_rows(rt) == []
    await _deliver(rt, checkout_event("checkout.session.async_payment_succeeded", session_id="cs_test_delayed"))
    assert [j.stripe_session_id for j in await provisioning_rows(rt)] == ["cs_test_delayed"]
    # Out of order: the success first, its (unpaid) completion after; still one job.
    await _deliver(
        rt,
        checkout_event(
            "checkout.session.async_payment_succeeded", session_id="cs_test_reversed", created=1_700_000_100
        ),
        checkout_event(session_id="cs_test_reversed", payment_status="unpaid", created=1_700_000_000),
    )
    assert [j.stripe_session_id for j in await provisioning_rows(rt)] == ["cs_test_delayed", "cs_test_reversed"]
    assert await trigger_jobs(rt) == 2


async def test_unknown_package_and_unresolvable_outside_checkout_get_no_payload_and_say_why(rt: Runtime) -> None:
    await _deliver(
        rt,
        checkout_event(session_id="cs_test_unknown_pkg", package="enterprise"),
        checkout_event(session_id="cs_test_outside", account_id=None, package=None, customer="cus_outside"),
    )
    unknown, outside = await provisioning_rows(rt)
    assert unknown.trigger_payload is None
    assert unknown.payload_missing
    assert unknown.last_error is not None
    assert unknown.last_error.startswith("package_unknown")
    assert outside.trigger_payload is None
    assert outside.origin == "external"
    assert outside.account_id == "cus_outside"
    assert outside.last_error is not None
    assert outside.last_error.startswith("package_unresolved")
    assert await trigger_jobs(rt) == 0
