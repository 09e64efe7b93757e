"""Stripe's test payment methods and how each behaves when charged.

Stripe's documentation gives magic payment methods (``pm_card_visa``, ``pm_card_chargeCustomerFail``…) and
tokens (``tok_visa``…) whose charges succeed, decline, ask for authentication or get disputed. The fake knows
the ones remit and ``stripe trigger`` use; attaching one creates a fresh ``pm_fake…`` whose behaviour is kept
in the object's private bookkeeping, so a later charge knows what to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Behavior(StrEnum):
    SUCCEED = "succeed"
    DECLINE = "decline"  # attaches fine, every charge declines
    INSUFFICIENT_FUNDS = "insufficient_funds"
    REQUIRES_ACTION = "requires_action"  # 3-D Secure needed: the payment waits for the customer
    DISPUTE = "dispute"  # succeeds, then a fraud dispute opens
    INQUIRY = "inquiry"  # succeeds, then an inquiry (warning) opens
    ASYNC_SUCCEED = "async_succeed"  # bank debits: processing, then succeeded
    ASYNC_FAIL = "async_fail"  # bank debits: processing, then failed


@dataclass(frozen=True, slots=True)
class TestCard:
    brand: str
    last4: str
    behavior: Behavior
    funding: str = "credit"
    country: str = "US"
    type: str = "card"


VISA = TestCard("visa", "4242", Behavior.SUCCEED)

#: Magic ids (``pm_card_*`` and ``tok_*``, with and without the prefix) → the card they stand for.
TEST_CARDS: dict[str, TestCard] = {
    "visa": VISA,
    "visa_debit": TestCard("visa", "5556", Behavior.SUCCEED, funding="debit"),
    "mastercard": TestCard("mastercard", "4444", Behavior.SUCCEED),
    "amex": TestCard("amex", "8431", Behavior.SUCCEED),
    "bypassPending": TestCard("visa", "0077", Behavior.SUCCEED),
    "chargeCustomerFail": TestCard("visa", "0341", Behavior.DECLINE),
    "chargeDeclined": TestCard("visa", "0002", Behavior.DECLINE),
    "visa_chargeDeclined": TestCard("visa", "0002", Behavior.DECLINE),
    "chargeDeclinedInsufficientFunds": TestCard("visa", "9995", Behavior.INSUFFICIENT_FUNDS),
    "threeDSecure2Required": TestCard("visa", "3220", Behavior.REQUIRES_ACTION),
    "authenticationRequired": TestCard("visa", "3184", Behavior.REQUIRES_ACTION),
    "createDispute": TestCard("visa", "0259", Behavior.DISPUTE),
    "createDisputeInquiry": TestCard("visa", "1976", Behavior.INQUIRY),
}

#: Test IBANs (SEPA debits settle later): which settle and which fail.
TEST_IBANS: dict[str, Behavior] = {
    "AT611904300234573201": Behavior.ASYNC_SUCCEED,
    "AT861904300235473202": Behavior.ASYNC_FAIL,
    "IT60X0542811101000000123456": Behavior.ASYNC_FAIL,
}


def magic_card(reference: str) -> TestCard | None:
    """The test card a magic reference names (``pm_card_visa``, ``tok_visa``, ``card_visa``), else None."""
    for prefix in ("pm_card_", "tok_", "card_"):
        if reference.startswith(prefix):
            return TEST_CARDS.get(reference[len(prefix) :])
    return None


def iban_behavior(iban: str) -> Behavior:
    return TEST_IBANS.get(iban.replace(" ", "").upper(), Behavior.ASYNC_SUCCEED)


DECLINE_CODES: dict[Behavior, tuple[str, str]] = {
    Behavior.DECLINE: ("generic_decline", "Your card was declined."),
    Behavior.INSUFFICIENT_FUNDS: ("insufficient_funds", "Your card has insufficient funds."),
    Behavior.ASYNC_FAIL: ("insufficient_funds", "The bank account has insufficient funds."),
}


__all__ = ["DECLINE_CODES", "TEST_CARDS", "TEST_IBANS", "VISA", "Behavior", "TestCard", "iban_behavior", "magic_card"]
