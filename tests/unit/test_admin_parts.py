"""The admin page's pure parts: password hashes, the session cookie codec, forms, the login limit, ages."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import bcrypt
import pytest
from itsdangerous import URLSafeTimedSerializer
from typer.testing import CliRunner

from remit.admin.access import LoginLimiter
from remit.admin.forms import FormRefused, parse_form
from remit.admin.passwords import hash_password, verify
from remit.admin.render import ago, seconds
from remit.admin.sessions import AdminSession, SessionCodec, same_token
from remit.cli import app as cli
from remit.config import Settings, load_settings
from remit.errors import ConfigurationError
from tests.support.admin import PASSWORD


def settings(**values: str) -> Settings:
    return Settings.model_validate({"REMIT_ADMIN_SESSION_SECRET": "s" * 40, **values})


def test_argon2_and_bcrypt_hashes_verify_and_nothing_else_does() -> None:
    argon = hash_password("a long password here")
    assert argon.startswith("$argon2id$")
    assert verify(argon, "a long password here")
    assert not verify(argon, "a long password herE")
    hashed = bcrypt.hashpw(b"another password", bcrypt.gensalt(rounds=4)).decode()
    assert verify(hashed, "another password")
    assert not verify(hashed, "another passwore")
    assert not verify(hashed, "x" * 100)  # past bcrypt's 72 bytes: refused, not cut
    assert not verify("plaintext-password", "plaintext-password")
    assert not verify("$argon2id$broken", "anything")


def test_the_hash_setting_refuses_a_plain_password_without_echoing_it() -> None:
    with pytest.raises(ConfigurationError) as raised:
        load_settings({"REMIT_ADMIN_PASSWORD_HASH": "hunter2-plaintext"})
    assert "REMIT_ADMIN_PASSWORD_HASH" in str(raised.value)
    assert "hunter2" not in str(raised.value)


def test_production_needs_a_session_secret_when_the_admin_page_is_on() -> None:
    base = {"REMIT_ENV": "production", "REMIT_ADMIN_PASSWORD_HASH": hash_password("a long password here")}
    problems = Settings.model_validate(base).production_problems()
    assert any("REMIT_ADMIN_SESSION_SECRET is required" in p for p in problems)
    ok = Settings.model_validate({**base, "REMIT_ADMIN_SESSION_SECRET": "k" * 40}).production_problems()
    assert not any("REMIT_ADMIN_SESSION_SECRET" in p for p in ok)


def test_a_session_round_trips_and_a_forged_or_expired_one_does_not(monkeypatch: pytest.MonkeyPatch) -> None:
    codec = SessionCodec(settings())
    session = AdminSession.new("admin")
    value = codec.dumps(session)
    assert codec.loads(value) == session
    assert codec.loads(value[:-2] + ("AA" if not value.endswith("AA") else "BB")) is None
    other = SessionCodec(settings(REMIT_ADMIN_SESSION_SECRET="t" * 40))
    assert other.loads(value) is None  # another secret
    forged = URLSafeTimedSerializer("s" * 40, salt="another-salt").dumps({"u": "admin", "s": "x", "c": "y"})
    assert codec.loads(forged) is None
    issued = codec.dumps(session)
    later = time.time() + 8 * 3600 + 5
    monkeypatch.setattr(time, "time", lambda: later)
    assert codec.loads(issued) is None  # older than REMIT_ADMIN_SESSION_HOURS (8)
    monkeypatch.undo()
    assert codec.loads(issued) == session
    assert codec.loads(None) is None
    assert codec.session_cookie == "__Host-remit_admin"
    assert SessionCodec(settings(REMIT_ADMIN_COOKIE_SECURE="false")).session_cookie == "remit_admin"


def test_login_tokens_match_only_their_cookie() -> None:
    codec = SessionCodec(settings())
    token, cookie = codec.login_token()
    assert codec.login_token_matches(cookie, token)
    assert not codec.login_token_matches(cookie, token + "x")
    assert not codec.login_token_matches(None, token)
    assert not codec.login_token_matches(cookie, None)
    assert same_token("abc", "abc")
    assert not same_token("", "")
    assert not same_token(None, "abc")


def test_forms_parse_and_refuse_what_is_not_a_form() -> None:
    assert parse_form(b"a=1&b=&a=2&c=x%20y") == {"a": "1", "b": "", "c": "x y"}
    with pytest.raises(FormRefused):
        parse_form(b"\xff\xfe")
    with pytest.raises(ValueError, match=r"max_num_fields|Max number"):
        parse_form("&".join(f"f{i}=1" for i in range(200)).encode())


def test_the_login_limiter_counts_failures_per_client() -> None:
    limiter = LoginLimiter(2, 60)
    assert limiter.allowed("10.0.0.1")
    limiter.failed("10.0.0.1")
    limiter.failed("10.0.0.1")
    assert not limiter.allowed("10.0.0.1")
    assert 1 <= limiter.retry_after("10.0.0.1") <= 60
    assert limiter.allowed("10.0.0.2")


def test_ages_are_short() -> None:
    now = datetime(2025, 1, 1, 12, tzinfo=UTC)
    assert ago(None, now) == "—"
    assert ago(now - timedelta(seconds=42), now) == "42s"
    assert ago(now - timedelta(minutes=3, seconds=5), now) == "3m"
    assert ago((now - timedelta(hours=5)).replace(tzinfo=None), now) == "5h"
    assert seconds(2 * 86400 + 5) == "2d"


def test_hash_password_reads_a_piped_line_and_says_so_in_one_line_when_there_is_none() -> None:
    runner = CliRunner()
    piped = runner.invoke(cli, ["admin", "hash-password"], input=f"{PASSWORD}\n")
    assert piped.exit_code == 0, piped.output
    assert verify(piped.stdout.strip(), PASSWORD)
    assert PASSWORD not in piped.output
    for empty in ("", "\n"):
        refused = runner.invoke(cli, ["admin", "hash-password"], input=empty)
        assert refused.exit_code == 2
        assert refused.stderr.startswith("error: no password on standard input")
        assert len(refused.stderr.strip().splitlines()) == 1
