"""Which mail a processor event owes, and its idempotency key (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from remit.mail.kinds import MAX_KEY_LENGTH, SPECS, TRIGGERS, Audience, MailKind, MailRequest, mail_for_event, mail_key


def test_every_kind_but_the_card_notice_has_one_trigger() -> None:
    assert set(TRIGGERS.values()) == set(MailKind) - {MailKind.CARD_EXPIRING}
    assert SPECS[MailKind.CARD_EXPIRING].trigger is None
    assert [kind for kind, spec in SPECS.items() if spec.audience is Audience.OPERATOR] == [MailKind.DISPUTE_OPENED]


@pytest.mark.parametrize(
    ("event_type", "obj", "key"),
    [
        ("invoice.paid", {"id": "in_1", "customer": "cus_1", "amount_paid": 1500}, "receipt:in_1"),
        ("invoice.payment_failed", {"id": "in_1", "attempt_count": 2}, "payment_failed:in_1:2"),
        ("invoice.payment_action_required", {"id": "in_1", "attempt_count": 1}, "action_required:in_1:1"),
        (
            "customer.subscription.trial_will_end",
            {"id": "sub_1", "trial_end": 1800000000},
            "trial_ending:sub_1:1800000000",
        ),
        ("customer.subscription.deleted", {"id": "sub_1"}, "subscription_cancelled:sub_1"),
        ("charge.refunded", {"id": "ch_1", "amount_refunded": 500}, "refund_issued:ch_1:500"),
        ("charge.dispute.created", {"id": "dp_1", "charge": "ch_1"}, "dispute_opened:dp_1"),
    ],
)
def test_each_trigger_owes_its_mail_under_a_key_of_the_business_event(
    event_type: str, obj: dict[str, Any], key: str
) -> None:
    request = mail_for_event(event_type, obj)
    assert request is not None
    assert request.key == key
    assert request.kind is TRIGGERS[event_type]


def test_the_key_ignores_everything_but_the_business_event() -> None:
    first = mail_for_event("invoice.paid", {"id": "in_1", "amount_paid": 10, "status": "paid", "x": 1})
    again = mail_for_event("invoice.paid", {"id": "in_1", "amount_paid": 10, "customer": {"id": "cus_9"}})
    assert first is not None
    assert again is not None
    assert first.key == again.key
    assert again.customer_id == "cus_9"  # an expanded reference is read as its id
    second_refund = mail_for_event("charge.refunded", {"id": "ch_1", "amount_refunded": 900})
    assert second_refund is not None
    assert second_refund.key == "refund_issued:ch_1:900"  # a further partial refund is a new event


@pytest.mark.parametrize(
    ("event_type", "obj"),
    [
        ("invoice.paid", {"id": "in_1", "amount_paid": 0}),  # an invoice of nothing: no receipt
        ("invoice.paid", {"amount_paid": 10}),  # no id: nothing to key the mail on
        ("invoice.created", {"id": "in_1"}),  # no mail for this event
        ("charge.refunded", {"id": ""}),
    ],
)
def test_no_mail_is_owed(event_type: str, obj: dict[str, Any]) -> None:
    assert mail_for_event(event_type, obj) is None


def test_params_hold_identifiers_and_numbers_only() -> None:
    request = mail_for_event(
        "invoice.payment_failed", {"id": "in_1", "attempt_count": 3, "customer_email": "a@example.com"}
    )
    assert request is not None
    assert dict(request.params) == {"attempt": 3}


def test_a_long_key_keeps_a_readable_head_and_a_digest_of_the_whole() -> None:
    long_id = "pm_" + "x" * 300
    key = mail_key(MailKind.CARD_EXPIRING, long_id, "7")
    assert len(key) == MAX_KEY_LENGTH
    assert key.startswith("card_expiring:pm_xxx")
    assert key != mail_key(MailKind.CARD_EXPIRING, long_id, "30")
    assert MailRequest(MailKind.CARD_EXPIRING, long_id, "7").key == key
    assert mail_key(MailKind.RECEIPT, "in_1") == "receipt:in_1"
