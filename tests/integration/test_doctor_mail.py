"""``remit doctor``'s mail step: where mail goes (an SMTP server is probed, sending nothing) and whether
invoice PDFs can be made here."""

from __future__ import annotations

from remit.config import Settings
from remit.doctor import Status, mail_check, pdf_engine_problem
from remit.documents import UnavailableEngine, use_pdf_engine
from remit.parts import build_runtime
from remit.runtime import Runtime
from tests.support.mail import SmtpSink, free_port


def runtime_with(db_url: str, **values: str) -> Runtime:
    return build_runtime(Settings.model_validate({"DATABASE_URL": db_url, "REMIT_ENV": "test", **values}))


async def test_the_outbox_is_fine_in_development_and_a_warning_in_production(db_url: str) -> None:
    runtime = runtime_with(db_url)
    try:
        check = await mail_check(runtime, await pdf_engine_problem(runtime))
    finally:
        await runtime.close()
    assert check.status is Status.OK
    assert check.data == {"transport": "outbox", "pdf_engine": True}
    production = runtime_with(db_url, REMIT_ENV="production")
    try:
        assert (await mail_check(production, await pdf_engine_problem(production))).status is Status.WARN
    finally:
        await production.close()


async def test_an_smtp_server_is_probed_without_sending(db_url: str) -> None:
    sink = SmtpSink()
    url = sink.start()
    runtime = runtime_with(db_url, REMIT_SMTP_URL=url, REMIT_MAIL_FROM="billing@acme.example")
    try:
        check = await mail_check(runtime, await pdf_engine_problem(runtime))
    finally:
        await runtime.close()
        sink.stop()
    assert check.status is Status.OK
    assert check.detail.startswith("smtp 127.0.0.1:")
    assert sink.messages == []
    down = runtime_with(
        db_url, REMIT_SMTP_URL=f"smtp://user:hunter2pw@127.0.0.1:{free_port()}", REMIT_MAIL_FROM="b@acme.example"
    )
    try:
        failed = await mail_check(down, await pdf_engine_problem(down))
    finally:
        await down.close()
    assert failed.status is Status.FAIL
    assert "could not connect" in failed.detail
    assert "hunter2pw" not in failed.detail


async def test_no_pdf_engine_is_a_warning_naming_the_fallback(db_url: str) -> None:
    runtime = runtime_with(db_url)
    use_pdf_engine(runtime, UnavailableEngine("OSError: WeasyPrint's system libraries are missing (see the README)"))
    try:
        check = await mail_check(runtime, await pdf_engine_problem(runtime))
    finally:
        await runtime.close()
    assert check.status is Status.WARN
    assert "receipts link to the hosted invoice" in check.detail
    assert check.data["pdf_engine"] is False
