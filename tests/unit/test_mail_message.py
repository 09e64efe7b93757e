"""The message itself (pure): headers, both parts, the attachment, a Message-ID stable per mail."""

from __future__ import annotations

from datetime import UTC, datetime

from remit.mail.message import FALLBACK_DOMAIN, Attachment, build_message, message_id_for


def test_a_message_has_both_parts_and_its_attachment() -> None:
    message = build_message(
        sender="Acme Billing <billing@acme.example>",
        to="someone@example.com",
        reply_to="support@acme.example",
        subject="Your receipt",
        text="plain words",
        html="<p>html words</p>",
        message_id=message_id_for("receipt:in_1", "billing@acme.example"),
        date=datetime(2026, 3, 1, 12, 0, tzinfo=UTC),
        attachments=(Attachment("invoice-1.pdf", "application/pdf", b"%PDF-1.7 fake"),),
    )
    assert message.get_content_type() == "multipart/mixed"
    assert message["Reply-To"] == "support@acme.example"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Date"] == "Sun, 01 Mar 2026 12:00:00 +0000"
    body = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert body is not None
    assert html is not None
    assert body.get_content().strip() == "plain words"
    assert html.get_content().strip() == "<p>html words</p>"
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "invoice-1.pdf"
    assert attachment.get_content() == b"%PDF-1.7 fake"


def test_without_attachments_it_is_an_alternative_and_no_reply_to_is_set_unless_given() -> None:
    message = build_message(
        sender="billing@acme.example",
        to="someone@example.com",
        subject="s",
        text="t",
        html="<p>h</p>",
        message_id="<x@acme.example>",
        date=datetime(2026, 3, 1, tzinfo=UTC),
    )
    assert message.get_content_type() == "multipart/alternative"
    assert message["Reply-To"] is None


def test_the_message_id_is_stable_per_key_and_unique_across_keys() -> None:
    one = message_id_for("receipt:in_1", "Acme <billing@Acme.Example>")
    assert one == message_id_for("receipt:in_1", "billing@acme.example")
    assert one.endswith("@acme.example>")
    assert one != message_id_for("receipt:in_2", "billing@acme.example")
    assert message_id_for("receipt:in_1", "nobody").endswith(f"@{FALLBACK_DOMAIN}>")
