"""Payment methods: creating them from Stripe's test references, listing, updating, attaching and detaching;
a customer's legacy sources — cards and US bank accounts (create, list, retrieve, update, verify, delete)."""

from __future__ import annotations

from typing import Any

from remit.processor.fake import listing
from remit.processor.fake.cards import Behavior, TestCard, iban_behavior, magic_card
from remit.processor.fake.errors import INVALID_REQUEST, ApiError, invalid, missing, parameter_missing
from remit.processor.fake.ops.common import equal_to, listed
from remit.processor.fake.params import Params, merge_metadata
from remit.processor.fake.shapes import customers as shapes
from remit.processor.fake.store import StoredObject
from remit.processor.fake.tx import Tx

#: What Stripe answers a raw card number in test mode (accounts without raw card data access).
RAW_CARD_REFUSED = (
    "Sending credit card numbers directly to the Stripe API is generally unsafe. We suggest you use test tokens "
    "that map to the test card you are using, see https://stripe.com/docs/testing."
)

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
    """``POST /v1/payment_methods``: a card from a test token, or a SEPA debit from an IBAN. No event (an
    attached one: ``payment_method.attached``)."""
    kind = p.string("type", "card")
    details = p.mapping("billing_details")
    if kind == "card":
        card = p.sub("card")
        if card.has("number"):
            raise ApiError(400, INVALID_REQUEST, RAW_CARD_REFUSED, param="card[number]")
        token = card.string("token") or "tok_visa"
        created = (await _new_card_method(tx, token, details)).data
        if p.has("metadata"):
            created = dict(created, metadata=merge_metadata({}, p.raw("metadata")))
            await tx.save(created)
        if p.has("customer"):
            created = (await attach(tx, created["id"], p.require_str("customer"))).data
        return created
    if kind == "sepa_debit":
        iban = p.sub("sepa_debit").string("iban")
        if not iban:
            raise parameter_missing("sepa_debit[iban]")
        pm_id = await tx.new_id("payment_method")
        data = shapes.sepa_payment_method(pm_id, iban, created=tx.now, customer=None, details=details)
        data["metadata"] = merge_metadata({}, p.raw("metadata"))
        await tx.insert(data, {"behavior": iban_behavior(iban).value})
        if p.has("customer"):
            data = (await attach(tx, pm_id, p.require_str("customer"))).data
        return data
    raise invalid(f"The payment method type {kind!r} is not supported by the fake processor.", param="type")


async def list_payment_methods(tx: Tx, p: Params) -> dict[str, Any]:
    """``GET /v1/payment_methods?customer=…&type=…``: a customer's payment methods (Stripe lists none
    without a customer)."""
    customer = p.string("customer")
    if customer:
        await tx.get(customer, "customer", param="customer")
    return await listed(
        tx,
        p,
        "payment_method",
        url="/v1/payment_methods",
        customer=customer,
        where=[lambda pm: pm.get("customer") is not None, equal_to(p, "type")],
    )


async def update_payment_method(tx: Tx, p: Params, pm_id: str) -> dict[str, Any]:
    """``POST /v1/payment_methods/{id}``: billing details, a card's expiry, metadata;
    ``payment_method.updated`` (Stripe updates only attached payment methods)."""
    found = await tx.get(pm_id, "payment_method")
    before = found.data
    if not before.get("customer"):
        raise invalid(
            "You must save this PaymentMethod to a customer before you can update it.",
            code="payment_method_unexpected_state",
        )
    after = dict(before, metadata=merge_metadata(before["metadata"], p.raw("metadata")))
    if "billing_details" in p.data:
        merged = dict(before["billing_details"])
        for key, value in p.mapping("billing_details").items():
            if key == "address":
                merged["address"] = dict(merged["address"], **(value or {}))
            else:
                merged[key] = value or None
        after["billing_details"] = shapes.billing_details(merged)
    card = p.sub("card")
    if card.data:
        if before.get("type") != "card":
            raise invalid("card can only be updated on a card PaymentMethod.", param="card")
        after["card"] = dict(before["card"])
        for key in ("exp_month", "exp_year"):
            if card.has(key):
                after["card"][key] = card.integer(key)
    if after != before:
        await tx.save(after)
        await tx.emit("payment_method.updated", after, before=before)
    return after


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


#: Stripe's test bank-account tokens and the status of the bank account each makes.
BANK_TOKENS = {"btok_us_verified": "verified", "btok_us": "new"}
#: The micro-deposit amounts that verify a test bank account, as Stripe documents them.
VERIFYING_AMOUNTS = [32, 45]
SOURCE_OBJECTS = ("card", "bank_account")


def source_card(token: str) -> TestCard:
    """The test card a source token names (``tok_visa``…); any other token is Stripe's 404."""
    card = magic_card(token)
    if card is None:
        raise missing("token", token, "source")
    return card


async def add_source(
    tx: Tx,
    customer_id: str,
    card: TestCard,
    *,
    source_id: str | None = None,
    make_default: bool = False,
    metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Keep a card source for the customer (``customer.source.created``); it becomes the default source when
    the customer has none (``customer.updated``), or when ``make_default``."""
    customer = await tx.get(customer_id, "customer")
    card_id = source_id or await tx.new_id("card")
    data = shapes.card_source(card_id, card, customer=customer_id, exp_year=_exp_year(tx), metadata=metadata)
    await tx.insert(data, {"behavior": card.behavior.value})
    await tx.emit("customer.source.created", data)
    if customer.data.get("default_source") != card_id and (make_default or customer.data.get("default_source") is None):
        after = dict(customer.data, default_source=card_id)
        await tx.save(after)
        await tx.emit("customer.updated", after, before=customer.data)
    return data


async def create_source(tx: Tx, p: Params, customer_id: str) -> dict[str, Any]:
    """``POST /v1/customers/{id}/sources`` with a test token: a legacy card source (``tok_visa``…) or US bank
    account (``btok_us_verified``, or ``btok_us``: to verify with micro-deposits), the default if first."""
    customer = await tx.get(customer_id, "customer")
    token = p.require_str("source")
    metadata = merge_metadata({}, p.raw("metadata"))
    if token not in BANK_TOKENS:
        return await add_source(tx, customer_id, source_card(token), metadata=metadata)
    data = shapes.bank_account_source(
        await tx.new_id("bank_account"), customer=customer_id, status=BANK_TOKENS[token], metadata=metadata
    )
    await tx.insert(data)
    await tx.emit("customer.source.created", data)
    if customer.data.get("default_source") is None:
        after = dict(customer.data, default_source=data["id"])
        await tx.save(after)
        await tx.emit("customer.updated", after, before=customer.data)
    return data


async def own_source(tx: Tx, customer_id: str, source_id: str, *, param: str = "id") -> dict[str, Any]:
    """The customer's source ``source_id`` (a card or a bank account), or Stripe's 404."""
    await tx.get(customer_id, "customer")
    found = await tx.find(source_id)
    if (
        found is None
        or found.object not in SOURCE_OBJECTS
        or found.deleted
        or found.data.get("customer") != customer_id
    ):
        raise ApiError(
            404,
            INVALID_REQUEST,
            f"Customer {customer_id} does not have a source with ID {source_id}",
            code="resource_missing",
            param=param,
        )
    return found.data


async def verify_source(tx: Tx, p: Params, customer_id: str, source_id: str) -> dict[str, Any]:
    """``POST /v1/customers/{id}/sources/{id}/verify``: a new bank account is verified by the two
    micro-deposit amounts (Stripe's test amounts are 32 and 45); ``customer.source.updated``."""
    before = await own_source(tx, customer_id, source_id)
    if before["object"] != "bank_account":
        raise invalid("Only bank accounts can be verified.", code="bank_account_unverifiable")
    if before["status"] == "verified":
        raise invalid("This bank account has already been verified.", code="bank_account_verification_failed")
    amounts = [int(amount) for amount in p.array("amounts")]
    if not amounts:
        raise parameter_missing("amounts")
    if sorted(amounts) != VERIFYING_AMOUNTS:
        raise invalid(
            "The amounts provided do not match the amounts that were sent to the bank account.",
            param="amounts",
            code="bank_account_verification_failed",
        )
    after = dict(before, status="verified")
    await tx.save(after)
    await tx.emit("customer.source.updated", after, before=before)
    return after


async def retrieve_source(tx: Tx, p: Params, customer_id: str, source_id: str) -> dict[str, Any]:
    return await own_source(tx, customer_id, source_id)


async def list_sources(tx: Tx, p: Params, customer_id: str) -> dict[str, Any]:
    """``GET /v1/customers/{id}/sources`` (``object=card`` or ``bank_account`` filters)."""
    await tx.get(customer_id, "customer")
    kind = p.string("object")
    sources = [
        obj.data
        for source_object in SOURCE_OBJECTS
        if kind is None or kind == source_object
        for obj in await tx.list(source_object, customer=customer_id)
    ]
    sources.sort(key=lambda source: str(source["id"]), reverse=True)
    return listing.page(sources, p, url=f"/v1/customers/{customer_id}/sources", object_type="source")


async def update_source(tx: Tx, p: Params, customer_id: str, source_id: str) -> dict[str, Any]:
    """``POST /v1/customers/{id}/sources/{id}``: ``customer.source.updated`` with what changed."""
    before = await own_source(tx, customer_id, source_id)
    after = dict(before, metadata=merge_metadata(before["metadata"], p.raw("metadata")))
    card_fields = ("name", "address_city", "address_country", "address_line1", "address_line2", "address_state")
    bank_fields = ("account_holder_name", "account_holder_type")
    for key in card_fields + bank_fields:
        if key in p.data:
            if (key in bank_fields) != (before["object"] == "bank_account"):
                raise invalid(f"{key} cannot be set on a {before['object']} source.", param=key)
            after[key] = p.string(key) or None
    if "address_zip" in p.data:
        after["address_zip"] = p.string("address_zip") or None
    for key in ("exp_month", "exp_year"):
        if p.has(key):
            try:
                after[key] = int(p.require_str(key))
            except ValueError:
                raise invalid(f"Invalid integer: {p.string(key)}", param=key) from None
    if after != before:
        await tx.save(after)
        await tx.emit("customer.source.updated", after, before=before)
    return after


async def delete_source(tx: Tx, p: Params, customer_id: str, source_id: str) -> dict[str, Any]:
    """``DELETE /v1/customers/{id}/sources/{id}``: ``customer.source.deleted``; a customer whose default it
    was falls back to its newest other card (``customer.updated``)."""
    source = await own_source(tx, customer_id, source_id)
    await tx.save(source, deleted=True)
    await tx.emit("customer.source.deleted", source)
    customer = (await tx.get(customer_id, "customer")).data
    if customer.get("default_source") == source_id:
        others = [obj.id for kind in SOURCE_OBJECTS for obj in await tx.list(kind, customer=customer_id)]
        others.sort(reverse=True)
        after = dict(customer, default_source=others[0] if others else None)
        await tx.save(after)
        await tx.emit("customer.updated", after, before=customer)
    return {"id": source_id, "object": source["object"], "deleted": True}


__all__ = [
    "BANK_TOKENS",
    "RAW_CARD_REFUSED",
    "SOURCE_OBJECTS",
    "VERIFYING_AMOUNTS",
    "add_source",
    "attach",
    "attach_payment_method",
    "behavior_of",
    "create_payment_method",
    "create_source",
    "delete_source",
    "detach_payment_method",
    "list_payment_methods",
    "list_sources",
    "own_source",
    "resolve",
    "retrieve_payment_method",
    "retrieve_source",
    "source_card",
    "update_payment_method",
    "update_source",
    "verify_source",
]
