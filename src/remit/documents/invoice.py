"""What an invoice document shows, read from the mirrored invoice and its lines (pure).

:func:`invoice_view` turns the processor's invoice JSON (as the mirror holds it) and its line rows into an
:class:`InvoiceView`: plain, typed values a template can print without knowing Stripe's shapes or API
versions. Its :meth:`~InvoiceView.version` is a digest of everything shown, so a document is rendered once
per version of the invoice — finalized, then paid, then perhaps voided — and never again for the same one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from remit.documents.amounts import format_amount

#: Invoice statuses a document is made for: a draft can still change, so it has none.
DOCUMENT_STATUSES = frozenset({"open", "paid", "void", "uncollectible"})


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _date(value: Any) -> str | None:
    """A Unix timestamp as an ISO date (UTC), which is what an invoice prints."""
    stamp = _int(value)
    return datetime.fromtimestamp(stamp, UTC).date().isoformat() if stamp is not None else None


def _get(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(key)
    return obj


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    """One line as printed: what, how many, over which period, for how much."""

    description: str
    quantity: int | None
    period_start: str | None
    period_end: str | None
    amount: int
    amount_text: str


@dataclass(frozen=True, slots=True)
class InvoiceView:
    """Everything an invoice document shows; the customer's name and address are printed on the document
    (it is addressed to them) and go nowhere else."""

    invoice_id: str
    number: str | None
    status: str
    currency: str
    account_name: str | None
    customer_id: str | None
    customer_name: str | None
    customer_email: str | None
    customer_address: tuple[str, ...]
    created: str | None
    due_date: str | None
    paid_at: str | None
    period_start: str | None
    period_end: str | None
    description: str | None
    footer: str | None
    lines: tuple[InvoiceLine, ...]
    subtotal: str
    tax: str | None
    total: str
    amount_paid: str
    amount_remaining: str
    hosted_invoice_url: str | None

    @property
    def title(self) -> str:
        """How the invoice is named to people: its number, else its id."""
        return self.number or self.invoice_id

    @property
    def has_document(self) -> bool:
        """Whether this invoice gets a document (finalized: open, paid, void or uncollectible)."""
        return self.status in DOCUMENT_STATUSES

    def version(self) -> str:
        """A digest of everything shown: equal views are one document, a change is a new version."""
        canonical = json.dumps(asdict(self), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def _address(value: Any) -> tuple[str, ...]:
    if not isinstance(value, Mapping):
        return ()
    city = " ".join(part for part in (_text(value.get("postal_code")), _text(value.get("city"))) if part)
    parts = [value.get("line1"), value.get("line2"), city or None, value.get("state"), value.get("country")]
    return tuple(part for part in (_text(p) for p in parts) if part)


def _line(line: Mapping[str, Any], currency: str) -> InvoiceLine:
    amount = _int(line.get("amount")) or 0
    description = (
        _text(line.get("description"))
        or _text(_get(line, "price", "nickname"))
        or _text(_get(line, "price", "id"))
        or "Item"
    )
    return InvoiceLine(
        description=description,
        quantity=_int(line.get("quantity")),
        period_start=_date(_get(line, "period", "start")),
        period_end=_date(_get(line, "period", "end")),
        amount=amount,
        amount_text=format_amount(amount, _text(line.get("currency")) or currency),
    )


def invoice_view(invoice: Mapping[str, Any], lines: Sequence[Mapping[str, Any]] | None = None) -> InvoiceView:
    """The view of ``invoice`` (the processor's JSON). ``lines`` are the mirror's complete line list; without
    it the invoice's embedded ``lines`` are used (which the processor cuts to ten)."""
    currency = _text(invoice.get("currency")) or "usd"
    if lines is None:
        embedded = _get(invoice, "lines", "data")
        lines = [line for line in embedded if isinstance(line, Mapping)] if isinstance(embedded, list) else []
    total = _int(invoice.get("total")) or 0
    tax = _int(invoice.get("tax"))
    customer = invoice.get("customer")
    return InvoiceView(
        invoice_id=str(invoice.get("id") or ""),
        number=_text(invoice.get("number")),
        status=_text(invoice.get("status")) or "draft",
        currency=currency,
        account_name=_text(invoice.get("account_name")),
        customer_id=customer if isinstance(customer, str) else _text(_get(customer, "id")),
        customer_name=_text(invoice.get("customer_name")),
        customer_email=_text(invoice.get("customer_email")),
        customer_address=_address(invoice.get("customer_address")),
        created=_date(invoice.get("created")),
        due_date=_date(invoice.get("due_date")),
        paid_at=_date(_get(invoice, "status_transitions", "paid_at")),
        period_start=_date(invoice.get("period_start")),
        period_end=_date(invoice.get("period_end")),
        description=_text(invoice.get("description")),
        footer=_text(invoice.get("footer")),
        lines=tuple(_line(line, currency) for line in lines),
        subtotal=format_amount(_int(invoice.get("subtotal")) or total, currency),
        tax=format_amount(tax, currency) if tax else None,
        total=format_amount(total, currency),
        amount_paid=format_amount(_int(invoice.get("amount_paid")) or 0, currency),
        amount_remaining=format_amount(_int(invoice.get("amount_remaining")) or 0, currency),
        hosted_invoice_url=_text(invoice.get("hosted_invoice_url")),
    )


__all__ = ["DOCUMENT_STATUSES", "InvoiceLine", "InvoiceView", "invoice_view"]
