"""Stripe-Signature verification: each refusal has its own code; rotation; tolerance on remit's clock."""

from __future__ import annotations

import pytest
import stripe

from remit.errors import WebhookError
from remit.webhooks.signature import parse_header, verify

NOW = 1_800_000_000
BODY = '{"id": "evt_1", "object": "event"}'
SECRET = "whsec_current"
OLD = "whsec_previous"


def header(body: str = BODY, secret: str = SECRET, timestamp: int = NOW) -> str:
    return str(stripe.WebhookSignature.generate_signature_header(body, secret, timestamp=timestamp))


def code_of(**kwargs: object) -> str:
    args: dict[str, object] = {"payload": BODY, "header": header(), "secrets": [SECRET], "tolerance": 300, "now": NOW}
    args.update(kwargs)
    with pytest.raises(WebhookError) as refused:
        verify(**args)  # type: ignore[arg-type]
    return refused.value.code


def test_a_good_signature_returns_its_timestamp() -> None:
    assert verify(BODY, header(), [SECRET], tolerance=300, now=NOW) == NOW


def test_any_configured_secret_may_match() -> None:
    assert verify(BODY, header(secret=OLD), [SECRET, OLD], tolerance=300, now=NOW) == NOW
    assert verify(BODY, header(secret=SECRET), [OLD, SECRET], tolerance=300, now=NOW) == NOW


def test_a_header_with_several_signatures_matches_on_any() -> None:
    both = header() + "," + header(secret=OLD).split(",")[1]
    assert verify(BODY, both, [OLD], tolerance=300, now=NOW) == NOW


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (None, "signature_missing"),
        ("", "signature_missing"),
        ("   ", "signature_missing"),
        ("junk", "signature_malformed"),
        ("t=abc,v1=00", "signature_malformed"),
        ("v1=00", "signature_malformed"),
        (f"t={NOW}", "signature_malformed"),
        (f"t={NOW},v0=00", "signature_malformed"),
    ],
)
def test_missing_and_malformed_headers(value: str | None, code: str) -> None:
    assert code_of(header=value) == code


def test_a_wrong_secret_or_body_is_invalid() -> None:
    assert code_of(secrets=["whsec_other"]) == "signature_invalid"
    assert code_of(payload=BODY + " ") == "signature_invalid"


def test_an_old_timestamp_is_expired_only_once_the_signature_matches() -> None:
    stale = header(timestamp=NOW - 301)
    assert code_of(header=stale) == "signature_expired"
    assert code_of(header=stale, secrets=["whsec_other"]) == "signature_invalid"
    assert verify(BODY, header(timestamp=NOW - 300), [SECRET], tolerance=300, now=NOW) == NOW - 300


def test_no_configured_secret_is_a_server_problem() -> None:
    with pytest.raises(WebhookError) as refused:
        verify(BODY, header(), [], tolerance=300, now=NOW)
    assert refused.value.code == "endpoint_misconfigured"
    assert refused.value.status_code == 500


def test_errors_never_carry_the_body_or_a_secret() -> None:
    for kwargs in ({"secrets": ["whsec_other"]}, {"header": header(timestamp=NOW - 1000)}, {"header": "junk"}):
        with pytest.raises(WebhookError) as refused:
            verify(**{"payload": BODY, "header": header(), "secrets": [SECRET], "tolerance": 300, "now": NOW, **kwargs})  # type: ignore[arg-type]
        assert SECRET not in str(refused.value)
        assert BODY not in str(refused.value)


def test_parse_header_reads_timestamp_and_every_v1() -> None:
    parsed = parse_header("t=12, v1=aa ,v1=bb,v0=cc")
    assert parsed.timestamp == 12
    assert parsed.signatures == ("aa", "bb")
