"""What a balance transaction changes in the recorded fees (pure).

The fee reconciler lists the processor's balance transactions a hundred at a time; for each one whose source
is a charge or refund remit mirrors, :func:`decide` compares it with what ``remit_fees`` holds: nothing yet →
``record``; the same fee and net → ``unchanged``; different → ``drift`` (the processor adjusted them after
they were stored: a currency conversion settled, a fee corrected), which updates the row and keeps the old and
new numbers in ``remit_fee_drifts``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from remit.money.failures import ident, integer, text

#: Balance transaction types whose source is a charge, and those whose source is a refund.
CHARGE_TYPES = frozenset({"charge", "payment"})
REFUND_TYPES = frozenset({"refund", "payment_refund"})


class FeeOutcome(StrEnum):
    RECORD = "recorded"
    UNCHANGED = "unchanged"
    DRIFT = "drift"


@dataclass(frozen=True, slots=True)
class Txn:
    """The numbers of one balance transaction remit keeps."""

    id: str
    subject_type: str
    subject_id: str
    amount: int
    fee: int
    net: int
    currency: str
    created: int

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Txn | None:
        """A charge's or refund's balance transaction, or None for any other (payouts, adjustments…)."""
        kind = data.get("type")
        subject_type = "charge" if kind in CHARGE_TYPES else "refund" if kind in REFUND_TYPES else None
        txn_id, source = ident(data.get("id")), ident(data.get("source"))
        amount, fee, net = integer(data.get("amount")), integer(data.get("fee")), integer(data.get("net"))
        currency, created = text(data.get("currency")), integer(data.get("created"))
        if subject_type is None or txn_id is None or source is None or currency is None or created is None:
            return None
        if amount is None or fee is None or net is None:
            return None
        return cls(txn_id, subject_type, source, amount, fee, net, currency, created)


@dataclass(frozen=True, slots=True)
class Stored:
    fee: int
    net: int


def decide(txn: Txn, stored: Stored | None) -> FeeOutcome:
    if stored is None:
        return FeeOutcome.RECORD
    if (stored.fee, stored.net) == (txn.fee, txn.net):
        return FeeOutcome.UNCHANGED
    return FeeOutcome.DRIFT


__all__ = ["CHARGE_TYPES", "REFUND_TYPES", "FeeOutcome", "Stored", "Txn", "decide"]
