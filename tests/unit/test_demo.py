"""``remit demo``'s printed guidance (pure): every line under "where to look next" runs as printed."""

from __future__ import annotations

import json
import shlex
from typing import Any

import pytest
import typer.main

from remit.cli import app as remit_app
from remit.cli import hints
from remit.cli.demo import (
    DeadLetterCheck,
    MoneyFound,
    ReceiptFound,
    days_until,
    next_steps,
    other_world_message,
)
from remit.cli.fake import world_mismatch_message
from remit.processor.fake.engine import Delivered


@pytest.fixture(autouse=True)
def plain_remit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hints name ``remit`` as this shell reaches it; these tests pin it to the plain name."""
    monkeypatch.setattr(hints, "remit_command", lambda: "remit")


def parses(argv: list[str]) -> None:
    """Parse ``argv`` (after ``remit``) as the CLI would, without running it: an unknown command or option
    raises a usage error. (Typer's Click is its own copy, so groups are told apart by their ``commands``.)"""
    command: Any = typer.main.get_command(remit_app)
    ctx = command.make_context("remit", list(argv), resilient_parsing=False)
    depth = 0
    while hasattr(command, "commands"):
        name, command, rest = command.resolve_command(ctx, [*ctx._protected_args, *ctx.args])
        assert command is not None, name
        ctx = command.make_context(name, rest, parent=ctx)
        depth += 1
    assert depth >= 1  # a command was resolved, not just the root


def remit_lines(lines: list[str]) -> list[list[str]]:
    return [shlex.split(line.split("#")[0])[1:] for line in lines if line.startswith("remit ")]


def test_next_steps_point_at_real_commands_and_endpoints() -> None:
    lines = next_steps("http://127.0.0.1:8000/", has_tokens=True, example_id=7)
    assert any(line.startswith("remit webhooks show 7 ") for line in lines)
    assert any(line.startswith("remit webhooks list") for line in lines)
    assert any("Authorization: Bearer $TOKEN" in line and line.endswith("/api/v1/billing/customers") for line in lines)
    for argv in remit_lines(lines):
        parses(argv)


def test_next_steps_point_at_this_runs_receipt_and_its_pdf() -> None:
    receipt = ReceiptFound(mail_id=7, invoice_id="in_fake000003", state="sent", in_outbox=True)
    lines = next_steps("http://127.0.0.1:8000", has_tokens=True, example_id=3, receipt=receipt)
    commands = [line.split("#")[0].strip() for line in lines]
    for expected in (
        "remit mail list",
        "remit mail show 7",
        "remit mail show 7 --eml receipt.eml",
        "remit invoices pdf in_fake000003 -o invoice.pdf",
    ):
        assert expected in commands
    assert any(line.endswith("/api/v1/billing/invoices/in_fake000003/pdf -o invoice.pdf") for line in lines)
    for argv in remit_lines(lines):
        parses(argv)
    through_smtp = next_steps("http://127.0.0.1:8000", has_tokens=True, receipt=ReceiptFound(7, "in_1", "sent", False))
    assert not any("--eml" in line for line in through_smtp)  # the outbox does not hold it
    waiting = next_steps("http://127.0.0.1:8000", has_tokens=True)
    assert any(line.startswith("remit mail list") for line in waiting)
    assert not any("invoices pdf" in line for line in waiting)


def test_next_steps_point_at_the_dunning_cases_and_the_recorded_fees() -> None:
    money = MoneyFound("sub_fake000009", "in_grace", "2026-12-15", fees_recorded=6, fees_unchanged=0)
    lines = next_steps("http://127.0.0.1:8000", has_tokens=True, example_id=3, money=money)
    commands = [line.split("#")[0].strip() for line in lines]
    assert "remit dunning list" in commands
    assert "remit reconcile fees --include-recent --dry-run" in commands
    for argv in remit_lines(lines):
        parses(argv)
    nothing_recorded = next_steps("http://127.0.0.1:8000", has_tokens=True, money=MoneyFound())
    assert not any("reconcile fees" in line for line in nothing_recorded)


def test_next_steps_point_at_provisioning_usage_and_the_admin_page() -> None:
    lines = next_steps(
        "http://127.0.0.1:8000/",
        has_tokens=True,
        example_id=3,
        run_id="abc123",
        checkout=("cs_test_fake000001", "cus_fake000001"),
        meter="api_requests",
    )
    commands = [line.split("#")[0].strip() for line in lines]
    assert "remit provisioning show cs_test_fake000001" in commands
    assert "remit provisioning list" in commands
    assert "remit usage list --customer cus_fake000001" in commands
    usage = [line for line in lines if line.endswith(" http://127.0.0.1:8000/api/v1/usage")]
    assert len(usage) == 1
    argv = shlex.split(usage[0])
    assert argv[:3] == ["curl", "-H", "Authorization: Bearer $TOKEN"]
    sent = json.loads(argv[argv.index("-d") + 1])
    assert sent == {"customer": "cus_fake000001", "meter": "api_requests", "value": 3, "operation_id": "usage-abc123-1"}
    assert any(line.startswith("# the admin page") and "http://127.0.0.1:8000/admin" in line for line in lines)
    assert any("remit admin hash-password" in line for line in lines)
    for argv in remit_lines(lines):
        parses(argv)
    no_meter = next_steps("http://127.0.0.1:8000", has_tokens=True, checkout=("cs_1", "cus_1"))
    assert not any("/api/v1/usage" in line for line in no_meter)
    assert "remit provisioning show cs_1" in [line.split("#")[0].strip() for line in no_meter]


def test_with_tokens_in_the_environment_the_token_comes_from_it_not_from_the_screen() -> None:
    lines = next_steps("http://127.0.0.1:8000", has_tokens=True)
    assert any(line.startswith('export TOKEN="${REMIT_SERVICE_TOKENS%%,*}"') for line in lines)


def test_next_steps_without_tokens_say_how_to_get_one() -> None:
    lines = next_steps("http://127.0.0.1:8000", has_tokens=False)
    assert any("REMIT_SERVICE_TOKENS" in line for line in lines)
    assert any("./scripts/run printed one" in line for line in lines)
    assert all("Authorization: Bearer" in line for line in lines if line.startswith("curl"))


def test_next_steps_name_this_runs_dead_letters_and_how_to_fix_them() -> None:
    lines = next_steps(
        "http://127.0.0.1:8000",
        has_tokens=True,
        dead_letters=DeadLetterCheck(dead=[41, 43]),
        subscription_id="sub_fake000004",
    )
    assert any(line.startswith("remit webhooks list --status dead") for line in lines)
    assert [line.split("#")[0].strip() for line in lines if line.startswith("remit webhooks show")] == [
        "remit webhooks show 41",
        "remit webhooks show 43",
    ]
    fix = next(line for line in lines if "metadata[seats]" in line)
    assert fix.startswith("curl -X POST http://127.0.0.1:8000/fake/v1/subscriptions/sub_fake000004 ")
    assert any(line.startswith("remit webhooks replay --status dead") for line in lines)
    for argv in remit_lines(lines):
        parses(argv)


def test_next_steps_without_dead_letters_point_at_show_id_and_say_why() -> None:
    generic = next_steps("http://127.0.0.1:8000", has_tokens=True)
    assert any(line.startswith("remit webhooks show ID") for line in generic)
    assert not any("metadata[seats]" in line for line in generic)
    missing = next_steps("http://127.0.0.1:8000", has_tokens=True, dead_letters=DeadLetterCheck(not_dead=[41]))
    assert any("REMIT_JOB_MODULES" in line for line in missing)


def test_a_demo_given_a_url_prints_fake_commands_that_deliver_there_too() -> None:
    lines = next_steps("http://127.0.0.1:8765", has_tokens=True, url="http://127.0.0.1:8765", renewal_days=31)
    advance = next(argv for argv in remit_lines(lines) if argv[:3] == ["fake", "clock", "advance"])
    assert advance == ["fake", "clock", "advance", "31d", "--url", "http://127.0.0.1:8765"]
    parses(advance)


def test_a_month_later_is_the_next_renewal_not_thirty_days() -> None:
    created = 1_764_547_200  # 2025-12-01T00:00Z: December has 31 days
    renews = 1_767_225_600  # 2026-01-01T00:00Z
    assert days_until(renews, created) == 31
    assert days_until(renews, created + 5) == 31  # a few seconds later still reaches it
    assert days_until(renews - 3600, created) == 31  # rounded up, never short of it
    lines = next_steps("http://127.0.0.1:8000", has_tokens=True, renewal_days=days_until(renews, created))
    assert any(line.startswith("remit fake clock advance 31d ") for line in lines)


def test_a_service_on_another_database_is_named_not_reported_as_success() -> None:
    accepted = [Delivered("evt_1", "customer.created", 200, None, duplicate=True), Delivered("evt_2", "x", 200, None)]
    message = world_mismatch_message(accepted, set(), "http://127.0.0.1:8000/webhooks/stripe", "sqlite file /a/b.db")
    assert message is not None
    assert "2 of them are not in this command's database (sqlite file /a/b.db)" in message
    assert "called 1 of them duplicates" in message
    assert "DATABASE_URL" in message
    assert world_mismatch_message(accepted, {"evt_1", "evt_2"}, "u", "d") is None
    refused = [Delivered("evt_3", "x", 400, "signature_invalid")]
    assert world_mismatch_message(refused, set(), "u", "d") is None  # refusals are reported on their own


def test_two_fake_worlds_are_told_apart_before_anything_is_sent() -> None:
    message = other_world_message("http://127.0.0.1:8000", "evt_fake000080", "evt_fake000003", "sqlite file /a.db")
    assert message is not None
    assert "evt_fake000080" in message
    assert "sqlite file /a.db" in message
    assert "nothing was sent" in message
    assert other_world_message("u", "evt_fake000080", "evt_fake000080", "d") is None  # one world
    assert other_world_message("u", None, "evt_fake000003", "d") is None  # cannot tell: checked after sending
    assert other_world_message("u", "evt_fake000080", None, "d") is None
