"""Mail settings: REMIT_SMTP_URL's forms, sender addresses, and problems named without values."""

from __future__ import annotations

from pathlib import Path

import pytest

from remit.config import DEVELOPMENT_MAIL_FROM, load_settings, mail_address_problem, parse_smtp_url
from remit.errors import ConfigurationError


@pytest.mark.parametrize(
    ("url", "host", "port", "tls", "user", "password"),
    [
        ("smtp://127.0.0.1", "127.0.0.1", 25, "opportunistic", None, None),
        ("smtp://mail.example:2525", "mail.example", 2525, "opportunistic", None, None),
        ("smtp+starttls://mail.example", "mail.example", 587, "starttls", None, None),
        ("smtps://mail.example", "mail.example", 465, "implicit", None, None),
        ("smtps://apikey:s%40cr%3At@mail.example", "mail.example", 465, "implicit", "apikey", "s@cr:t"),
    ],
)
def test_smtp_url_forms(url: str, host: str, port: int, tls: str, user: str | None, password: str | None) -> None:
    target = parse_smtp_url(url)
    assert (target.host, target.port, target.tls, target.username, target.password) == (
        host,
        port,
        tls,
        user,
        password,
    )
    assert "cr:t" not in repr(target)


def test_smtp_url_timeout() -> None:
    assert parse_smtp_url("smtp://h?timeout=2.5").timeout == 2.5
    assert parse_smtp_url("smtp://h").timeout == 30.0


@pytest.mark.parametrize(
    "url",
    ["http://h", "smtp://", "smtp://h:99999", "smtp://h/path", "smtp://h?verify=no", "smtp://h?timeout=x",
     "smtp://h?timeout=0", "smtp://:pw@h"],
)  # fmt: skip
def test_bad_smtp_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match=r"must|names no host|has a|needs|takes only") as error:
        parse_smtp_url(url)
    assert "pw" not in str(error.value)


def test_a_bad_smtp_url_is_named_and_never_echoed() -> None:
    with pytest.raises(ConfigurationError) as error:
        load_settings({"REMIT_SMTP_URL": "smtp://mailer:hunter2secret@mail.example/x"})
    assert error.value.problems[0].startswith("REMIT_SMTP_URL")
    assert "hunter2secret" not in str(error.value)


def test_smtp_needs_a_sender_and_every_problem_is_named_at_once() -> None:
    with pytest.raises(ConfigurationError) as error:
        load_settings({"REMIT_SMTP_URL": "smtp://mail.example", "REMIT_MAIL_OPERATOR": "ops at example"})
    problems = [problem.split(":")[0].split(" ")[0] for problem in error.value.problems]
    assert problems == ["REMIT_MAIL_OPERATOR", "REMIT_MAIL_FROM"]
    assert "ops at example" not in str(error.value)


def test_the_defaults_keep_mail_in_the_outbox() -> None:
    settings = load_settings({})
    assert settings.smtp is None
    assert settings.mail_sender == DEVELOPMENT_MAIL_FROM
    configured = load_settings({"REMIT_SMTP_URL": "smtps://h", "REMIT_MAIL_FROM": "Acme <billing@acme.example>"})
    assert configured.smtp is not None
    assert configured.mail_sender == "Acme <billing@acme.example>"


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("billing@acme.example", True),
        ("Acme Billing <billing@acme.example>", True),
        ("ops@localhost", True),
        ("billing", False),
        ("a@b.example, c@d.example", False),
        ("a@b.example\r\nBcc: x@y.example", False),
    ],
)
def test_mail_addresses(value: str, ok: bool) -> None:
    assert (mail_address_problem(value) is None) is ok


def test_the_template_directory_must_exist(tmp_path: Path) -> None:
    assert load_settings({"REMIT_TEMPLATE_DIR": str(tmp_path)}).template_dir == str(tmp_path)
    with pytest.raises(ConfigurationError) as error:
        load_settings({"REMIT_TEMPLATE_DIR": str(tmp_path / "missing")})
    assert error.value.problems[0].startswith("REMIT_TEMPLATE_DIR")
