"""Revenue loss: the reasons remit names, and how each is recognised (pure), and raising one once.

Reasons (``docs/money.md`` lists the same):

- ``dispute_lost`` — a dispute closed ``lost``: the disputed amount is gone, and the dispute fee with it;
- ``refund_fee_not_returned`` — a refund whose balance transaction returned less of the original charge's fee
  than its share (Stripe keeps the processing fee on refunds): the fee kept is the loss;
- ``refund_exceeds_net`` — refunds of a charge took more out of the balance (their balance transactions' net,
  so a fee returned with a refund counts for the business) than the charge's net put in: the business paid out
  more than it ever received for it. A full refund whose fee the processor kept raises this and
  ``refund_fee_not_returned`` for the same money, seen two ways: do not add the two reasons' amounts.

A :class:`Loss` is keyed by its reason and subject, so the reconciler and the webhook handler, however often
they run, raise it once (:func:`remit.money.signals.claim`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from remit.money.failures import ident, integer, text
from remit.money.signals import Signal


class LossReason(StrEnum):
    DISPUTE_LOST = "dispute_lost"
    REFUND_FEE_NOT_RETURNED = "refund_fee_not_returned"
    REFUND_EXCEEDS_NET = "refund_exceeds_net"


@dataclass(frozen=True, slots=True)
class Loss:
    reason: LossReason
    object_type: str
    object_id: str
    charge_id: str | None
    amount: int
    fee: int
    currency: str | None

    @property
    def signal(self) -> Signal:
        return Signal(
            "revenue_loss",
            f"revenue_loss:{self.reason.value}:{self.object_id}",
            self.object_type,
            self.object_id,
            reason=self.reason.value,
            amount=self.amount,
            currency=self.currency,
        )

    def fields(self) -> dict[str, Any]:
        """What ``revenue_loss`` carries."""
        return {
            "reason": self.reason.value,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "charge_id": self.charge_id,
            "amount": self.amount,
            "fee": self.fee,
            "currency": self.currency,
        }


def dispute_loss(dispute: Mapping[str, Any]) -> Loss | None:
    """A dispute closed ``lost``: its amount and the fees its balance transactions withdrew."""
    dispute_id = ident(dispute.get("id"))
    if dispute_id is None or dispute.get("status") != "lost":
        return None
    fee = 0
    for txn in dispute.get("balance_transactions") or ():
        if isinstance(txn, Mapping):
            fee += integer(txn.get("fee")) or 0
    return Loss(
        LossReason.DISPUTE_LOST,
        "dispute",
        dispute_id,
        ident(dispute.get("charge")),
        integer(dispute.get("amount")) or 0,
        fee,
        text(dispute.get("currency")),
    )


def refund_fee_loss(
    refund_id: str,
    charge_id: str | None,
    refund_amount: int,
    refund_fee: int,
    charge_amount: int,
    charge_fee: int,
    currency: str,
) -> Loss | None:
    """A refund that returned less than its share of the charge's fee (``refund_fee`` is the refund's balance
    transaction fee: negative when fee was returned). The fee kept is the loss."""
    if charge_amount <= 0 or charge_fee <= 0:
        return None
    share = charge_fee * refund_amount // charge_amount
    returned = -refund_fee if refund_fee < 0 else 0
    kept = share - returned
    if kept <= 0:
        return None
    return Loss(LossReason.REFUND_FEE_NOT_RETURNED, "refund", refund_id, charge_id, kept, kept, currency)


def refund_exceeds_net(
    charge_id: str, refunded_total: int, charge_net: int, currency: str, last_refund_id: str | None
) -> Loss | None:
    """Refunds of ``charge_id`` that took more out of the balance (``refunded_total``: minus the sum of their
    balance transactions' net) than the charge's net put in: the excess is the loss."""
    excess = refunded_total - charge_net
    if excess <= 0:
        return None
    return Loss(LossReason.REFUND_EXCEEDS_NET, "charge", charge_id, charge_id, excess, 0, currency)


__all__ = ["Loss", "LossReason", "dispute_loss", "refund_exceeds_net", "refund_fee_loss"]
