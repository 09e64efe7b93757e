"""What each mail says and to whom: read from the mirror when the mail is built, never stored in the log.

:func:`mail_content` builds a :class:`MailContent` for one logged mail: the recipient's address, the template
context and any attachment. It reads the mirror's tables directly, in one read transaction — the object the
mail is about (an invoice, a subscription, a charge, a dispute, a payment method) and its customer — then,
with that transaction closed, asks the processor for a customer the mirror has not seen and renders the
receipt's PDF. The address goes into the message and nowhere else.

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


async def mirrored_customer(conn: AsyncConnection, customer_id: str | None) -> dict[str, Any] | None:
    """The customer as the mirror holds it; None when the mirror has not seen it (or there is none)."""
    if not customer_id:
        return None
    row = (await conn.execute(sa.select(customers.c.data).where(customers.c.stripe_id == customer_id))).first()
    return None if row is None else dict(row.data or {})


def _plan(subscription: Mapping[str, Any]) -> str | None:
    items = _get(subscription, "items", "data")
    first = items[0] if isinstance(items, list) and items else None
    return _text(_get(first, "price", "nickname")) or _text(_get(subscription, "plan", "nickname"))


@dataclass(frozen=True)
class _Read:
    """What one read transaction found: the object the mail is about, its invoice view (invoice mails), and
    its customer as mirrored (None: ask the processor, outside the transaction)."""

    obj: dict[str, Any]
    view: InvoiceView | None
    customer_id: str | None
    customer: dict[str, Any] | None


async def _read(runtime: Runtime, record: MailRecord) -> _Read:
    kind = record.kind
    # A read transaction of its own (deferred on SQLite), closed before anything else talks to the database
    # or the processor.
    async with runtime.db.read() as conn:
        obj = await mirrored(conn, SPECS[kind].subject_type, record.subject_id)
        view = await load_invoice(conn, record.subject_id) if SPECS[kind].subject_type == "invoice" else None
        if kind is MailKind.DISPUTE_OPENED:
            return _Read(obj, None, None, {})
        customer_id = (view.customer_id if view else None) or _text(obj.get("customer")) or record.customer_id
        return _Read(obj, view, customer_id, await mirrored_customer(conn, customer_id))


async def _attachment(runtime: Runtime, view: InvoiceView) -> tuple[tuple[Attachment, ...], str, str | None]:
    """The receipt's PDF as an attachment — ``(attachments, "pdf", None)`` — or, when no PDF can be made here,
    ``((), "link", the engine's problem)``."""
    try:
        document = await ensure_document(runtime, view.invoice_id)
    except PdfEngineUnavailable as exc:
        return (), "link", exc.reason
    except InvoiceNotFinalized:
        return (), "link", None
    return (Attachment(f"invoice-{view.title}.pdf", PDF_CONTENT_TYPE, document.content),), "pdf", None


async def mail_content(runtime: Runtime, record: MailRecord) -> MailContent:
    """Build the content of ``record`` from the mirror as it is now (see the module docs). A customer the
    mirror lacks is asked of the processor: a :class:`~remit.errors.ProcessorError` propagates, for the send
    job's :func:`~remit.processor.calls.processor_call` to map."""
    settings = runtime.settings
    kind = record.kind
    found = await _read(runtime, record)
    customer = found.customer
    if customer is None:
        customer = dict(await runtime.processor.retrieve_customer(found.customer_id)) if found.customer_id else {}
    obj = found.obj
    base: dict[str, Any] = {
        "kind": kind.value,
        "sender_name": sender_name(settings.mail_sender),
        "customer_name": _text(customer.get("name")),
    }
    recipient = _address(_get(obj, "billing_details", "email")) or _address(customer.get("email"))

    if found.view is not None:
        view = found.view
        attachments: tuple[Attachment, ...] = ()
        attachment, problem = None, None
        if kind is MailKind.RECEIPT:
            attachments, attachment, problem = await _attachment(runtime, view)
        return MailContent(
            recipient=_address(view.customer_email) or recipient,
            context=base
            | {
                "customer_name": view.customer_name or base["customer_name"],
                "invoice": view,
                "hosted_invoice_url": view.hosted_invoice_url,
                "pdf_attached": attachment == "pdf",
                "attempt": record.params.get("attempt"),
                "next_attempt": _date(obj.get("next_payment_attempt")),
            },
            attachments=attachments,
            attachment=attachment,
            pdf_problem=problem,
            invoice_id=view.invoice_id,
        )
    if kind is MailKind.DISPUTE_OPENED:
        currency = _text(obj.get("currency")) or "usd"
        return MailContent(
            recipient=_address(settings.mail_operator),
            context=base
            | {
                "greeting": False,
                "customer_name": None,
                "dispute_id": record.subject_id,
                "charge_id": _text(obj.get("charge")) or _text(_get(obj, "charge", "id")),
                "amount": format_amount(_int(obj.get("amount")) or 0, currency),
                "reason": _text(obj.get("reason")),
                "status": _text(obj.get("status")),
                "evidence_due_by": _date(_get(obj, "evidence_details", "due_by")),
            },
        )
    context = dict(base)
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


__all__ = ["MailContent", "NotMirrored", "audience_of", "mail_content", "mirrored", "mirrored_customer", "sender_name"]
