"""Money movement: charging a payment method (the core every payment goes through), payment intents and their
capture, refunds, disputes, balance transactions and payouts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from remit.processor.fake.cards import DECLINE_CODES, Behavior
from remit.processor.fake.errors import CARD_ERROR, INVALID_REQUEST, ApiError, invalid, parameter_missing
from remit.processor.fake.ops import methods
from remit.processor.fake.params import Params, merge_metadata
from remit.processor.fake.shapes import payments as shapes
from remit.processor.fake.store import StoredObject, page
from remit.processor.fake.tx import Tx

DISPUTE_RESPONSE_DAYS = 7
_SUCCEEDING = {Behavior.SUCCEED, Behavior.DISPUTE, Behavior.INQUIRY}
_DECLINING = {Behavior.DECLINE, Behavior.INSUFFICIENT_FUNDS}
_ASYNC = {Behavior.ASYNC_SUCCEED, Behavior.ASYNC_FAIL}


@dataclass
class ChargeResult:
    """What one attempt to take money did."""

    payment_intent: dict[str, Any]
    charge: dict[str, Any] | None
    behavior: Behavior

    @property
    def succeeded(self) -> bool:
        return str(self.payment_intent["status"]) in {"succeeded", "requires_capture"}

    @property
    def processing(self) -> bool:
        return str(self.payment_intent["status"]) == "processing"

    @property
    def requires_action(self) -> bool:
        return str(self.payment_intent["status"]) == "requires_action"

    def card_error(self) -> ApiError:
        """The 402 Stripe answers for this attempt when it did not succeed."""
        if self.requires_action:
            return ApiError(
                402,
                INVALID_REQUEST,
                "This payment requires additional user action.",
                code="invoice_payment_intent_requires_action",
                extra={"payment_intent": {"id": self.payment_intent["id"]}},
            )
        error = self.payment_intent.get("last_payment_error") or {}
        return ApiError(
            402,
            CARD_ERROR,
            str(error.get("message") or "Your card was declined."),
            code=str(error.get("code") or "card_declined"),
            decline_code=error.get("decline_code"),
            extra={
                "charge": self.charge["id"] if self.charge else None,
                "payment_intent": {"id": self.payment_intent["id"]},
            },
        )


def will_succeed(pm: StoredObject | None) -> bool:
    """Whether charging ``pm`` would succeed at once (decided before anything is written)."""
    return pm is not None and methods.behavior_of(pm) in _SUCCEEDING


async def _balance_transaction(
    tx: Tx,
    *,
    amount: int,
    currency: str,
    source: str,
    type_: str,
    description: str | None,
    fee: int | None = None,
    category: str | None = None,
) -> dict[str, Any]:
    data = shapes.balance_transaction(
        await tx.new_id("balance_transaction"),
        created=tx.now,
        amount=amount,
        fee=shapes.processing_fee(amount) if fee is None else fee,
        currency=currency,
        source=source,
        type_=type_,
        description=description,
        reporting_category=category or type_,
    )
    return await tx.insert(data)


async def charge_payment_method(
    tx: Tx,
    *,
    amount: int,
    currency: str,
    customer: str | None,
    pm: StoredObject,
    description: str | None,
    invoice: str | None = None,
    capture: bool = True,
    metadata: dict[str, str] | None = None,
    shipping: dict[str, Any] | None = None,
) -> ChargeResult:
    """Make a payment intent for ``amount`` and confirm it with ``pm``; the card's behaviour decides the rest.

    Events, in Stripe's order: ``payment_intent.created``, then ``charge.succeeded`` +
    ``payment_intent.succeeded`` (or ``payment_intent.amount_capturable_updated`` for a manual capture),
    ``charge.failed`` + ``payment_intent.payment_failed``, ``payment_intent.requires_action``, or
    ``charge.pending`` + ``payment_intent.processing`` for bank debits; a disputing card then opens a dispute.
    """
    behavior = methods.behavior_of(pm)
    pi_id = await tx.new_id("payment_intent")
    pi = shapes.payment_intent(
        pi_id,
        created=tx.now,
        amount=amount,
        currency=currency,
        customer=customer,
        description=description,
        invoice=invoice,
        payment_method=pm.id,
        payment_method_types=[str(pm.data.get("type", "card"))],
        capture_method="automatic" if capture else "manual",
        status="requires_confirmation",
        metadata=metadata,
        shipping=shipping,
    )
    await tx.insert(pi)
    await tx.emit("payment_intent.created", pi)
    result = ChargeResult(pi, None, behavior)
    if behavior is Behavior.REQUIRES_ACTION:
        pi.update(
            status="requires_action",
            next_action={
                "type": "use_stripe_sdk",
                "use_stripe_sdk": {"type": "three_d_secure_redirect", "stripe_js": ""},
            },
        )
        await tx.save(pi)
        await tx.emit("payment_intent.requires_action", pi)
        return result
    charge_id = await tx.new_id("charge")
    if behavior in _DECLINING:
        decline_code, message = DECLINE_CODES[behavior]
        ch = shapes.charge(
            charge_id,
            created=tx.now,
            amount=amount,
            currency=currency,
            customer=customer,
            description=description,
            invoice=invoice,
            payment_intent=pi_id,
            pm=pm.data,
            status="failed",
            captured=False,
            balance_transaction=None,
            failure_code="card_declined",
            failure_message=message,
            decline_code=decline_code,
            metadata=metadata,
        )
        await tx.insert(ch)
        pi.update(
            status="requires_payment_method",
            payment_method=None,
            last_payment_error={
                "charge": charge_id,
                "code": "card_declined",
                "decline_code": decline_code,
                "doc_url": "https://stripe.com/docs/error-codes/card-declined",
                "message": message,
                "payment_method": pm.data,
                "type": "card_error",
            },
        )
        _add_charge(pi, ch)
        await tx.save(pi)
        await tx.emit("charge.failed", ch)
        await tx.emit("payment_intent.payment_failed", pi)
        return ChargeResult(pi, ch, behavior)
    if behavior in _ASYNC:
        ch = shapes.charge(
            charge_id,
            created=tx.now,
            amount=amount,
            currency=currency,
            customer=customer,
            description=description,
            invoice=invoice,
            payment_intent=pi_id,
            pm=pm.data,
            status="pending",
            captured=True,
            balance_transaction=None,
            metadata=metadata,
        )
        await tx.insert(ch)
        pi.update(status="processing", processing={"type": pm.data.get("type")})
        _add_charge(pi, ch)
        await tx.save(pi)
        await tx.emit("charge.pending", ch)
        await tx.emit("payment_intent.processing", pi)
        return ChargeResult(pi, ch, behavior)
    txn = None
    if capture:
        txn = await _balance_transaction(
            tx, amount=amount, currency=currency, source=charge_id, type_="charge", description=description
        )
    ch = shapes.charge(
        charge_id,
        created=tx.now,
        amount=amount,
        currency=currency,
        customer=customer,
        description=description,
        invoice=invoice,
        payment_intent=pi_id,
        pm=pm.data,
        status="succeeded",
        captured=capture,
        balance_transaction=txn["id"] if txn else None,
        metadata=metadata,
    )
    await tx.insert(ch)
    if capture:
        pi.update(status="succeeded", amount_received=amount)
    else:
        pi.update(status="requires_capture", amount_capturable=amount)
    _add_charge(pi, ch)
    await tx.save(pi)
    await tx.emit("charge.succeeded", ch)
    await tx.emit("payment_intent.succeeded" if capture else "payment_intent.amount_capturable_updated", pi)
    if behavior in {Behavior.DISPUTE, Behavior.INQUIRY}:
        await open_dispute(tx, ch, inquiry=behavior is Behavior.INQUIRY)
    return ChargeResult(pi, ch, behavior)


async def settle_async(tx: Tx, result: ChargeResult) -> ChargeResult:
    """A bank debit settles: ``charge.succeeded`` + ``payment_intent.succeeded``, or the failed pair."""
    pi, ch = result.payment_intent, result.charge
    if ch is None or not result.processing:
        return result
    if result.behavior is Behavior.ASYNC_SUCCEED:
        txn = await _balance_transaction(
            tx,
            amount=ch["amount"],
            currency=ch["currency"],
            source=ch["id"],
            type_="charge",
            description=ch["description"],
        )
        ch.update(
            status="succeeded",
            paid=True,
            amount_captured=ch["amount"],
            balance_transaction=txn["id"],
            outcome=shapes.outcome(True),
        )
        pi.update(status="succeeded", amount_received=ch["amount"], processing=None)
        event_ch, event_pi = "charge.succeeded", "payment_intent.succeeded"
    else:
        decline_code, message = DECLINE_CODES[Behavior.ASYNC_FAIL]
        ch.update(
            status="failed",
            captured=False,
            failure_code=decline_code,
            failure_message=message,
            outcome=shapes.outcome(False, decline_code),
        )
        pi.update(
            status="requires_payment_method",
            processing=None,
            last_payment_error={"charge": ch["id"], "code": decline_code, "message": message, "type": "card_error"},
        )
        event_ch, event_pi = "charge.failed", "payment_intent.payment_failed"
    _add_charge(pi, ch)
    await tx.save(ch)
    await tx.save(pi)
    await tx.emit(event_ch, ch)
    await tx.emit(event_pi, pi)
    return result


def _add_charge(pi: dict[str, Any], ch: dict[str, Any]) -> None:
    charges = [c for c in pi["charges"]["data"] if c["id"] != ch["id"]] + [ch]
    pi["charges"] = dict(pi["charges"], data=charges, total_count=len(charges))


async def open_dispute(tx: Tx, ch: dict[str, Any], *, inquiry: bool) -> dict[str, Any]:
    """The cardholder disputes ``ch``: ``charge.dispute.created``; a real dispute (not an inquiry) also takes
    the money and the dispute fee back (``charge.dispute.funds_withdrawn``)."""
    dispute_id = await tx.new_id("dispute")
    withdrawals: list[dict[str, Any]] = []
    if not inquiry:
        withdrawals.append(
            await _balance_transaction(
                tx,
                amount=-int(ch["amount"]),
                currency=ch["currency"],
                source=dispute_id,
                type_="adjustment",
                description=f"Chargeback withdrawal for {ch['id']}",
                fee=shapes.DISPUTE_FEE,
                category="dispute",
            )
        )
    dp = shapes.dispute(
        dispute_id,
        created=tx.now,
        charge_=ch,
        reason="general" if inquiry else "fraudulent",
        status="warning_needs_response" if inquiry else "needs_response",
        balance_transactions=withdrawals,
        due_by=tx.now + DISPUTE_RESPONSE_DAYS * 86400,
    )
    await tx.insert(dp)
    before = dict(ch)
    ch.update(disputed=True, dispute=dispute_id)
    await tx.save(ch)
    await tx.emit("charge.dispute.created", dp)
    if withdrawals:
        await tx.emit("charge.dispute.funds_withdrawn", dp)
    await tx.emit("charge.updated", ch, before=before)
    return dp


async def create_payment_intent(tx: Tx, p: Params) -> dict[str, Any]:
    """``POST /v1/payment_intents``; with ``confirm`` it charges at once (a decline answers 402)."""
    amount = p.integer("amount")
    if amount is None:
        raise parameter_missing("amount")
    currency = (p.string("currency") or "usd").lower()
    customer = p.string("customer")
    if customer:
        await tx.get(customer, "customer", param="customer")
    metadata = merge_metadata({}, p.raw("metadata"))
    pm_ref = p.string("payment_method")
    if not p.boolean("confirm", False) or not pm_ref:
        pi = shapes.payment_intent(
            await tx.new_id("payment_intent"),
            created=tx.now,
            amount=amount,
            currency=currency,
            customer=customer,
            description=p.string("description"),
            invoice=None,
            payment_method=None,
            payment_method_types=p.strings("payment_method_types") or ["card"],
            capture_method=p.string("capture_method", "automatic") or "automatic",
            status="requires_payment_method",
            metadata=metadata,
        )
        await tx.insert(pi)
        await tx.emit("payment_intent.created", pi)
        return pi
    pm = await methods.resolve(tx, pm_ref)
    result = await charge_payment_method(
        tx,
        amount=amount,
        currency=currency,
        customer=customer,
        pm=pm,
        description=p.string("description"),
        capture=p.string("capture_method", "automatic") != "manual",
        metadata=metadata,
        shipping=p.mapping("shipping") or None,
    )
    if not (result.succeeded or result.processing):
        if result.requires_action:
            return result.payment_intent
        tx.error = result.card_error()
    return result.payment_intent


async def capture_payment_intent(tx: Tx, p: Params, pi_id: str) -> dict[str, Any]:
    """``POST /v1/payment_intents/{id}/capture``: ``charge.captured`` + ``payment_intent.succeeded``."""
    pi = (await tx.get(pi_id, "payment_intent")).data
    if pi["status"] != "requires_capture":
        raise invalid(
            f"This PaymentIntent could not be captured because it has a status of {pi['status']}.",
            code="payment_intent_unexpected_state",
        )
    ch = (await tx.get(pi["charges"]["data"][-1]["id"], "charge")).data
    amount = p.integer("amount_to_capture", ch["amount"]) or ch["amount"]
    txn = await _balance_transaction(
        tx, amount=amount, currency=ch["currency"], source=ch["id"], type_="charge", description=ch["description"]
    )
    before = dict(ch)
    ch.update(captured=True, amount_captured=amount, balance_transaction=txn["id"])
    pi.update(status="succeeded", amount_capturable=0, amount_received=amount)
    _add_charge(pi, ch)
    await tx.save(ch)
    await tx.save(pi)
    await tx.emit("charge.captured", ch, before=before)
    await tx.emit("payment_intent.succeeded", pi)
    return pi


async def retrieve_payment_intent(tx: Tx, p: Params, pi_id: str) -> dict[str, Any]:
    return (await tx.get(pi_id, "payment_intent")).data


async def retrieve_charge(tx: Tx, p: Params, charge_id: str) -> dict[str, Any]:
    return (await tx.get(charge_id, "charge")).data


async def list_charges(tx: Tx, p: Params) -> dict[str, Any]:
    customer = p.string("customer")
    items = [obj.data for obj in await tx.list("charge", customer=customer)]
    return page(items, url="/v1/charges", limit=p.integer("limit"), starting_after=p.string("starting_after"))


async def create_refund(tx: Tx, p: Params) -> dict[str, Any]:
    """``POST /v1/refunds``: the charge shows the refund (``charge.refunded``, previous amounts included)."""
    charge_id = p.string("charge")
    if not charge_id:
        pi_id = p.string("payment_intent")
        if not pi_id:
            raise parameter_missing("charge")
        pi = (await tx.get(pi_id, "payment_intent", param="payment_intent")).data
        succeeded = [c for c in pi["charges"]["data"] if c["status"] == "succeeded"]
        if not succeeded:
            raise invalid(
                "This PaymentIntent does not have a successful charge to refund.",
                param="payment_intent",
                code="charge_not_refundable",
            )
        charge_id = succeeded[-1]["id"]
    ch = (await tx.get(charge_id, "charge", param="charge")).data
    if ch["status"] != "succeeded" or not ch["captured"]:
        raise invalid(f"Charge {charge_id} has not been captured and cannot be refunded.", code="charge_not_refundable")
    remaining = int(ch["amount_captured"]) - int(ch["amount_refunded"])
    amount = p.integer("amount", remaining)
    if amount is None or amount <= 0 or amount > remaining:
        code = "charge_already_refunded" if remaining == 0 else "amount_too_large"
        raise invalid(
            f"Refund amount ({amount}) is greater than unrefunded amount on charge ({remaining})",
            param="amount",
            code=code,
        )
    refund_id = await tx.new_id("refund")
    txn = await _balance_transaction(
        tx,
        amount=-amount,
        currency=ch["currency"],
        source=refund_id,
        type_="refund",
        description="REFUND FOR CHARGE",
        fee=0,
    )
    re = shapes.refund(
        refund_id,
        created=tx.now,
        amount=amount,
        currency=ch["currency"],
        charge=charge_id,
        payment_intent=ch.get("payment_intent"),
        reason=p.string("reason"),
        balance_transaction=txn["id"],
        metadata=merge_metadata({}, p.raw("metadata")),
    )
    await tx.insert(re)
    before = _refund_view(ch)
    refunds = [re, *ch["refunds"]["data"]]
    ch.update(
        amount_refunded=int(ch["amount_refunded"]) + amount,
        refunded=int(ch["amount_refunded"]) + amount >= int(ch["amount_captured"]),
        refunds=dict(ch["refunds"], data=refunds, total_count=len(refunds)),
    )
    await tx.save(ch)
    await tx.emit("charge.refunded", ch, before=dict(ch, **before))
    return re


def _refund_view(ch: dict[str, Any]) -> dict[str, Any]:
    return {"amount_refunded": ch["amount_refunded"], "refunded": ch["refunded"], "refunds": ch["refunds"]}


async def retrieve_refund(tx: Tx, p: Params, refund_id: str) -> dict[str, Any]:
    return (await tx.get(refund_id, "refund")).data


async def retrieve_dispute(tx: Tx, p: Params, dispute_id: str) -> dict[str, Any]:
    return (await tx.get(dispute_id, "dispute")).data


async def close_dispute(tx: Tx, p: Params, dispute_id: str) -> dict[str, Any]:
    """``POST /v1/disputes/{id}/close``: accept the dispute (``charge.dispute.closed``, status ``lost``)."""
    before = (await tx.get(dispute_id, "dispute")).data
    after = dict(before, status="lost", is_charge_refundable=False)
    await tx.save(after)
    await tx.emit("charge.dispute.closed", after, before=before)
    return after


async def retrieve_balance_transaction(tx: Tx, p: Params, txn_id: str) -> dict[str, Any]:
    return (await tx.get(txn_id, "balance_transaction")).data


async def create_payout(tx: Tx, p: Params) -> dict[str, Any]:
    amount = p.integer("amount")
    if amount is None:
        raise parameter_missing("amount")
    currency = (p.string("currency") or "usd").lower()
    payout_id = await tx.new_id("payout")
    txn = await _balance_transaction(
        tx,
        amount=-amount,
        currency=currency,
        source=payout_id,
        type_="payout",
        description=p.string("description"),
        fee=0,
    )
    data = shapes.payout(
        payout_id,
        created=tx.now,
        amount=amount,
        currency=currency,
        description=p.string("description"),
        balance_transaction=txn["id"],
        metadata=merge_metadata({}, p.raw("metadata")),
    )
    await tx.insert(data)
    await tx.emit("payout.created", data)
    return data


async def update_payout(tx: Tx, p: Params, payout_id: str) -> dict[str, Any]:
    before = (await tx.get(payout_id, "payout")).data
    after = dict(before, metadata=merge_metadata(before["metadata"], p.raw("metadata")))
    if after != before:
        await tx.save(after)
        await tx.emit("payout.updated", after, before=before)
    return after


__all__ = [
    "ChargeResult",
    "capture_payment_intent",
    "charge_payment_method",
    "close_dispute",
    "create_payment_intent",
    "create_payout",
    "create_refund",
    "list_charges",
    "open_dispute",
    "retrieve_balance_transaction",
    "retrieve_charge",
    "retrieve_dispute",
    "retrieve_payment_intent",
    "retrieve_refund",
    "settle_async",
    "update_payout",
    "will_succeed",
]
