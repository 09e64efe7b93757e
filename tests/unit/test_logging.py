"""Log output is JSON (or console text), bridges stdlib logging, and never carries planted secrets or PII."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import structlog
import uvicorn

from remit.config import Settings
from remit.telemetry.logging import PAYLOAD_LOGGERS, REDACTED, configure_logging, is_sensitive_key, mask_text
from tests.support.logs import configured_logging_restored, uvicorn_logging_restored

STRIPE_KEY = "sk_live_51PlantedSecretValue0123456789"
RESTRICTED_KEY = "rk_test_51PlantedRestrictedKey987"
WEBHOOK_SECRET = "whsec_PlantedWebhookSecretXYZ"
EMAIL = "ada.lovelace@example.com"
PERSON = "Ada Lovelace"
BODY = '{"object":"event","data":{"card":"4242424242424242"}}'
PLANTED = [STRIPE_KEY, RESTRICTED_KEY, WEBHOOK_SECRET, EMAIL, PERSON, "4242424242424242", "hunter2"]


@pytest.fixture
def capture() -> Iterator[Callable[[str], io.StringIO]]:
    """Configure logging onto a buffer; restore the process's logging afterwards."""

    def configure(log_format: str = "json") -> io.StringIO:
        stream = io.StringIO()
        settings = Settings.model_validate({"REMIT_LOG_FORMAT": log_format, "REMIT_LOG_LEVEL": "DEBUG"})
        configure_logging(settings, stream=stream)
        return stream

    with configured_logging_restored():
        yield configure


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_stdlib_records_become_json_with_extra_fields(capture: Callable[[str], io.StringIO]) -> None:
    stream = capture("json")
    logging.getLogger("remit.test").info("job %s done", "j_1", extra={"job_id": 42, "queue": "remit_webhooks"})
    [line] = _lines(stream)
    assert line["event"] == "job j_1 done"
    assert line["job_id"] == 42
    assert line["queue"] == "remit_webhooks"
    assert line["level"] == "info"
    assert line["logger"] == "remit.test"
    assert line["timestamp"].endswith("Z")


def test_planted_secrets_and_pii_never_reach_the_output(capture: Callable[[str], io.StringIO]) -> None:
    stream = capture("json")
    log = logging.getLogger("remit.test")
    log.warning(
        "calling stripe with %s for %s",
        STRIPE_KEY,
        EMAIL,
        extra={
            "stripe_api_key": STRIPE_KEY,
            "secret": WEBHOOK_SECRET,
            "token": "tok-opaque-123",
            "password": "hunter2",
            "authorization": "Bearer abc.def.ghi",
            "email": EMAIL,
            "customer_name": PERSON,
            "body": BODY,
            "payload": {"customer": {"email": EMAIL}},
            "detail": f"restricted key {RESTRICTED_KEY} and {WEBHOOK_SECRET}",
            "nested": {"customer_name": PERSON, "list": [EMAIL, {"api_key": STRIPE_KEY}]},
            "customer_id": "cus_123",
        },
    )
    structlog.get_logger("remit.test").error("structlog path", email=EMAIL, name=PERSON, note=f"key={STRIPE_KEY}")
    text = stream.getvalue()
    for planted in PLANTED:
        assert planted not in text, planted
    first, second = _lines(stream)
    assert first["customer_id"] == "cus_123"  # identifiers survive
    assert first["email"] == REDACTED
    assert first["payload"] == REDACTED
    assert first["event"] == f"calling stripe with sk_{REDACTED} for {REDACTED}"
    assert second["event"] == "structlog path"
    assert second["email"] == REDACTED
    assert second["name"] == REDACTED
    assert second["note"] == f"key=sk_{REDACTED}"


def test_exception_tracebacks_are_masked(capture: Callable[[str], io.StringIO]) -> None:
    stream = capture("json")
    try:
        raise RuntimeError(f"refused {STRIPE_KEY} for {EMAIL}")
    except RuntimeError:
        logging.getLogger("remit.test").exception("failed")
    [line] = _lines(stream)
    assert "RuntimeError" in line["exception"]
    assert STRIPE_KEY not in line["exception"]
    assert EMAIL not in line["exception"]


def test_console_format_is_not_json_and_still_redacts(capture: Callable[[str], io.StringIO]) -> None:
    stream = capture("console")
    logging.getLogger("remit.test").info("hello", extra={"email": EMAIL, "event_id": "evt_1"})
    text = stream.getvalue()
    assert "hello" in text
    assert "evt_1" in text
    assert EMAIL not in text
    with pytest.raises(json.JSONDecodeError):
        json.loads(text.splitlines()[0])


def test_configuring_twice_does_not_duplicate_lines(capture: Callable[[str], io.StringIO]) -> None:
    capture("json")
    stream = capture("json")
    logging.getLogger("remit.test").info("once")
    assert len(_lines(stream)) == 1


@pytest.mark.parametrize(
    ("key", "sensitive"),
    [
        ("secret", True),
        ("STRIPE_WEBHOOK_SECRET", True),
        ("service_token", True),
        ("api_key", True),
        ("stripe_api_key", True),
        ("Authorization", True),
        ("email", True),
        ("customer_email", True),
        ("name", True),
        ("first_name", True),
        ("raw_body", True),
        ("payload", True),
        ("job_name", False),
        ("queue", False),
        ("event_id", False),
        ("body_bytes", False),
        ("event_type", False),
        ("customer_id", False),
        ("skipped_no_payload", False),
        ("payload_missing", False),
    ],
)
def test_sensitive_keys(key: str, sensitive: bool) -> None:
    assert is_sensitive_key(key) is sensitive


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("key sk_test_abcdef1234", f"key sk_{REDACTED}"),
        ("whsec_abcdef1234", f"whsec_{REDACTED}"),
        ("to bob@example.org now", f"to {REDACTED} now"),
        ("Authorization: Bearer abc.def", f"Authorization: Bearer {REDACTED}"),
        ("postgresql://remit:s3cret@db:5432/remit", f"postgresql://remit:{REDACTED}@db:5432/remit"),
        ("evt_1 and cus_2 stay", "evt_1 and cus_2 stay"),
    ],
)
def test_mask_text(text: str, expected: str) -> None:
    assert mask_text(text) == expected


def test_libraries_that_quote_payloads_are_held_quiet_even_at_debug(capture: Callable[[str], io.StringIO]) -> None:
    """At DEBUG, SQLAlchemy's echo and aiosqlite quote statement parameters — a webhook's raw body among them."""
    for name in PAYLOAD_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET)  # as a fresh process has them
    out = capture("json")  # at REMIT_LOG_LEVEL=DEBUG
    logging.getLogger("sqlalchemy.engine.Engine").info('INSERT ... [generated] (\'{"email": "ada@example.com"}\',)')
    logging.getLogger("aiosqlite").debug("executing <function ...> ('raw body',)")
    logging.getLogger("remit.test").debug("remit's own debug line")
    text = out.getvalue()
    assert "INSERT" not in text
    assert "raw body" not in text
    assert "remit's own debug line" in text


async def _app(scope: Any, receive: Any, send: Any) -> None:
    """An ASGI app for a uvicorn configuration that is never served."""


def test_uvicorns_loggers_follow_remit_whatever_configured_them_before(capture: Callable[[str], io.StringIO]) -> None:
    """A host (or a test's stand-in server) that ran uvicorn with its own logging left uvicorn's loggers with
    their own handlers, ``propagate`` off and ``log_level``'s level; configured afterwards, remit's logging still
    gets every uvicorn line its own level lets through — an access log at INFO came out empty."""
    with uvicorn_logging_restored():
        uvicorn.Config(_app, log_level="warning")  # what `uvicorn.run(app, log_level="warning")` configures
        stream = capture("json")  # at REMIT_LOG_LEVEL=DEBUG
        access = ("127.0.0.1:50000", "GET", "/health?token=abc", "1.1", 200)
        logging.getLogger("uvicorn.access").info('%s - "%s %s HTTP/%s" %d', *access)
        logging.getLogger("uvicorn.error").info("Application startup complete.")
        logging.getLogger("uvicorn.asgi").debug("ASGI [1] Started scope=...")
    assert [(line["logger"], line["event"]) for line in _lines(stream)] == [
        ("uvicorn.access", '127.0.0.1:50000 - "GET /health?token=[redacted] HTTP/1.1" 200'),
        ("uvicorn.error", "Application startup complete."),
        ("uvicorn.asgi", "ASGI [1] Started scope=..."),
    ]


def test_pdf_rendering_progress_stays_out_of_the_log_at_info() -> None:
    """WeasyPrint logs seven INFO steps per PDF: a demo run put 170 of them between remit's own lines."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    chatty = {name: logging.getLogger(name).level for name in ("weasyprint", "fontTools")}
    try:
        stream = io.StringIO()
        configure_logging(Settings.model_validate({"REMIT_LOG_LEVEL": "INFO"}), stream=stream)
        logging.getLogger("weasyprint.progress").info("Step 2 - Fetching and parsing CSS - CSS string")
        logging.getLogger("fontTools.subset").info("maxp pruned")
        logging.getLogger("weasyprint").warning("Ignored `gap: 1em` at 3:1, unknown property.")
        logging.getLogger("remit.documents").info("invoice rendered")
        events = [line["event"] for line in _lines(stream)]
        assert events == ["Ignored `gap: 1em` at 3:1, unknown property.", "invoice rendered"]
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, previous in chatty.items():
            logging.getLogger(name).setLevel(previous)
        structlog.reset_defaults()


def test_the_provisioning_reconcilers_summary_keeps_its_counts(capture: Callable[[str], io.StringIO]) -> None:
    """The runbook reads ``skipped_no_payload`` from this line; it was logged as ``[redacted]``."""
    stream = capture("json")
    summary = {"event": "provisioning.reconcile.run", "scanned": 3, "skipped_no_payload": 1, "payload": {"a": 1}}
    logging.getLogger("remit.provisioning").info("provisioning.reconcile.run", extra={"summary": summary})
    [line] = _lines(stream)
    assert line["summary"]["skipped_no_payload"] == 1
    assert line["summary"]["payload"] == REDACTED
