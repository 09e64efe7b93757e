"""What each mail says and to whom: read from the mirror when the mail is built, never stored in the log.

:func:`mail_content` builds a :class:`MailContent` for one logged mail: the recipient's address, the template
context and any attachment. It reads the mirror's tables directly — the object the mail is about (an
invoice, a subscription, a charge, a dispute, a payment method) and its customer — and asks the processor
for a customer the mirror has not seen. The address goes into the message and nowhere else.

A receipt carries its invoice as a PDF (:func:`remit.documents.generate.ensure_document`, so the document
the receipt attaches is the stored one). When no PDF can be made in this process, it links to the
processor's hosted invoice instead and records why (``pdf_problem``): the sender then emits
``pdf_adapter_unavailable``. Any other error (an object not mirrored yet, a rendering error) propagates, and
the send job retries.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parseaddr
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from remit.db.tables import charges, customers, disputes, invoices, payment_methods, subscriptions
from remit.documents.amounts import format_amount
from remit.documents.engine import PDF_CONTENT_TYPE, PdfEngineUnavailable
from remit.documents.generate import InvoiceNotFinalized, ensure_document, load_invoice
from remit.documents.invoice import InvoiceView
from remit.errors import RemitError
from remit.mail.kinds import SPECS, Audience, MailKind
from remit.mail.log import MailRecord
from remit.mail.message import Attachment
from remit.runtime import Runtime

_TABLES = {
    "invoice": invoices,
    "subscription": subscriptions,
    "charge": charges,
    "dispute": disputes,
    "payment_method": payment_methods,
}


class NotMirrored(RemitError):
    """The object a mail is about is not in the mirror (yet): the send job retries."""

    def __init__(self, object_type: str, object_id: str) -> None:
        super().__init__(f"{object_type} {object_id!r} is not in the mirror")


@dataclass(frozen=True)
class MailContent:
    """One mail's recipient, template context and attachments. ``attachment`` is what the log records
    (``pdf``, ``link`` or None); ``pdf_problem`` is why a due PDF could not be made."""

    recipient: str | None
    context: dict[str, Any]
    attachments: tuple[Attachment, ...] = ()
    attachment: str | None = None
    pdf_problem: str | None = None
    invoice_id: str | None = field(default=None)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _get(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(key)
    return obj


def _date(value: Any) -> str | None:
    stamp = _int(value)
    return datetime.fromtimestamp(stamp, UTC).date().isoformat() if stamp is not None else None


def _address(value: Any) -> str | None:
    """``value`` if it is one usable address, else None."""
    text = _text(value)
    if text is None or any(c in text for c in "\r\n,"):
        return None
    address = parseaddr(text)[1]
    return address if "@" in address else None


def sender_name(sender: str) -> str:
    """The display name of ``REMIT_MAIL_FROM`` (``Acme Billing``), else its address's domain."""
    name, address = parseaddr(sender)
    return name or address.rpartition("@")[2] or "remit"


async def mirrored(conn: AsyncConnection, object_type: str, object_id: str) -> dict[str, Any]:
    """The object's JSON as the mirror holds it; :class:`NotMirrored` when absent."""
    table = _TABLES[object_type]
    row = (await conn.execute(sa.select(table.c.data).where(table.c.stripe_id == object_id))).first()
    if row is None:
        raise NotMirrored(object_type, object_id)
    return dict(row.data or {})


async def customer_of(runtime: Runtime, conn: AsyncConnection, customer_id: str | None) -> dict[str, Any]:
    """The customer as mirrored, else as the processor has it, else empty (no customer to address)."""
    if not customer_id:
        return {}
    row = (await conn.execute(sa.select(customers.c.data).where(customers.c.stripe_id == customer_id))).first()
    if row is not None:
        return dict(row.data or {})
    if runtime.processor is None:
        return {}
    return dict(await runtime.processor.retrieve_customer(customer_id))


def _plan(subscription: Mapping[str, Any]) -> str | None:
    items = _get(subscription, "items", "data")
    first = items[0] if isinstance(items, list) and items else None
    return _text(_get(first, "price", "nickname")) or _text(_get(subscription, "plan", "nickname"))


async def _invoice_content(
    runtime: Runtime, conn: AsyncConnection, record: MailRecord, *, attach_pdf: bool
) -> tuple[InvoiceView, dict[str, Any], tuple[Attachment, ...], str | None, str | None]:
    view = await load_invoice(conn, record.subject_id)
    context: dict[str, Any] = {"invoice": view, "hosted_invoice_url": view.hosted_invoice_url}
    if not attach_pdf:
        return view, context, (), None, None
    try:
        document = await ensure_document(runtime, record.subject_id)
    except PdfEngineUnavailable as exc:
        return view, context | {"pdf_attached": False}, (), "link", exc.reason
    except InvoiceNotFinalized:
        return view, context | {"pdf_attached": False}, (), "link", None
    attachment = Attachment(f"invoice-{view.title}.pdf", PDF_CONTENT_TYPE, document.content)
    return view, context | {"pdf_attached": True}, (attachment,), "pdf", None


async def mail_content(runtime: Runtime, record: MailRecord) -> MailContent:
    """Build the content of ``record`` from the mirror as it is now (see the module docs)."""
    settings = runtime.settings
    base: dict[str, Any] = {"kind": record.kind.value, "sender_name": sender_name(settings.mail_sender)}
    kind = record.kind
    # A read transaction of its own (deferred on SQLite): the receipt's document may be stored meanwhile,
    # and a customer the mirror lacks is asked of the processor (the fake keeps its world in this database).
    async with runtime.db.read() as conn:
        if kind in (MailKind.RECEIPT, MailKind.PAYMENT_FAILED, MailKind.ACTION_REQUIRED):
            view, context, attachments, attachment, problem = await _invoice_content(
                runtime, conn, record, attach_pdf=kind is MailKind.RECEIPT
            )
            customer = await customer_of(runtime, conn, view.customer_id or record.customer_id)
            invoice = await mirrored(conn, "invoice", record.subject_id)
            context |= {
                "attempt": record.params.get("attempt"),
                "next_attempt": _date(invoice.get("next_payment_attempt")),
            }
            return MailContent(
                recipient=_address(view.customer_email) or _address(customer.get("email")),
                context=base | {"customer_name": view.customer_name or _text(customer.get("name"))} | context,
                attachments=attachments,
                attachment=attachment,
                pdf_problem=problem,
                invoice_id=view.invoice_id,
            )
        if kind is MailKind.DISPUTE_OPENED:
            dispute = await mirrored(conn, "dispute", record.subject_id)
            currency = _text(dispute.get("currency")) or "usd"
            return MailContent(
                recipient=_address(settings.mail_operator),
                context=base
                | {
                    "greeting": False,
                    "customer_name": None,
                    "dispute_id": record.subject_id,
                    "charge_id": _text(dispute.get("charge")) or _text(_get(dispute, "charge", "id")),
                    "amount": format_amount(_int(dispute.get("amount")) or 0, currency),
                    "reason": _text(dispute.get("reason")),
                    "status": _text(dispute.get("status")),
                    "evidence_due_by": _date(_get(dispute, "evidence_details", "due_by")),
                },
            )
        obj = await mirrored(conn, SPECS[kind].subject_type, record.subject_id)
        customer = await customer_of(runtime, conn, _text(obj.get("customer")) or record.customer_id)
        recipient = _address(_get(obj, "billing_details", "email")) or _address(customer.get("email"))
        context = base | {"customer_name": _text(customer.get("name"))}
        if kind is MailKind.TRIAL_ENDING:
            trial_end = record.params.get("trial_end") or obj.get("trial_end")
            context |= {"plan": _plan(obj), "trial_end": _date(trial_end)}
        elif kind is MailKind.SUBSCRIPTION_CANCELLED:
            context |= {"plan": _plan(obj), "ended_at": _date(obj.get("ended_at") or obj.get("canceled_at"))}
        elif kind is MailKind.REFUND_ISSUED:
            currency = _text(obj.get("currency")) or "usd"
            refunded = _int(record.params.get("amount_refunded")) or _int(obj.get("amount_refunded")) or 0
            recipient = _address(obj.get("receipt_email")) or recipient
            context |= {
                "refund_amount": format_amount(refunded, currency),
                "card_last4": _text(_get(obj, "payment_method_details", "card", "last4")),
                "receipt_url": _text(obj.get("receipt_url")),
            }
        elif kind is MailKind.CARD_EXPIRING:
            card: Mapping[str, Any] = obj["card"] if isinstance(obj.get("card"), Mapping) else {}
            month, year = _int(card.get("exp_month")), _int(card.get("exp_year"))
            context |= {
                "card": {
                    "brand": (_text(card.get("brand")) or "payment").title(),
                    "last4": _text(card.get("last4")) or "----",
                    "expires": f"{year:04d}-{month:02d}" if month and year else "its expiry month",
                },
                "days": _int(record.params.get("days")),
            }
        return MailContent(recipient=recipient, context=context)


def audience_of(kind: MailKind) -> Audience:
    return SPECS[kind].audience


__all__ = ["MailContent", "NotMirrored", "audience_of", "customer_of", "mail_content", "mirrored", "sender_name"]
