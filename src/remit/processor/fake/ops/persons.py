"""The people of a connected account (``person_…``): create, list, retrieve, update, delete.

As at Stripe, a person belongs to one account (another account's person is a 404 under this one), its
``relationship`` says what it is to the business (``representative``, ``owner`` with a ``percent_ownership``
of 0 to 100, ``director``, ``executive``, ``title``), a list can be filtered by those roles, and identity
numbers are never shown back (``id_number_provided``, ``ssn_last_4_provided``). The fake verifies no one: a
person's ``verification.status`` stays ``unverified`` and its requirements empty. Events: ``person.created``,
``person.updated``, ``person.deleted`` (on the connected account).
"""

from __future__ import annotations

import copy
from typing import Any

from remit.processor.fake.errors import INVALID_REQUEST, ApiError, invalid
from remit.processor.fake.ops.common import apply_fields, listed
from remit.processor.fake.params import Params, merge_metadata
from remit.processor.fake.tx import Tx

ROLES = ("director", "executive", "owner", "representative")
_TEXT_FIELDS = ("email", "first_name", "last_name", "maiden_name", "phone", "gender", "nationality")


def _requirements() -> dict[str, Any]:
    return {
        "alternatives": [],
        "currently_due": [],
        "errors": [],
        "eventually_due": [],
        "past_due": [],
        "pending_verification": [],
    }


def person(person_id: str, *, account: str, created: int) -> dict[str, Any]:
    return {
        "id": person_id,
        "object": "person",
        "account": account,
        "address": {"city": None, "country": None, "line1": None, "line2": None, "postal_code": None, "state": None},
        "created": created,
        "dob": {"day": None, "month": None, "year": None},
        "email": None,
        "first_name": None,
        "gender": None,
        "id_number_provided": False,
        "last_name": None,
        "maiden_name": None,
        "metadata": {},
        "nationality": None,
        "phone": None,
        "relationship": {
            "director": False,
            "executive": False,
            "owner": False,
            "percent_ownership": None,
            "representative": False,
            "title": None,
        },
        "requirements": _requirements(),
        "ssn_last_4_provided": False,
        "verification": {
            "additional_document": None,
            "details": None,
            "details_code": None,
            "document": None,
            "status": "unverified",
        },
    }


def _apply(data: dict[str, Any], p: Params) -> None:
    apply_fields(data, p, *_TEXT_FIELDS)
    if p.has("metadata"):
        data["metadata"] = merge_metadata(data.get("metadata") or {}, p.raw("metadata"))
    if p.has("address"):
        data["address"] = {**data["address"], **{k: v or None for k, v in p.mapping("address").items()}}
    if p.has("dob"):
        dob = p.sub("dob")
        data["dob"] = {"day": dob.integer("day"), "month": dob.integer("month"), "year": dob.integer("year")}
        if not (1 <= (dob.integer("month") or 0) <= 12 and 1 <= (dob.integer("day") or 0) <= 31):
            raise invalid("The date of birth is not a valid date.", param="dob")
    if p.has("relationship"):
        wanted = p.sub("relationship")
        for role in ROLES:
            if wanted.has(role):
                data["relationship"][role] = wanted.boolean(role) is True
        if wanted.has("title"):
            data["relationship"]["title"] = wanted.string("title") or None
        if wanted.has("percent_ownership"):
            share = wanted.raw("percent_ownership")
            value = None if share in {None, ""} else float(share)
            if value is not None and not 0 <= value <= 100:
                raise invalid("percent_ownership must be between 0 and 100.", param="relationship[percent_ownership]")
            data["relationship"]["percent_ownership"] = value
    if p.string("id_number"):
        data["id_number_provided"] = True
    if p.string("ssn_last_4"):
        data["ssn_last_4_provided"] = True


async def create_person(tx: Tx, p: Params, account_id: str) -> dict[str, Any]:
    """``POST /v1/accounts/{id}/persons``: ``person.created``."""
    await tx.get(account_id, "account", param="account")
    data = person(await tx.new_id("person"), account=account_id, created=tx.now)
    _apply(data, p)
    await tx.insert(data, {"account": account_id})
    await tx.emit("person.created", data, account=account_id)
    return data


async def _own(tx: Tx, account_id: str, person_id: str) -> dict[str, Any]:
    await tx.get(account_id, "account", param="account")
    found = await tx.find(person_id)
    if found is None or found.object != "person" or found.deleted or found.data["account"] != account_id:
        raise ApiError(404, INVALID_REQUEST, f"No such person: '{person_id}'", code="resource_missing", param="person")
    return found.data


async def retrieve_person(tx: Tx, p: Params, account_id: str, person_id: str) -> dict[str, Any]:
    return await _own(tx, account_id, person_id)


async def update_person(tx: Tx, p: Params, account_id: str, person_id: str) -> dict[str, Any]:
    """``POST /v1/accounts/{id}/persons/{person}``: ``person.updated``."""
    before = await _own(tx, account_id, person_id)
    after = copy.deepcopy(before)
    _apply(after, p)
    if after != before:
        await tx.save(after)
        await tx.emit("person.updated", after, before=before, account=account_id)
    return after


async def delete_person(tx: Tx, p: Params, account_id: str, person_id: str) -> dict[str, Any]:
    """``DELETE /v1/accounts/{id}/persons/{person}``: ``person.deleted``."""
    data = await _own(tx, account_id, person_id)
    await tx.save(data, deleted=True)
    await tx.emit("person.deleted", data, account=account_id)
    return {"id": person_id, "object": "person", "deleted": True}


async def list_persons(tx: Tx, p: Params, account_id: str) -> dict[str, Any]:
    """``GET /v1/accounts/{id}/persons``: the account's people, filtered by ``relationship[role]``."""
    await tx.get(account_id, "account", param="account")
    wanted = {role: p.sub("relationship").boolean(role) for role in ROLES if p.sub("relationship").has(role)}
    return await listed(
        tx,
        p,
        "person",
        url=f"/v1/accounts/{account_id}/persons",
        where=[
            lambda data: data["account"] == account_id,
            lambda data: all(data["relationship"][role] == flag for role, flag in wanted.items()),
        ],
    )


__all__ = ["ROLES", "create_person", "delete_person", "list_persons", "person", "retrieve_person", "update_person"]
