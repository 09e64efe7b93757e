"""Connected accounts beyond create, retrieve and delete: list, update, reject, their capabilities and Express
dashboard login links; and the platform's own account (``GET /v1/account``).

The fake verifies no one: a requested capability stays ``inactive`` (its requirements empty) until it is
unrequested. Rejecting an account (Stripe lets a platform reject only the accounts it is liable for: custom and
Express ones) disables it for good, ``requirements.disabled_reason`` ``rejected.<reason>``. Login links exist
only for Express accounts, as at Stripe. Events: ``account.updated`` and ``capability.updated``.
"""

from __future__ import annotations

import copy
from typing import Any

from remit.processor.fake import listing
from remit.processor.fake.errors import INVALID_REQUEST, ApiError, invalid
from remit.processor.fake.ops.common import apply_fields, listed
from remit.processor.fake.ops.platform import CAPABILITIES
from remit.processor.fake.params import Params
from remit.processor.fake.shapes import sessions as shapes
from remit.processor.fake.shapes.billing import ACCOUNT_NAME
from remit.processor.fake.tx import Tx

#: The platform's own account: the fake's world belongs to it (never a connected account).
PLATFORM_ACCOUNT = "acct_fake000000"


def platform_account() -> dict[str, Any]:
    data = shapes.account(PLATFORM_ACCOUNT, created=1577836800, type_="standard", email=None)
    data.update(
        business_profile={"mcc": None, "name": ACCOUNT_NAME, "support_email": None, "url": None},
        capabilities={"card_payments": "active", "transfers": "active"},
        charges_enabled=True,
        details_submitted=True,
        payouts_enabled=True,
    )
    return data


async def retrieve_current_account(tx: Tx, p: Params) -> dict[str, Any]:
    """``GET /v1/account``: the platform's own account."""
    return platform_account()


async def list_accounts(tx: Tx, p: Params) -> dict[str, Any]:
    """``GET /v1/accounts``: the platform's connected accounts, newest first."""
    return await listed(tx, p, "account", url="/v1/accounts")


async def _account(tx: Tx, account_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    found = await tx.get(account_id, "account", param="account")
    return copy.deepcopy(found.data), dict(found.private)


def _request(account: dict[str, Any], private: dict[str, Any], name: str, wanted: bool, now: int) -> None:
    requested_at = dict(private.get("requested_at") or {})
    if wanted:
        account["capabilities"][name] = account["capabilities"].get(name) or "inactive"
        requested_at.setdefault(name, now)
    else:
        account["capabilities"].pop(name, None)
        requested_at.pop(name, None)
    private["requested_at"] = requested_at


async def update_account(tx: Tx, p: Params, account_id: str) -> dict[str, Any]:
    """``POST /v1/accounts/{id}``: email, metadata and requested capabilities; ``account.updated``."""
    before, private = await _account(tx, account_id)
    after = copy.deepcopy(before)
    apply_fields(after, p, "email", "metadata")
    for name, wanted in p.mapping("capabilities").items():
        requested = Params(wanted if isinstance(wanted, dict) else {}).boolean("requested")
        if requested is not None:
            _request(after, private, name, requested, tx.now)
    if after != before:
        await tx.save(after, private)
        await tx.emit("account.updated", after, before=before, account=account_id)
    return after


async def reject_account(tx: Tx, p: Params, account_id: str) -> dict[str, Any]:
    """``POST /v1/accounts/{id}/reject``: a custom or Express account is disabled for good;
    ``account.updated``."""
    before, private = await _account(tx, account_id)
    if before["type"] not in {"custom", "express"}:
        raise invalid(
            "You can only reject accounts your platform is liable for (custom and Express accounts).",
            param="account",
        )
    if private.get("rejected"):
        raise invalid("This account has already been rejected.", param="account")
    reason = p.require_str("reason")
    after = copy.deepcopy(before)
    after.update(charges_enabled=False, payouts_enabled=False)
    after["capabilities"] = {name: "inactive" for name in after["capabilities"]}
    private["rejected"] = f"rejected.{reason}"
    await tx.save(after, private)
    await tx.emit("account.updated", after, before=before, account=account_id)
    return after


def _capability(account: dict[str, Any], private: dict[str, Any], name: str) -> dict[str, Any]:
    status = account["capabilities"].get(name, "unrequested")
    requirements: dict[str, Any] = {
        "alternatives": [],
        "current_deadline": None,
        "currently_due": [],
        "disabled_reason": private.get("rejected") if status != "unrequested" else None,
        "errors": [],
        "eventually_due": [],
        "past_due": [],
        "pending_verification": [],
    }
    return {
        "id": name,
        "object": "capability",
        "account": account["id"],
        "future_requirements": {**requirements, "disabled_reason": None},
        "requested": name in account["capabilities"],
        "requested_at": (private.get("requested_at") or {}).get(name),
        "requirements": requirements,
        "status": status,
    }


def _known(name: str) -> None:
    if name not in CAPABILITIES:
        raise ApiError(
            404, INVALID_REQUEST, f"No such capability: '{name}'", code="resource_missing", param="capability"
        )


async def list_capabilities(tx: Tx, p: Params, account_id: str) -> dict[str, Any]:
    """``GET /v1/accounts/{id}/capabilities``: every capability the account can have, requested or not."""
    account, private = await _account(tx, account_id)
    items = [_capability(account, private, name) for name in CAPABILITIES]
    found = listing.page(items, p, url=f"/v1/accounts/{account_id}/capabilities", object_type="capability")
    return dict(found, has_more=False, data=items)


async def retrieve_capability(tx: Tx, p: Params, account_id: str, name: str) -> dict[str, Any]:
    account, private = await _account(tx, account_id)
    _known(name)
    return _capability(account, private, name)


async def update_capability(tx: Tx, p: Params, account_id: str, name: str) -> dict[str, Any]:
    """``POST /v1/accounts/{id}/capabilities/{capability}``: (un)request it; ``capability.updated`` and
    ``account.updated`` when that changes anything."""
    before, private = await _account(tx, account_id)
    _known(name)
    requested = p.boolean("requested")
    after = copy.deepcopy(before)
    if requested is not None:
        _request(after, private, name, requested, tx.now)
    capability = _capability(after, private, name)
    if after != before:
        await tx.save(after, private)
        await tx.emit("capability.updated", capability, account=account_id)
        await tx.emit("account.updated", after, before=before, account=account_id)
    return capability


async def create_login_link(tx: Tx, p: Params, account_id: str) -> dict[str, Any]:
    """``POST /v1/accounts/{id}/login_links``: a single-use link into an Express account's dashboard."""
    account, _ = await _account(tx, account_id)
    if account["type"] != "express":
        raise invalid("Login links can only be created for Express accounts.", param="account")
    token = (await tx.new_id("login_link")).split("_", 1)[1]
    return {"object": "login_link", "created": tx.now, "url": f"{shapes.FAKE_HOST}/express/{account_id}/{token}"}


__all__ = [
    "PLATFORM_ACCOUNT",
    "create_login_link",
    "list_accounts",
    "list_capabilities",
    "platform_account",
    "reject_account",
    "retrieve_capability",
    "retrieve_current_account",
    "update_account",
    "update_capability",
]
