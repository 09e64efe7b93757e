"""When a stored session outcome's URL and client secret stop being kept, and what blanking leaves (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from remit.billing.action_store import SESSION_SECRETS_TTL, redacted, secrets_expire_at

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def test_actions_without_a_session_hold_no_secrets() -> None:
    assert secrets_expire_at("create_customer", NOW, {"id": "cus_1", "created": epoch(NOW)}) is None
    assert secrets_expire_at("subscribe", NOW, {"id": "sub_1"}) is None


def test_a_session_expires_a_day_after_it_was_created() -> None:
    assert secrets_expire_at("create_portal_session", NOW, {"created": epoch(NOW)}) == NOW + SESSION_SECRETS_TTL
    assert secrets_expire_at("create_portal_session", NOW, {}) == NOW + SESSION_SECRETS_TTL


def test_a_session_created_before_it_was_stored_counts_from_its_creation() -> None:
    """A caller that took over a dead claim stores the session the processor made an hour before."""
    made = NOW - timedelta(hours=1)
    assert secrets_expire_at("create_portal_session", NOW, {"created": epoch(made)}) == made + SESSION_SECRETS_TTL


def test_a_processor_clock_ahead_never_pushes_the_expiry_past_a_day() -> None:
    ahead = {"created": epoch(NOW + timedelta(days=36))}
    assert secrets_expire_at("create_portal_session", NOW, ahead) == NOW + SESSION_SECRETS_TTL


def test_a_checkout_that_expires_sooner_expires_then() -> None:
    soon = NOW + timedelta(minutes=30)
    found = secrets_expire_at("create_checkout_session", NOW, {"created": epoch(NOW), "expires_at": epoch(soon)})
    assert found == soon


def test_blanking_keeps_everything_but_the_url_and_the_client_secret() -> None:
    session = {"id": "cs_1", "url": "https://pay.example/c/cs_1", "client_secret": "cs_1_secret", "status": "open"}
    assert redacted(session) == {"id": "cs_1", "url": None, "client_secret": None, "status": "open"}
    assert redacted({"id": "bps_1", "url": "https://billing.example/p/1"}) == {"id": "bps_1", "url": None}
