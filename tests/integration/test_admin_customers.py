"""The admin page's customers on both databases: the mirrored customer with its subscriptions, invoices,
charges, mail and ledger timeline, each linked to the processor's dashboard; PII on the page only."""

from __future__ import annotations

import pytest

from remit.processor.dashboard import dashboard_url
from remit.runtime import Runtime
from tests.support.admin import browser, login, password_hash
from tests.support.customers import CUSTOMER, EMAIL, seed

pytestmark = pytest.mark.webhook_settings(REMIT_ADMIN_PASSWORD_HASH=password_hash())


def test_dashboard_links_follow_stripe_s_paths_and_mode() -> None:
    assert dashboard_url("stripe", "customer", "cus_1", livemode=True) == "https://dashboard.stripe.com/customers/cus_1"
    assert (
        dashboard_url("stripe", "charge", "ch_1", livemode=False) == "https://dashboard.stripe.com/test/payments/ch_1"
    )
    assert (
        dashboard_url("stripe", "invoice", "in_1", livemode=False) == "https://dashboard.stripe.com/test/invoices/in_1"
    )
    assert dashboard_url("fake", "customer", "cus_1", livemode=False) is None
    assert dashboard_url("stripe", "price", "price_1", livemode=False) is None


async def test_a_customer_page_shows_every_layer_with_its_dashboard_link_and_pii_only_after_login(rt: Runtime) -> None:
    await seed(rt)
    async with browser(rt) as client:
        before = await client.get(f"/admin/customers/{CUSTOMER}")
        assert before.status_code == 303  # to the login form: nothing shown
        assert EMAIL not in before.text
        await login(client)
        listing = await client.get("/admin/customers")
        assert f'id="customer-{CUSTOMER}"' in listing.text
        assert EMAIL in listing.text
        page = await client.get(f"/admin/customers/{CUSTOMER}")
        assert page.status_code == 200
        text = page.text
        assert EMAIL in text
        for table, object_id in (
            ("subscriptions", "sub_fakefakefakefakefake0001"),
            ("invoices", "in_fakefakefakefakefake0001"),
            ("charges", "ch_fakefakefakefakefake0001"),
        ):
            assert object_id in text.split(f'id="{table}"')[1].split("</table>")[0]
        assert "receipt" in text.split('id="mail"')[1].split("</table>")[0]
        assert "invoice:in_fakefakefakefakefake0001" in text.split('id="timeline"')[1].split("</table>")[0]
        assert "no dashboard (fake)" in text  # the fake processor has none
        opened = await client.get("/admin/customers", params={"id": CUSTOMER})
        assert opened.status_code == 200
        assert EMAIL in opened.text
        assert (await client.get("/admin/customers/cus_nobody")).status_code == 404
        assert (await client.get("/admin/customers", params={"id": "a@b.c"})).status_code == 400


@pytest.mark.webhook_settings(
    REMIT_ADMIN_PASSWORD_HASH=password_hash(), REMIT_PROCESSOR="stripe", STRIPE_API_KEY="sk_test_admin_page_links"
)
async def test_with_stripe_every_object_links_to_its_dashboard_page(rt: Runtime) -> None:
    await seed(rt)
    async with browser(rt) as client:
        await login(client)
        text = (await client.get(f"/admin/customers/{CUSTOMER}")).text
    for path in (
        f"customers/{CUSTOMER}",
        "subscriptions/sub_fakefakefakefakefake0001",
        "invoices/in_fakefakefakefakefake0001",
        "payments/ch_fakefakefakefakefake0001",
    ):
        assert f'href="https://dashboard.stripe.com/test/{path}"' in text
