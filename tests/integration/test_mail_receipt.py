"""The receipt: a paid invoice's mail, with its PDF, through a real SMTP server on loopback — once."""

from __future__ import annotations

import io

import pypdf
import sqlalchemy as sa

from remit.db.tables import invoice_documents, mail_log
from remit.mail.log import MailState
from tests.support.mail import OPERATOR, PLANTED_EMAIL, PLANTED_NAME, REPLY_TO, SENDER, mail_world


async def test_a_paid_invoice_gets_one_receipt_with_its_pdf(db_url: str) -> None:
    async with mail_world(db_url) as world:
        invoice_id = await world.paid_invoice()
        messages = world.sink.parsed()
        assert len(messages) == 1
        message = messages[0]
        assert world.sink.recipients == [[PLANTED_EMAIL]]
        assert message["From"] == SENDER
        assert message["To"] == PLANTED_EMAIL
        assert message["Reply-To"] == REPLY_TO
        assert message["Auto-Submitted"] == "auto-generated"
        assert message["Subject"].startswith("Your receipt for invoice ")
        assert OPERATOR not in str(message)
        text = message.get_body(preferencelist=("plain",)).get_content()
        html = message.get_body(preferencelist=("html",)).get_content()
        assert "15.00 USD" in text
        assert "15.00 USD" in html
        assert PLANTED_NAME in text
        assert "attached as a PDF" in text
        attachments = list(message.iter_attachments())
        assert len(attachments) == 1
        pdf = attachments[0].get_content()
        assert attachments[0].get_content_type() == "application/pdf"
        assert pdf.startswith(b"%PDF-")
        assert len(pypdf.PdfReader(io.BytesIO(pdf)).pages) == 1
        async with world.runtime.db.connect() as conn:
            rows = (await conn.execute(sa.select(mail_log))).mappings().all()
            documents = (await conn.execute(sa.select(invoice_documents))).mappings().all()
        receipts = [row for row in rows if row["kind"] == "receipt"]
        assert [(r["key"], r["state"], r["attachment"], r["deliveries"]) for r in receipts] == [
            (f"receipt:{invoice_id}", MailState.SENT.value, "pdf", 1)
        ]
        assert message["Message-ID"] == receipts[0]["message_id"]
        # the attached PDF is the stored document of the paid version
        paid = [doc for doc in documents if doc["invoice_status"] == "paid"]
        assert len(paid) == 1
        assert bytes(paid[0]["content"]) == pdf
