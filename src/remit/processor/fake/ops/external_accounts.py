"""A connected account's external accounts — the bank accounts and debit cards its payouts go to: create, list,
retrieve, update, delete.

As at Stripe: a bank account is made from a test bank token (``btok_us``, ``btok_us_verified``) or from bank
details (``external_account[object]=bank_account``, country, currency, routing and account numbers), a card from
a test token of a debit card (``tok_visa_debit``; a credit card is refused, ``invalid_card_type``); the first for
a currency is that currency's default (``default_for_currency``), and another becomes the default only when it
is made one; the default for a currency cannot be deleted while it is the default. The fake pays out nothing to
them. Events: ``account.external_account.created|updated|deleted`` (on the account).
"""

from __future__ import annotations

import copy
import hashlib
from typing import Any

from remit.processor.fake import listing
from remit.processor.fake.cards import magic_card
from remit.processor.fake.errors import INVALID_REQUEST, ApiError, invalid, missing
from remit.processor.fake.ops.common import apply_fields
from remit.processor.fake.ops.methods import BANK_TOKENS
from remit.processor.fake.params import Params, merge_metadata
from remit.processor.fake.schema import unknown
from remit.processor.fake.shapes.customers import card_source
from remit.processor.fake.tx import Tx

#: What bank details ``external_account`` takes (it is a token or these; anything else is unknown).
_BANK_DETAILS = {
    "account_holder_name",
    "account_holder_type",
    "account_number",
    "country",
    "currency",
    "object",
    "routing_number",
}


def _details(p: Params) -> dict[str, Any]:
    """What a new external account says of the bank (a test token's, or the details given)."""
    if not p.has("external_account"):
        raise invalid("Missing required param: external_account.", param="external_account", code="parameter_missing")
    raw = p.raw("external_account")
    if isinstance(raw, str):
        if raw.startswith("tok_"):
            return _debit_card(raw)
        if raw not in BANK_TOKENS:
            raise missing("token", raw, "external_account")
        return {
            "account_holder_name": "Jenny Rosen",
            "account_holder_type": "individual",
            "country": "US",
            "currency": "usd",
            "last4": "6789",
            "routing_number": "110000000",
            "status": BANK_TOKENS[raw],
        }
    bank = p.sub("external_account")
    for key in bank.data:
        if key not in _BANK_DETAILS:
            raise unknown(f"external_account[{key}]")
    if bank.string("object") != "bank_account":
        raise invalid("external_account[object] must be bank_account.", param="external_account[object]")
    number = bank.require_str("account_number")
    if not number.isdigit() or not 4 <= len(number) <= 17:
        raise invalid("The account number is not valid.", param="external_account[account_number]")
    return {
        "account_holder_name": bank.string("account_holder_name"),
        "account_holder_type": bank.string("account_holder_type"),
        "country": bank.require_str("country").upper(),
        "currency": bank.require_str("currency").lower(),
        "last4": number[-4:],
        "routing_number": bank.string("routing_number"),
        "status": "new",
    }


def _debit_card(token: str) -> dict[str, Any]:
    card = magic_card(token)
    if card is None:
        raise missing("token", token, "external_account")
    if card.funding != "debit":
        raise ApiError(
            400,
            INVALID_REQUEST,
            "This card doesn't appear to be a debit card.",
            code="invalid_card_type",
            param="external_account",
        )
    details = card_source("", card, customer="", exp_year=2030)
    for key in ("id", "customer", "metadata"):
        details.pop(key)
    return {**details, "currency": "usd", "status": None}


def _requirements() -> dict[str, Any]:
    return {"currently_due": [], "errors": [], "past_due": [], "pending_verification": []}


_KINDS = ("bank_account", "card")


async def _external(tx: Tx, account_id: str) -> list[dict[str, Any]]:
    """The account's external accounts of both kinds, newest first."""
    found = [obj for kind in _KINDS for obj in await tx.list(kind) if obj.data.get("account") == account_id]
    found.sort(key=lambda obj: (obj.created, obj.id), reverse=True)
    return [obj.data for obj in found]


async def _defaults(tx: Tx, account_id: str, currency: str) -> list[dict[str, Any]]:
    return [
        data
        for data in await _external(tx, account_id)
        if data["currency"] == currency and data.get("default_for_currency")
    ]


async def _make_default(tx: Tx, data: dict[str, Any]) -> None:
    """``data`` becomes its currency's default; the one that was is no longer (``…updated``)."""
    for other in await _defaults(tx, data["account"], data["currency"]):
        if other["id"] != data["id"]:
            after = dict(other, default_for_currency=False)
            await tx.save(after)
            await tx.emit("account.external_account.updated", after, before=other, account=data["account"])
    data["default_for_currency"] = True


async def create_external_account(tx: Tx, p: Params, account_id: str) -> dict[str, Any]:
    """``POST /v1/accounts/{id}/external_accounts``: ``account.external_account.created``."""
    await tx.get(account_id, "account", param="account")
    details = _details(p)
    data: dict[str, Any]
    if details.get("object") == "card":
        data = {
            "id": await tx.new_id("card"),
            "account": account_id,
            "available_payout_methods": ["instant", "standard"],
            "default_for_currency": False,
            "metadata": merge_metadata({}, p.raw("metadata")),
            **details,
        }
    else:
        data = {
            "id": await tx.new_id("bank_account"),
            "object": "bank_account",
            "account": account_id,
            "account_type": None,
            "available_payout_methods": ["standard"],
            "bank_name": "STRIPE TEST BANK",
            "default_for_currency": False,
            "fingerprint": hashlib.sha256(f"{details['routing_number']}:{details['last4']}".encode()).hexdigest()[:16],
            "future_requirements": _requirements(),
            "metadata": merge_metadata({}, p.raw("metadata")),
            "requirements": _requirements(),
            **details,
        }
    first = not await _defaults(tx, account_id, data["currency"])
    if first or p.boolean("default_for_currency"):
        await _make_default(tx, data)
    await tx.insert(data)
    await tx.emit("account.external_account.created", data, account=account_id)
    return data


async def _own(tx: Tx, account_id: str, ba_id: str) -> dict[str, Any]:
    await tx.get(account_id, "account", param="account")
    found = await tx.find(ba_id)
    if found is None or found.object not in _KINDS or found.deleted or found.data.get("account") != account_id:
        raise ApiError(
            404, INVALID_REQUEST, f"No such external account: '{ba_id}'", code="resource_missing", param="id"
        )
    return found.data


async def retrieve_external_account(tx: Tx, p: Params, account_id: str, ba_id: str) -> dict[str, Any]:
    return await _own(tx, account_id, ba_id)


async def list_external_accounts(tx: Tx, p: Params, account_id: str) -> dict[str, Any]:
    await tx.get(account_id, "account", param="account")
    kind = p.string("object")
    items = [data for data in await _external(tx, account_id) if kind in {None, data["object"]}]
    return listing.page(
        items, p, url=f"/v1/accounts/{account_id}/external_accounts", object_type=kind or "external_account"
    )


async def update_external_account(tx: Tx, p: Params, account_id: str, ba_id: str) -> dict[str, Any]:
    """``POST /v1/accounts/{id}/external_accounts/{ba}``: holder, metadata, or make it its currency's default;
    ``account.external_account.updated``."""
    before = await _own(tx, account_id, ba_id)
    after = copy.deepcopy(before)
    apply_fields(after, p, "account_holder_name", "account_holder_type", "metadata")
    wanted = p.boolean("default_for_currency")
    if wanted is False and before["default_for_currency"]:
        raise invalid(
            "To stop this bank account being the default for its currency, make another one the default.",
            param="default_for_currency",
        )
    if wanted and not before["default_for_currency"]:
        await _make_default(tx, after)
    if after != before:
        await tx.save(after)
        await tx.emit("account.external_account.updated", after, before=before, account=account_id)
    return after


async def delete_external_account(tx: Tx, p: Params, account_id: str, ba_id: str) -> dict[str, Any]:
    """``DELETE /v1/accounts/{id}/external_accounts/{ba}``: not the default for its currency;
    ``account.external_account.deleted``."""
    data = await _own(tx, account_id, ba_id)
    if data["default_for_currency"]:
        raise invalid(
            "You cannot delete the default bank account for a currency. Make another bank account the default "
            "using the `default_for_currency` param, and then delete this one.",
            param="id",
        )
    await tx.save(data, deleted=True)
    await tx.emit("account.external_account.deleted", data, account=account_id)
    return {"id": ba_id, "object": data["object"], "deleted": True}


__all__ = [
    "create_external_account",
    "delete_external_account",
    "list_external_accounts",
    "retrieve_external_account",
    "update_external_account",
]
