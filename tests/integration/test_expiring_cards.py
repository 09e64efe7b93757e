"""Expiring-card notices against the fake processor, on SQLite and PostgreSQL: 30, 7 and 1 days before the
default card expires, at or past each threshold, once per card and threshold — a missed day caught up."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from remit.db.tables import mail_log
from remit.money.cards import expires_at, warn_expiring_cards
from tests.support.mail import PLANTED_EMAIL, mail_world


async def card_mail(world: Any) -> list[tuple[str, str]]:
    async with world.runtime.db.connect() as conn:
        rows = await conn.execute(
            sa.select(mail_log.c.key, mail_log.c.state)
            .where(mail_log.c.kind == "card_expiring")
            .order_by(mail_log.c.id)
        )
        return [(row.key, row.state) for row in rows]


async def test_each_threshold_once_with_a_missed_day_caught_up(db_url: str) -> None:
    async with mail_world(db_url) as world:
        customer = await world.customer()
        await world.drain()
        found = await world.fake.retrieve_customer(customer)
        pm = found["invoice_settings"]["default_payment_method"]
        card = (await world.fake.request("GET", f"/v1/payment_methods/{pm}"))["card"]
        expiry = expires_at(card["exp_month"], card["exp_year"])
        clock = world.runtime.clock
        month = f"{card['exp_year']:04d}-{card['exp_month']:02d}"

        clock.set(expiry - timedelta(days=45))
        assert (await warn_expiring_cards(world.runtime))["owed"] == 0
        clock.set(expiry - timedelta(days=30))  # exactly at the threshold
        assert (await warn_expiring_cards(world.runtime))["owed"] == 1
        assert (await warn_expiring_cards(world.runtime))["owed"] == 0  # the same day again: nothing new
        clock.set(expiry - timedelta(days=20))
        assert (await warn_expiring_cards(world.runtime))["owed"] == 0
        clock.set(expiry - timedelta(days=5))  # the run at 7 days was missed: caught up now
        assert (await warn_expiring_cards(world.runtime))["owed"] == 1
        clock.set(expiry - timedelta(hours=20))
        assert (await warn_expiring_cards(world.runtime))["owed"] == 1
        clock.set(expiry + timedelta(days=1))  # expired: nothing more
        assert (await warn_expiring_cards(world.runtime))["owed"] == 0
        await world.drain()

        assert await card_mail(world) == [
            (f"card_expiring:{pm}:{month}:30", "sent"),
            (f"card_expiring:{pm}:{month}:7", "sent"),
            (f"card_expiring:{pm}:{month}:1", "sent"),
        ]
        messages = world.sink.parsed()
        assert [message["To"] for message in messages] == [PLANTED_EMAIL] * 3
        texts = [str(message.get_body(preferencelist=("plain",)).get_content()) for message in messages]
        assert "in 30 days" in texts[0]
        assert "in 5 days" in texts[1]
