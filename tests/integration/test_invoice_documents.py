"""Invoice documents: the PDF of each invoice version, stored once, served by the API and the CLI."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pypdf
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from remit.api.app import create_app
from remit.billing import apply_event
from remit.cli import app as cli
from remit.config import Settings
from remit.db.tables import invoice_documents, jobs
from remit.documents import UnavailableEngine, ensure_document, use_pdf_engine
from remit.documents.jobs import render_invoice_document
from remit.parts import build_runtime
from remit.runtime import Runtime
from tests.support.mail import mail_world

TOKEN = "tok_documents_0123456789abcdefghij"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
BASE = 1_772_366_400


def invoice(invoice_id: str, status: str = "open", lines: int = 2, **extra: Any) -> dict[str, Any]:
    data = [
        {
            "id": f"il_{invoice_id}_{n}",
            "object": "line_item",
            "amount": 1000 + n,
            "currency": "eur",
            "description": f"Seat {n} <b>bold</b>",
            "quantity": 1,
            "period": {"start": BASE, "end": BASE + 30 * 86400},
        }
        for n in range(lines)
    ]
    total = sum(line["amount"] for line in data)
    return {
        "id": invoice_id,
        "object": "invoice",
        "created": BASE,
        "customer": "cus_doc",
        "customer_name": "Grace Hopper",
        "account_name": "Acme GmbH",
        "currency": "eur",
        "status": status,
        "number": f"ACME-{invoice_id[-4:]}",
        "total": total,
        "subtotal": total,
        "amount_due": total,
        "amount_paid": total if status == "paid" else 0,
        "amount_remaining": 0 if status == "paid" else total,
        "attempt_count": 1 if status == "paid" else 0,
        "hosted_invoice_url": f"https://invoice.example/{invoice_id}",
        "lines": {"object": "list", "data": data, "has_more": False, "total_count": lines},
        **extra,
    }


async def mirror(runtime: Runtime, obj: dict[str, Any], at: int = BASE) -> None:
    event = {"id": f"evt_{obj['id']}_{obj['status']}_{at}", "object": "event", "type": "invoice.updated"}
    async with runtime.db.begin() as conn:
        await apply_event(conn, runtime, {**event, "created": at, "data": {"object": obj}})


@pytest.fixture
async def runtime(db_url: str) -> AsyncIterator[Runtime]:
    settings = Settings.model_validate({"DATABASE_URL": db_url, "REMIT_ENV": "test", "REMIT_SERVICE_TOKENS": TOKEN})
    rt = build_runtime(settings)
    yield rt
    await rt.close()


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://remit") as http:
        yield http


async def stored(runtime: Runtime, invoice_id: str) -> list[Any]:
    async with runtime.db.connect() as conn:
        query = sa.select(invoice_documents).where(invoice_documents.c.invoice_id == invoice_id)
        return list((await conn.execute(query.order_by(invoice_documents.c.id))).mappings().all())


def pages(content: bytes) -> int:
    return len(pypdf.PdfReader(io.BytesIO(content)).pages)


def text_of(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(content)).pages)


async def test_the_pdf_route_renders_once_per_version(runtime: Runtime, client: httpx.AsyncClient) -> None:
    await mirror(runtime, invoice("in_doc1"))
    first = await client.get("/api/v1/billing/invoices/in_doc1/pdf", headers=AUTH)
    assert first.status_code == 200
    assert first.headers["content-type"] == "application/pdf"
    assert first.content.startswith(b"%PDF-")
    assert pages(first.content) == 1
    text = text_of(first.content)
    for expected in ("ACME-doc1", "Grace Hopper", "Acme GmbH", "Seat 1 <b>bold</b>", "20.01 EUR", "OPEN"):
        assert expected in text
    again = await client.get("/api/v1/billing/invoices/in_doc1/pdf", headers=AUTH)
    assert again.content == first.content
    assert again.headers["etag"] == first.headers["etag"]
    [row] = await stored(runtime, "in_doc1")
    assert first.headers["etag"] == f'"{row["version"]}"'
    assert (row["invoice_status"], row["pages"], row["size_bytes"]) == ("open", 1, len(first.content))

    await mirror(runtime, invoice("in_doc1", "paid"), at=BASE + 60)  # paid: a new version
    paid = await client.get("/api/v1/billing/invoices/in_doc1/pdf", headers=AUTH)
    assert paid.headers["etag"] != first.headers["etag"]
    assert "PAID" in text_of(paid.content)
    assert [r["invoice_status"] for r in await stored(runtime, "in_doc1")] == ["open", "paid"]


async def test_the_pdf_route_answers_json_errors(runtime: Runtime, client: httpx.AsyncClient) -> None:
    await mirror(runtime, invoice("in_draft", "draft"))
    await mirror(runtime, invoice("in_open"))
    unauthorized = await client.get("/api/v1/billing/invoices/in_open/pdf")
    assert unauthorized.status_code == 401
    missing = await client.get("/api/v1/billing/invoices/in_nope/pdf", headers=AUTH)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "resource_missing"
    draft = await client.get("/api/v1/billing/invoices/in_draft/pdf", headers=AUTH)
    assert draft.status_code == 409
    assert draft.json()["error"]["code"] == "invoice_not_finalized"
    use_pdf_engine(runtime, UnavailableEngine())
    unavailable = await client.get("/api/v1/billing/invoices/in_open/pdf", headers=AUTH)
    assert unavailable.status_code == 503
    assert unavailable.json()["error"]["code"] == "pdf_unavailable"
    assert unavailable.headers["retry-after"]
    assert await stored(runtime, "in_open") == []


async def test_concurrent_renders_of_one_version_store_one_document(runtime: Runtime) -> None:
    await mirror(runtime, invoice("in_race", "paid"))
    documents = await asyncio.gather(*(ensure_document(runtime, "in_race") for _ in range(4)))
    assert len({document.id for document in documents}) == 1
    assert len(await stored(runtime, "in_race")) == 1


async def test_a_long_invoice_runs_over_pages_with_every_line(runtime: Runtime) -> None:
    await mirror(runtime, invoice("in_long", "paid", lines=60))
    document = await ensure_document(runtime, "in_long")
    assert document.pages >= 2
    text = text_of(document.content)
    assert "Seat 59" in text
    footers = [line for line in text.splitlines() if "· page" in line]
    # the footer names the invoice on every page, not only on the one whose header set it (string-set)
    assert footers == [f"ACME-long · page {n} of {document.pages}" for n in range(1, document.pages + 1)]


async def test_the_job_renders_and_stores(runtime: Runtime) -> None:
    await mirror(runtime, invoice("in_job", "paid"))
    async with runtime.db.begin() as conn:
        await runtime.engine.enqueue(conn, render_invoice_document, {"invoice_id": "in_job"})
    outcomes = await runtime.drain()
    assert outcomes["completed"] == 1
    assert len(await stored(runtime, "in_job")) == 1


async def test_a_host_template_replaces_the_invoice_by_path(db_url: str, tmp_path: Path) -> None:
    (tmp_path / "documents").mkdir()
    (tmp_path / "documents" / "invoice.html").write_text(
        "<html><body><h1>Host invoice {{ invoice.title }}</h1><p>{{ invoice.total }}</p></body></html>"
    )
    settings = Settings.model_validate(
        {"DATABASE_URL": db_url, "REMIT_ENV": "test", "REMIT_TEMPLATE_DIR": str(tmp_path)}
    )
    runtime = build_runtime(settings)
    try:
        await mirror(runtime, invoice("in_host", "paid"))
        text = text_of((await ensure_document(runtime, "in_host")).content)
    finally:
        await runtime.close()
    assert "Host invoice ACME-host" in text
    assert "20.01 EUR" in text
    assert "· page" not in text  # remit's stylesheet (its page footer) is not laid over a host's own page


async def host_rendered(db_url: str, template_dir: Path, invoice_id: str) -> bytes:
    settings = Settings.model_validate(
        {"DATABASE_URL": db_url, "REMIT_ENV": "test", "REMIT_TEMPLATE_DIR": str(template_dir)}
    )
    runtime = build_runtime(settings)
    try:
        await mirror(runtime, invoice(invoice_id, "paid"))
        return (await ensure_document(runtime, invoice_id)).content
    finally:
        await runtime.close()


def first_page_size_mm(content: bytes) -> tuple[int, int]:
    box = pypdf.PdfReader(io.BytesIO(content)).pages[0].mediabox
    return round(float(box.width) * 25.4 / 72), round(float(box.height) * 25.4 / 72)


async def test_a_host_stylesheet_replaces_remits_by_path_for_either_page(db_url: str, tmp_path: Path) -> None:
    """documents/invoice.css is overridden by path like the templates, and styles remit's page or the host's."""
    (tmp_path / "documents").mkdir()
    (tmp_path / "documents" / "invoice.css").write_text(
        '@page { size: A5; @bottom-center { content: "Host footer " counter(page) } }'
    )
    content = await host_rendered(db_url, tmp_path, "in_hostcss")
    text = text_of(content)
    assert first_page_size_mm(content) == (148, 210)
    assert "Grace Hopper" in text  # remit's page
    assert "Host footer 1" in text
    assert "· page" not in text

    (tmp_path / "documents" / "invoice.html").write_text("<html><body><p>Own page {{ invoice.title }}</p>")
    content = await host_rendered(db_url, tmp_path, "in_hostboth")
    assert first_page_size_mm(content) == (148, 210)
    assert "Host footer 1" in text_of(content)


async def test_remits_page_keeps_its_stylesheet_when_a_host_overrides_something_else(
    db_url: str, tmp_path: Path
) -> None:
    (tmp_path / "documents").mkdir()  # a template dir with no invoice files: remit's page, remit's sheet
    content = await host_rendered(db_url, tmp_path, "in_hostnone")
    assert first_page_size_mm(content) == (210, 297)
    assert "ACME-none · page 1 of 1" in text_of(content)


async def test_the_stylesheet_follows_the_page_jinja_renders_when_a_host_page_arrives_while_running(
    db_url: str, tmp_path: Path
) -> None:
    """Jinja keeps remit's page while it is up to date, so a host invoice.html dropped in while remit runs is not
    used until a restart: the stylesheet must go with the page actually rendered, or remit's page goes out (and is
    stored for good) without its styles."""
    (tmp_path / "documents").mkdir()
    assert "ACME-ore1 · page 1 of 1" in text_of(await host_rendered(db_url, tmp_path, "in_before1"))
    (tmp_path / "documents" / "invoice.html").write_text("<html><body><p>Own page {{ invoice.title }}</p>")
    content = await host_rendered(db_url, tmp_path, "in_after2")
    text = text_of(content)
    if "Own page" in text:  # the host's page: styled by nothing of remit's
        assert "· page" not in text
    else:  # remit's page: with remit's stylesheet, A4 and its footer
        assert "Grace Hopper" in text
        assert (first_page_size_mm(content), "ACME-ter2 · page 1 of 1" in text) == ((210, 297), True)


def test_the_cli_writes_the_pdf(db_url: str, tmp_path: Path) -> None:
    settings = Settings.model_validate({"DATABASE_URL": db_url, "REMIT_ENV": "test"})

    async def prepare() -> None:
        runtime = build_runtime(settings)
        try:
            await mirror(runtime, invoice("in_cli", "paid"))
            await mirror(runtime, invoice("in_cli_draft", "draft"))
        finally:
            await runtime.close()

    asyncio.run(prepare())
    runner = CliRunner()
    env = {"DATABASE_URL": db_url}
    target = tmp_path / "out.pdf"
    written = runner.invoke(cli, ["invoices", "pdf", "in_cli", "-o", str(target)], env=env)
    assert written.exit_code == 0, written.output
    assert target.read_bytes().startswith(b"%PDF-")
    assert "1 page(s)" in written.output
    described = runner.invoke(cli, ["invoices", "pdf", "in_cli", "-o", str(target), "--json"], env=env)
    assert '"pages": 1' in described.output
    missing = runner.invoke(cli, ["invoices", "pdf", "in_missing", "-o", str(target)], env=env)
    assert missing.exit_code == 1
    assert "no invoice 'in_missing'" in missing.output
    draft = runner.invoke(cli, ["invoices", "pdf", "in_cli_draft", "-o", str(target)], env=env)
    assert draft.exit_code == 1
    assert "draft" in draft.output


async def test_finalized_then_paid_each_store_their_version_through_the_job_on_remit_invoices(db_url: str) -> None:
    async with mail_world(db_url) as world:
        customer = await world.customer("pm_card_chargeCustomerFail")
        subscription = await world.subscribe(customer, await world.price(1500))  # finalized, payment declined
        invoice_id = str(subscription["latest_invoice"])
        await world.drain()
        assert [doc["invoice_status"] for doc in await stored(world.runtime, invoice_id)] == ["open"]

        visa = await world.fake.attach_payment_method("pm_card_visa", customer=customer, idempotency_key=world.key())
        await world.fake.pay_invoice(invoice_id, payment_method=visa["id"], idempotency_key=world.key())
        await world.drain()
        documents = await stored(world.runtime, invoice_id)
        async with world.runtime.db.connect() as conn:
            renders = (
                await conn.execute(
                    sa.select(jobs.c.queue, jobs.c.state).where(jobs.c.name == "remit.documents.render_invoice")
                )
            ).all()
    assert [doc["invoice_status"] for doc in documents] == ["open", "paid"]
    assert documents[0]["version"] != documents[1]["version"]
    assert {(row.queue, row.state) for row in renders} == {("remit_invoices", "completed")}
