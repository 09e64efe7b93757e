"""Payment methods: creating them from Stripe's test references, attaching and detaching, card sources."""

from __future__ import annotations

from typing import Any

from remit.processor.fake.cards import VISA, Behavior, iban_behavior, magic_card
from remit.processor.fake.errors import invalid, parameter_missing
from remit.processor.fake.params import Params, merge_metadata
from remit.processor.fake.shapes import customers as shapes
from remit.processor.fake.store import StoredObject
from remit.processor.fake.tx import Tx

YEARS_VALID = 3


def behavior_of(pm: StoredObject) -> Behavior:
    return Behavior(pm.private.get("behavior", Behavior.SUCCEED.value))


def _exp_year(tx: Tx) -> int:
    return tx.moment.year + YEARS_VALID


async def _new_card_method(tx: Tx, reference: str, details: dict[str, Any] | None = None) -> StoredObject:
    card = magic_card(reference)
    if card is None:
        raise invalid(f"No such PaymentMethod: '{reference}'", param="payment_method", code="resource_missing")
    pm_id = await tx.new_id("payment_method")
    data = shapes.card_payment_method(
        pm_id, card, created=tx.now, customer=None, exp_year=_exp_year(tx), details=details
    )
    private = {"behavior": card.behavior.value}
    await tx.insert(data, private)
    return StoredObject(pm_id, "payment_method", None, tx.now, data, private, False)


async def create_payment_method(tx: Tx, p: Params) -> dict[str, Any]:
    """``POST /v1/payment_methods``: a card from a test token, or a SEPA debit from an IBAN. No event."""
    kind = p.string("type", "card")
    details = p.mapping("billing_details")
    if kind == "card":
        token = p.sub("card").string("token") or "tok_visa"
        return (await _new_card_method(tx, token, details)).data
    if kind == "sepa_debit":
        iban = p.sub("sepa_debit").string("iban")
        if not iban:
            raise parameter_missing("sepa_debit[iban]")
        pm_id = await tx.new_id("payment_method")
        data = shapes.sepa_payment_method(pm_id, iban, created=tx.now, customer=None, details=details)
        return await tx.insert(data, {"behavior": iban_behavior(iban).value})
    raise invalid(f"The payment method type {kind!r} is not supported by the fake processor.", param="type")


async def resolve(tx: Tx, reference: str, *, param: str = "payment_method") -> StoredObject:
    """An existing ``pm_…`` or a fresh one made from a test reference (``pm_card_visa``, ``tok_visa``)."""
    if magic_card(reference) is not None:
        return await _new_card_method(tx, reference)
    return await tx.get(reference, "payment_method", param=param)


async def attach(tx: Tx, reference: str, customer_id: str) -> StoredObject:
    """Attach to ``customer_id`` (``payment_method.attached``); already attached there is a no-op."""
    await tx.get(customer_id, "customer", param="customer")
    pm = await resolve(tx, reference)
    if pm.data.get("customer") == customer_id:
        return pm
    if pm.data.get("customer"):
        raise invalid(
            "The payment method you provided has already been attached to a customer.",
            param="payment_method",
            code="payment_method_unexpected_state",
        )
    data = dict(pm.data, customer=customer_id)
    await tx.save(data)
    await tx.emit("payment_method.attached", data)
    return StoredObject(pm.id, pm.object, customer_id, pm.created, data, pm.private, False)


async def attach_payment_method(tx: Tx, p: Params, pm_ref: str) -> dict[str, Any]:
    """``POST /v1/payment_methods/{id}/attach``."""
    return (await attach(tx, pm_ref, p.require_str("customer"))).data


async def detach_payment_method(tx: Tx, p: Params, pm_id: str) -> dict[str, Any]:
    """``POST /v1/payment_methods/{id}/detach``; a customer whose default it was loses its default."""
    pm = await tx.get(pm_id, "payment_method")
    customer_id = pm.data.get("customer")
    if not customer_id:
        raise invalid(
            "The payment method you provided is not attached to a customer.", code="payment_method_unexpected_state"
        )
    data = dict(pm.data, customer=None)
    await tx.save(data)
    await tx.emit("payment_method.detached", data)
    customer = await tx.get(customer_id, "customer", include_deleted=True)
    if customer.data["invoice_settings"].get("default_payment_method") == pm_id:
        before = customer.data
        after = dict(before, invoice_settings=dict(before["invoice_settings"], default_payment_method=None))
        await tx.save(after)
        await tx.emit("customer.updated", after, before=before)
    return data


async def retrieve_payment_method(tx: Tx, p: Params, pm_id: str) -> dict[str, Any]:
    return (await tx.get(pm_id, "payment_method")).data


async def create_source(tx: Tx, p: Params, customer_id: str) -> dict[str, Any]:
    """``POST /v1/customers/{id}/sources`` with a test token: a legacy card source, the default if first."""
    customer = await tx.get(customer_id, "customer")
    token = p.require_str("source")
    card = magic_card(token) or VISA
    card_id = await tx.new_id("card")
    data = shapes.card_source(
        card_id, card, customer=customer_id, exp_year=_exp_year(tx), metadata=merge_metadata({}, p.raw("metadata"))
    )
    await tx.insert(data, {"behavior": card.behavior.value})
    await tx.emit("customer.source.created", data)
    if customer.data.get("default_source") is None:
        after = dict(customer.data, default_source=card_id)
        await tx.save(after)
        await tx.emit("customer.updated", after, before=customer.data)
    return data


async def update_source(tx: Tx, p: Params, customer_id: str, source_id: str) -> dict[str, Any]:
    source = await tx.get(source_id, "card")
    if source.data.get("customer") != customer_id:
        raise invalid(f"Customer {customer_id} does not have card with ID {source_id}", code="resource_missing")
    after = dict(source.data, metadata=merge_metadata(source.data["metadata"], p.raw("metadata")))
    for key in ("name", "exp_month", "exp_year"):
        if p.has(key):
            after[key] = p.integer(key) if key.startswith("exp") else p.string(key)
    await tx.save(after)
    if after != source.data:
        await tx.emit("customer.source.updated", after, before=source.data)
    return after


__all__ = [
    "attach",
    "attach_payment_method",
    "behavior_of",
    "create_payment_method",
    "create_source",
    "detach_payment_method",
    "resolve",
    "retrieve_payment_method",
    "update_source",
]
