"""A customer's tax ids (``tax_id``, ``txi_…``): create, list, retrieve, delete.

Stripe checks a tax id's format when it is created and refuses a malformed one (``tax_id_invalid``); the fake
checks the formats of the types a billing app meets most (EU and UK VAT, US EIN, Australian ABN, Canadian BN)
and that any other value is a plausible identifier. Verification with the tax authorities is not modelled:
a verifiable id stays ``pending``. Events: ``customer.tax_id.created`` and ``customer.tax_id.deleted``.

``/v1/tax_ids`` holds the account's own tax ids (``owner[type]=self``, the default: ``tax_id.created``,
``tax_id.deleted``) and reaches a customer's (``owner[type]=customer``); retrieving and deleting by id take
either, as at Stripe. Tax ids of connected accounts and applications (``owner[type]=account|application``)
are not modelled (a 400 says so).
"""

from __future__ import annotations

import re
from typing import Any

from remit.processor.fake.errors import INVALID_REQUEST, ApiError, invalid
from remit.processor.fake.ops.common import listed
from remit.processor.fake.params import Params
from remit.processor.fake.tx import Tx

#: Every tax id type Stripe takes.
TYPES: tuple[str, ...] = (
    "ad_nrt",
    "ae_trn",
    "al_tin",
    "am_tin",
    "ao_tin",
    "ar_cuit",
    "au_abn",
    "au_acn",
    "au_arn",
    "au_wpn",
    "aw_tin",
    "az_tin",
    "ba_tin",
    "bb_tin",
    "bd_bin",
    "bf_ifu",
    "bg_uic",
    "bh_vat",
    "bj_ifu",
    "bo_tin",
    "br_cnpj",
    "br_cpf",
    "bs_tin",
    "bw_vat",
    "by_tin",
    "ca_bn",
    "ca_gst_hst",
    "ca_pst_bc",
    "ca_pst_mb",
    "ca_pst_sk",
    "ca_qst",
    "cd_nif",
    "ch_uid",
    "ch_vat",
    "ci_vat",
    "cl_tin",
    "cm_niu",
    "cn_tin",
    "co_nit",
    "cr_tin",
    "cv_nif",
    "cz_dic",
    "de_stn",
    "do_rcn",
    "ec_ruc",
    "eg_tin",
    "es_cif",
    "et_tin",
    "eu_oss_vat",
    "eu_vat",
    "fo_vat",
    "fr_siren",
    "fr_siret",
    "fr_spi",
    "gb_vat",
    "ge_vat",
    "gh_tin",
    "gi_tin",
    "gn_nif",
    "hk_br",
    "hr_oib",
    "hu_tin",
    "ic_nif",
    "id_npwp",
    "il_vat",
    "in_gst",
    "is_kt",
    "is_vat",
    "it_cf",
    "jp_cn",
    "jp_rn",
    "jp_trn",
    "ke_pin",
    "kg_tin",
    "kh_tin",
    "kr_brn",
    "kz_bin",
    "la_tin",
    "li_uid",
    "li_vat",
    "lk_vat",
    "ma_vat",
    "md_cf",
    "md_vat",
    "me_pib",
    "mk_vat",
    "mr_nif",
    "mu_vat",
    "mx_rfc",
    "my_frp",
    "my_itn",
    "my_sst",
    "mz_nuit",
    "ng_tin",
    "no_vat",
    "no_voec",
    "np_pan",
    "nz_bn",
    "nz_gst",
    "om_vat",
    "pe_ruc",
    "ph_tin",
    "pl_nip",
    "pt_nif",
    "py_ruc",
    "ro_tin",
    "rs_pib",
    "ru_inn",
    "ru_kpp",
    "sa_vat",
    "sg_gst",
    "sg_uen",
    "si_tin",
    "sm_coe",
    "sn_ninea",
    "sr_fin",
    "sv_nit",
    "th_vat",
    "tj_tin",
    "tr_tin",
    "tt_bir",
    "tt_vat",
    "tw_vat",
    "tz_vat",
    "ua_vat",
    "ug_tin",
    "us_ein",
    "uy_ruc",
    "uz_tin",
    "uz_vat",
    "ve_rif",
    "vn_tin",
    "za_vat",
    "zm_tin",
    "zw_tin",
)

_EU_PREFIXES = "AT|BE|BG|CY|CZ|DE|DK|EE|EL|ES|FI|FR|HR|HU|IE|IT|LT|LU|LV|MT|NL|PL|PT|RO|SE|SI|SK|XI"
_FORMATS: dict[str, re.Pattern[str]] = {
    "eu_vat": re.compile(rf"^({_EU_PREFIXES})[0-9A-Z]{{2,13}}$"),
    "gb_vat": re.compile(r"^GB(\d{9}|\d{12}|GD\d{3}|HA\d{3})$"),
    "us_ein": re.compile(r"^\d{2}-?\d{7}$"),
    "au_abn": re.compile(r"^\d{11}$"),
    "ca_bn": re.compile(r"^\d{9}$"),
}
_PLAUSIBLE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z .\-/]{1,39}$")
#: Types Stripe verifies with a tax authority (they start ``pending``).
_VERIFIED = {"eu_vat", "gb_vat", "au_abn"}


def _normalized(kind: str, value: str) -> str:
    return value.replace(" ", "").upper() if kind in _FORMATS else value.strip()


def check(p: Params, *, param: str = "") -> None:
    """Refuse a malformed tax id as Stripe does."""
    kind, value = p.require_str("type"), p.require_str("value")
    pattern = _FORMATS.get(kind, _PLAUSIBLE)
    if not pattern.match(_normalized(kind, value)):
        name = f"{param}[value]" if param else "value"
        raise invalid(f"Invalid value for {kind}.", param=name, code="tax_id_invalid")


def _country(kind: str, value: str) -> str | None:
    if kind == "eu_vat":
        prefix = value[:2]
        return {"EL": "GR", "XI": "GB"}.get(prefix, prefix)
    if kind.startswith("eu_"):
        return None
    return kind.split("_", 1)[0].upper()


def tax_id(txi_id: str, *, created: int, customer: str | None, kind: str, value: str) -> dict[str, Any]:
    return {
        "id": txi_id,
        "object": "tax_id",
        "country": _country(kind, value),
        "created": created,
        "customer": customer,
        "livemode": False,
        "type": kind,
        "value": value,
        "verification": {
            "status": "pending" if kind in _VERIFIED else "unavailable",
            "verified_address": None,
            "verified_name": None,
        },
    }


async def add(tx: Tx, customer_id: str | None, p: Params) -> dict[str, Any]:
    """Keep a checked tax id for the customer (None: the account's own) and announce it."""
    kind = p.require_str("type")
    data = tax_id(
        await tx.new_id("tax_id"),
        created=tx.now,
        customer=customer_id,
        kind=kind,
        value=_normalized(kind, p.require_str("value")),
    )
    await tx.insert(data)
    await tx.emit("customer.tax_id.created" if customer_id else "tax_id.created", data)
    return data


async def create_tax_id(tx: Tx, p: Params, customer_id: str) -> dict[str, Any]:
    """``POST /v1/customers/{id}/tax_ids``."""
    await tx.get(customer_id, "customer")
    check(p)
    return await add(tx, customer_id, p)


async def _own(tx: Tx, customer_id: str, txi_id: str) -> dict[str, Any]:
    await tx.get(customer_id, "customer")
    found = await tx.find(txi_id)
    if found is None or found.object != "tax_id" or found.deleted or found.data["customer"] != customer_id:
        raise ApiError(404, INVALID_REQUEST, f"No such tax id: '{txi_id}'", code="resource_missing", param="id")
    return found.data


async def retrieve_tax_id(tx: Tx, p: Params, customer_id: str, txi_id: str) -> dict[str, Any]:
    return await _own(tx, customer_id, txi_id)


async def delete_tax_id(tx: Tx, p: Params, customer_id: str, txi_id: str) -> dict[str, Any]:
    """``DELETE /v1/customers/{id}/tax_ids/{txi}``: ``customer.tax_id.deleted``."""
    data = await _own(tx, customer_id, txi_id)
    await tx.save(data, deleted=True)
    await tx.emit("customer.tax_id.deleted", data)
    return {"id": txi_id, "object": "tax_id", "deleted": True}


async def list_tax_ids(tx: Tx, p: Params, customer_id: str) -> dict[str, Any]:
    await tx.get(customer_id, "customer")
    return await listed(tx, p, "tax_id", url=f"/v1/customers/{customer_id}/tax_ids", customer=customer_id)


# The account's tax ids and any by id (``/v1/tax_ids``) ---------------------------------------------------------


async def _owner(tx: Tx, p: Params) -> str | None:
    """The customer ``owner`` names (None: the account itself), refused as Stripe refuses a bad owner."""
    owner = p.sub("owner")
    kind = owner.string("type", "self") if p.has("owner") else "self"
    if kind in {"account", "application"}:
        raise invalid(
            f"The fake processor keeps no tax ids of connected accounts or applications (owner[type]={kind}).",
            param="owner[type]",
        )
    if kind == "customer":
        customer = owner.string("customer")
        if not customer:
            raise invalid(
                "Missing required param: owner[customer] when owner[type] is customer.",
                param="owner[customer]",
                code="parameter_missing",
            )
        await tx.get(customer, "customer", param="owner[customer]")
        return customer
    if owner.has("customer"):
        raise invalid("owner[customer] can only be set when owner[type] is customer.", param="owner[customer]")
    return None


async def create_any_tax_id(tx: Tx, p: Params) -> dict[str, Any]:
    """``POST /v1/tax_ids``: the account's own tax id (``tax_id.created``) or, with ``owner[type]=customer``,
    a customer's (``customer.tax_id.created``)."""
    customer = await _owner(tx, p)
    check(p)
    return await add(tx, customer, p)


async def _any(tx: Tx, txi_id: str) -> dict[str, Any]:
    found = await tx.find(txi_id)
    if found is None or found.object != "tax_id" or found.deleted:
        raise ApiError(404, INVALID_REQUEST, f"No such tax id: '{txi_id}'", code="resource_missing", param="id")
    return found.data


async def retrieve_any_tax_id(tx: Tx, p: Params, txi_id: str) -> dict[str, Any]:
    """``GET /v1/tax_ids/{id}``: an account or customer tax id."""
    return await _any(tx, txi_id)


async def delete_any_tax_id(tx: Tx, p: Params, txi_id: str) -> dict[str, Any]:
    """``DELETE /v1/tax_ids/{id}``: an account tax id (``tax_id.deleted``) or a customer's
    (``customer.tax_id.deleted``)."""
    data = await _any(tx, txi_id)
    await tx.save(data, deleted=True)
    await tx.emit("customer.tax_id.deleted" if data["customer"] else "tax_id.deleted", data)
    return {"id": txi_id, "object": "tax_id", "deleted": True}


async def list_any_tax_ids(tx: Tx, p: Params) -> dict[str, Any]:
    """``GET /v1/tax_ids``: the account's own tax ids, or a customer's with ``owner[type]=customer``."""
    customer = await _owner(tx, p)
    return await listed(
        tx, p, "tax_id", url="/v1/tax_ids", customer=customer, where=[lambda data: data["customer"] == customer]
    )


__all__ = [
    "TYPES",
    "add",
    "check",
    "create_any_tax_id",
    "create_tax_id",
    "delete_any_tax_id",
    "delete_tax_id",
    "list_any_tax_ids",
    "list_tax_ids",
    "retrieve_any_tax_id",
    "retrieve_tax_id",
    "tax_id",
]
