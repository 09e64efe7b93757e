"""Mail templates: every kind renders a subject line, a text and an HTML part; a host overrides any by path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
import pytest

from remit.documents.invoice import invoice_view
from remit.mail.kinds import MailKind
from remit.mail.templates import render_mail, template_names

INVOICE = invoice_view(
    {
        "id": "in_1",
        "number": "ACME-0001",
        "status": "paid",
        "currency": "usd",
        "total": 1500,
        "amount_paid": 1500,
        "lines": {"data": [{"amount": 1500, "currency": "usd", "description": "Starter <plan>", "quantity": 1}]},
    }
)
CONTEXTS: dict[MailKind, dict[str, Any]] = {
    MailKind.RECEIPT: {"invoice": INVOICE, "hosted_invoice_url": "https://pay/in_1", "pdf_attached": True},
    MailKind.PAYMENT_FAILED: {"invoice": INVOICE, "hosted_invoice_url": None, "attempt": 2, "next_attempt": None},
    MailKind.ACTION_REQUIRED: {"invoice": INVOICE, "hosted_invoice_url": "https://pay/in_1"},
    MailKind.TRIAL_ENDING: {"plan": "starter-monthly", "trial_end": "2026-03-04"},
    MailKind.CARD_EXPIRING: {"card": {"brand": "Visa", "last4": "4242", "expires": "2026-04"}, "days": 1},
    MailKind.SUBSCRIPTION_CANCELLED: {"plan": None, "ended_at": "2026-03-01"},
    MailKind.REFUND_ISSUED: {"refund_amount": "5.00 USD", "card_last4": "4242", "receipt_url": None},
    MailKind.DISPUTE_OPENED: {
        "greeting": False,
        "dispute_id": "dp_1",
        "charge_id": "ch_1",
        "amount": "20.00 USD",
        "reason": "fraudulent",
        "status": "needs_response",
        "evidence_due_by": "2026-03-20",
    },
}


def context(kind: MailKind) -> dict[str, Any]:
    return {"kind": kind.value, "sender_name": "Acme Billing", "customer_name": "Ada", **CONTEXTS[kind]}


@pytest.mark.parametrize("kind", list(MailKind))
def test_every_kind_renders_one_subject_line_and_both_parts(kind: MailKind) -> None:
    rendered = render_mail(kind, context(kind))
    assert rendered.subject
    assert "\n" not in rendered.subject
    assert "Acme Billing" in rendered.text
    assert rendered.html.lstrip().startswith("<!DOCTYPE html>")
    assert ("Hello Ada," in rendered.text) is (kind is not MailKind.DISPUTE_OPENED)


def test_html_is_escaped_and_text_is_not() -> None:
    rendered = render_mail(MailKind.RECEIPT, context(MailKind.RECEIPT))
    assert "Starter &lt;plan&gt;" in rendered.html
    assert "Starter <plan>" in rendered.text
    assert "1 day)" in render_mail(MailKind.CARD_EXPIRING, context(MailKind.CARD_EXPIRING)).text


def test_a_missing_variable_fails_the_render_instead_of_mailing_a_blank() -> None:
    with pytest.raises(jinja2.UndefinedError):
        render_mail(MailKind.TRIAL_ENDING, {"kind": "trial_ending", "sender_name": "x", "customer_name": None})


def test_a_host_overrides_one_template_by_path_and_keeps_the_rest(tmp_path: Path) -> None:
    (tmp_path / "mail").mkdir()
    (tmp_path / "mail" / "receipt.txt").write_text("Host receipt for {{ invoice.title }}\n")
    (tmp_path / "mail" / "_layout.html").write_text("<!DOCTYPE html><main>{% block body %}{% endblock %}</main>")
    rendered = render_mail(MailKind.RECEIPT, context(MailKind.RECEIPT), str(tmp_path))
    assert rendered.text == "Host receipt for ACME-0001\n"
    assert rendered.html.startswith("<!DOCTYPE html><main>")  # remit's receipt.html in the host's layout
    assert "Thank you for your payment" in rendered.html
    assert rendered.subject == "Your receipt for invoice ACME-0001"  # not overridden: remit's


def test_template_names_are_the_kinds_value() -> None:
    assert template_names(MailKind.REFUND_ISSUED) == (
        "refund_issued.subject.txt",
        "refund_issued.txt",
        "refund_issued.html",
    )
