"""What an invoice document shows (pure): amounts by currency, lines, the version digest."""

from __future__ import annotations

from typing import Any

import pytest

from remit.documents.amounts import format_amount
from remit.documents.invoice import invoice_view
from remit.documents.render import invoice_html


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (1999, "usd", "19.99 USD"),
        (123456789, "eur", "1,234,567.89 EUR"),
        (1500, "JPY", "1,500 JPY"),
        (1250, "kwd", "1.250 KWD"),
        (-500, "usd", "-5.00 USD"),
        (0, "gbp", "0.00 GBP"),
    ],
)
def test_format_amount(amount: int, currency: str, text: str) -> None:
    assert format_amount(amount, currency) == text


def invoice(**extra: Any) -> dict[str, Any]:
    return {
        "id": "in_1",
        "object": "invoice",
        "number": "ACME-0001",
        "status": "open",
        "currency": "usd",
        "customer": "cus_1",
        "customer_name": "Ada",
        "customer_address": {"line1": "1 Main St", "postal_code": "12345", "city": "Springfield", "country": "US"},
        "created": 1_772_366_400,
        "total": 3000,
        "subtotal": 3000,
        "amount_paid": 0,
        "amount_remaining": 3000,
        "lines": {
            "data": [
                {"amount": 1000, "currency": "usd", "description": "A", "quantity": 1},
                {"amount": 2000, "currency": "usd", "price": {"nickname": "pro"}, "quantity": 2,
                 "period": {"start": 1_772_366_400, "end": 1_775_044_800}},
            ]
        },
        **extra,
    }  # fmt: skip


def test_the_view_reads_the_invoice_and_its_embedded_lines() -> None:
    view = invoice_view(invoice())
    assert (view.title, view.status, view.total, view.created) == ("ACME-0001", "open", "30.00 USD", "2026-03-01")
    assert view.customer_address == ("1 Main St", "12345 Springfield", "US")
    assert [(line.description, line.quantity, line.amount_text) for line in view.lines] == [
        ("A", 1, "10.00 USD"),
        ("pro", 2, "20.00 USD"),
    ]
    assert (view.lines[1].period_start, view.lines[1].period_end) == ("2026-03-01", "2026-04-01")
    assert view.has_document
    assert not invoice_view(invoice(status="draft")).has_document


def test_the_mirrors_complete_lines_win_over_the_embedded_ten() -> None:
    lines = [{"amount": 100, "currency": "usd", "description": f"line {n}"} for n in range(12)]
    view = invoice_view(invoice(), lines)
    assert len(view.lines) == 12
    assert invoice_view(invoice()).title == "ACME-0001"
    assert invoice_view(invoice(number=None)).title == "in_1"


def test_the_version_changes_with_what_is_shown_and_only_then() -> None:
    base = invoice_view(invoice()).version()
    assert invoice_view(invoice()).version() == base
    assert invoice_view(invoice(metadata={"ignored": "yes"})).version() == base  # not shown: same document
    paid = invoice_view(invoice(status="paid", amount_paid=3000, amount_remaining=0)).version()
    assert paid != base
    assert invoice_view(invoice(customer_name="Ada L.")).version() != base


def test_the_html_escapes_what_people_typed() -> None:
    html = invoice_html(invoice_view(invoice(description="<script>alert(1)</script>")))
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html
