"""Which capabilities an ``account.updated`` lost, and which account an event is about (pure)."""

from __future__ import annotations

from remit.connect.events import LostCapability, account_of, lost_capabilities


def test_only_a_capability_that_was_active_and_is_not_any_more_counts() -> None:
    account = {"capabilities": {"card_payments": "pending", "transfers": "active", "tax_reporting": "inactive"}}
    previous = {"capabilities": {"card_payments": "active", "transfers": "pending", "tax_reporting": "pending"}}
    assert lost_capabilities(account, previous) == [LostCapability("card_payments", "pending")]


def test_a_capability_gone_from_the_account_is_lost_as_inactive_and_expanded_shapes_are_read() -> None:
    account = {"capabilities": {"transfers": {"status": "inactive"}}}
    previous = {"capabilities": {"card_payments": {"status": "active"}, "transfers": {"status": "active"}}}
    assert lost_capabilities(account, previous) == [
        LostCapability("card_payments", "inactive"),
        LostCapability("transfers", "inactive"),
    ]


def test_charges_and_payouts_switched_off_are_losses_and_switched_on_are_not() -> None:
    assert lost_capabilities({"charges_enabled": False, "payouts_enabled": False}, {"charges_enabled": True}) == [
        LostCapability("charges", "disabled")
    ]
    assert lost_capabilities({"payouts_enabled": True}, {"payouts_enabled": False}) == []


def test_an_update_of_anything_else_loses_nothing() -> None:
    assert lost_capabilities({"capabilities": {"card_payments": "active"}}, {"details_submitted": False}) == []
    assert lost_capabilities({}, {"capabilities": "not a mapping"}) == []


def test_the_account_is_the_envelopes_else_the_account_objects_own_id() -> None:
    assert account_of({"account": "acct_1", "data": {"object": {"id": "po_1", "object": "payout"}}}) == "acct_1"
    assert account_of({"data": {"object": {"id": "acct_2", "object": "account"}}}) == "acct_2"
    assert account_of({"data": {"object": {"id": "po_1", "object": "payout"}}}) is None
