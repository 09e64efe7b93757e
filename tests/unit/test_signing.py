"""remit.signing: Stripe's ``t=/v1=`` header (built, parsed, verified) and plain hex HMAC-SHA256."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
import stripe
from hypothesis import given, settings
from hypothesis import strategies as st

from remit.errors import WebhookError
from remit.signing import (
    hex_signature,
    parse_stripe_header,
    stripe_header,
    stripe_signature,
    verify_hex_signature,
    verify_stripe_header,
)

#: A loaded machine must not turn a slow example into a failure.
patient = settings(deadline=None)

NOW = 1_800_000_000
BODY = '{"id": "evt_1", "object": "event"}'
SECRET = "whsec_current"
OLD = "whsec_previous"

secrets_strategy = st.text(st.characters(codec="utf-8"), min_size=1, max_size=40)
payload_strategy = st.text(st.characters(codec="utf-8"), max_size=300)


def header(body: str = BODY, secret: str = SECRET, timestamp: int = NOW) -> str:
    """A header made by the official package, so remit's verifier is checked against Stripe's signer."""
    return str(stripe.WebhookSignature.generate_signature_header(body, secret, timestamp=timestamp))


def code_of(**kwargs: object) -> str:
    args: dict[str, object] = {"payload": BODY, "header": header(), "secrets": [SECRET], "tolerance": 300, "now": NOW}
    args.update(kwargs)
    with pytest.raises(WebhookError) as refused:
        verify_stripe_header(**args)  # type: ignore[arg-type]
    return refused.value.code


# --- Stripe's header: verification --------------------------------------------------------------------------


def test_a_good_signature_returns_its_timestamp() -> None:
    assert verify_stripe_header(BODY, header(), [SECRET], tolerance=300, now=NOW) == NOW
    assert verify_stripe_header(BODY.encode(), header(), [SECRET], tolerance=300, now=NOW) == NOW


def test_any_configured_secret_may_match() -> None:
    assert verify_stripe_header(BODY, header(secret=OLD), [SECRET, OLD], tolerance=300, now=NOW) == NOW
    assert verify_stripe_header(BODY, header(secret=SECRET), [OLD, SECRET], tolerance=300, now=NOW) == NOW


def test_a_header_with_several_signatures_matches_on_any() -> None:
    both = header() + "," + header(secret=OLD).split(",")[1]
    assert verify_stripe_header(BODY, both, [OLD], tolerance=300, now=NOW) == NOW


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
        (f"t=+{NOW},v1=00", "signature_malformed"),
        (f"t=-{NOW},v1=00", "signature_malformed"),
        ("t=1_800_000_000,v1=00", "signature_malformed"),
        ("t=١٨٠٠٠٠٠٠٠٠,v1=00", "signature_malformed"),
        ("t=" + "9" * 40 + ",v1=00", "signature_malformed"),
    ],
)
def test_missing_and_malformed_headers(value: str | None, code: str) -> None:
    assert code_of(header=value) == code


def test_a_wrong_secret_or_body_is_invalid() -> None:
    assert code_of(secrets=["whsec_other"]) == "signature_invalid"
    assert code_of(payload=BODY + " ") == "signature_invalid"


def test_a_non_ascii_signature_is_invalid_not_an_error() -> None:
    assert code_of(header=f"t={NOW},v1=é{'0' * 63}") == "signature_invalid"


def test_an_old_timestamp_is_expired_only_once_the_signature_matches() -> None:
    stale = header(timestamp=NOW - 301)
    assert code_of(header=stale) == "signature_expired"
    assert code_of(header=stale, secrets=["whsec_other"]) == "signature_invalid"
    assert verify_stripe_header(BODY, header(timestamp=NOW - 300), [SECRET], tolerance=300, now=NOW) == NOW - 300


@pytest.mark.parametrize("position", ["after", "before"])
def test_a_second_timestamp_cannot_refresh_a_captured_signature(position: str) -> None:
    """``t=OLD,v1=<sig over OLD>,t=NOW``: the signature is genuine and the last t= is fresh, but the signed time is
    an hour old. Either timestamp alone is a consistent header; both together are refused."""
    captured = header(timestamp=NOW - 3600)
    forged = f"{captured},t={NOW}" if position == "after" else f"t={NOW},{captured}"
    assert code_of(header=forged) == "signature_malformed"
    assert code_of(header=f"{header()},t={NOW}") == "signature_malformed"  # even a repeat of the same time


def test_no_configured_secret_is_a_server_problem() -> None:
    with pytest.raises(WebhookError) as refused:
        verify_stripe_header(BODY, header(), [], tolerance=300, now=NOW)
    assert refused.value.code == "endpoint_misconfigured"
    assert refused.value.status_code == 500


def test_errors_never_carry_the_body_or_a_secret() -> None:
    for kwargs in ({"secrets": ["whsec_other"]}, {"header": header(timestamp=NOW - 1000)}, {"header": "junk"}):
        args = {"payload": BODY, "header": header(), "secrets": [SECRET], "tolerance": 300, "now": NOW, **kwargs}
        with pytest.raises(WebhookError) as refused:
            verify_stripe_header(**args)  # type: ignore[arg-type]
        assert SECRET not in str(refused.value)
        assert BODY not in str(refused.value)


def test_parse_reads_the_timestamp_and_every_v1() -> None:
    parsed = parse_stripe_header("t=12, v1=aa ,v1=bb,v0=cc")
    assert parsed.timestamp == 12
    assert parsed.signatures == ("aa", "bb")


# --- Stripe's header: building ------------------------------------------------------------------------------


def test_a_built_header_verifies_with_the_official_package() -> None:
    payload = json.dumps({"id": "evt_1", "object": "event"})
    built = stripe_header(payload, "whsec_test", NOW)
    assert built.startswith(f"t={NOW},v1=")
    assert stripe.WebhookSignature.verify_header(payload, built, "whsec_test") is True
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header(payload, built, "whsec_other")


def test_a_built_header_carries_one_signature_per_secret_during_rotation() -> None:
    built = stripe_header("{}", ["whsec_new", "whsec_old"], 5)
    assert built == f"t=5,v1={stripe_signature('{}', 'whsec_new', 5)},v1={stripe_signature('{}', 'whsec_old', 5)}"
    assert verify_stripe_header("{}", built, ["whsec_old"], tolerance=10, now=5) == 5
    with pytest.raises(ValueError, match="secret"):
        stripe_header("{}", [], 5)


def test_the_signature_is_hmac_sha256_of_time_dot_payload() -> None:
    expected = hmac.new(b"k", b"7.body", hashlib.sha256).hexdigest()
    assert stripe_signature("body", "k", 7) == expected
    assert stripe_signature(b"body", "k", 7) == expected


@patient
@given(payload=payload_strategy, secret=secrets_strategy, timestamp=st.integers(0, 10**10))
def test_property_remit_and_the_official_package_agree(payload: str, secret: str, timestamp: int) -> None:
    ours = stripe_header(payload, secret, timestamp)
    theirs = str(stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp=timestamp))
    assert ours == theirs
    assert verify_stripe_header(payload, theirs, [secret], tolerance=1, now=timestamp) == timestamp


@patient
@given(
    payload=payload_strategy,
    secrets=st.lists(secrets_strategy, min_size=1, max_size=3, unique=True),
    other=secrets_strategy,
    timestamp=st.integers(0, 10**10),
)
def test_property_a_header_verifies_under_each_signing_secret_and_no_other(
    payload: str, secrets: list[str], other: str, timestamp: int
) -> None:
    built = stripe_header(payload, secrets, timestamp)
    for secret in secrets:
        assert verify_stripe_header(payload, built, [other, secret], tolerance=0, now=timestamp) == timestamp
    if other not in secrets:
        with pytest.raises(WebhookError) as refused:
            verify_stripe_header(payload, built, [other], tolerance=0, now=timestamp)
        assert refused.value.code == "signature_invalid"


@patient
@given(payload=payload_strategy, extra=st.text(st.characters(codec="utf-8"), min_size=1, max_size=5))
def test_property_any_change_to_the_payload_is_refused(payload: str, extra: str) -> None:
    built = stripe_header(payload, SECRET, NOW)
    with pytest.raises(WebhookError) as refused:
        verify_stripe_header(payload + extra, built, [SECRET], tolerance=300, now=NOW)
    assert refused.value.code == "signature_invalid"


@patient
@given(st.text(max_size=200))
def test_property_parsing_any_header_refuses_or_reads_one_timestamp(text: str) -> None:
    timestamps = sum(item.strip().startswith("t=") for item in text.split(","))
    refused: WebhookError | None = None
    try:
        parsed = parse_stripe_header(text)
    except WebhookError as exc:
        refused = exc
    if refused is not None:
        assert (refused.code, refused.status_code) in {("signature_missing", 400), ("signature_malformed", 400)}
    else:
        assert timestamps == 1
        assert parsed.timestamp >= 0
        assert parsed.signatures


# --- Plain hex HMAC-SHA256 ----------------------------------------------------------------------------------


def test_hex_signature_is_the_hex_hmac_sha256_of_the_body() -> None:
    assert hex_signature(b"payload", "s3cret") == hmac.new(b"s3cret", b"payload", hashlib.sha256).hexdigest()


def test_hex_verification_with_rotation_and_refusals() -> None:
    body = b'{"account": "acct_1"}'
    signature = hex_signature(body, "new")
    assert verify_hex_signature(body, signature, ["old", "new"])
    assert verify_hex_signature(body, signature.upper(), ["new"])
    assert verify_hex_signature(body, f"  {signature}\n", ["new"])
    assert not verify_hex_signature(body + b" ", signature, ["new"])
    assert not verify_hex_signature(body, signature, ["old"])
    assert not verify_hex_signature(body, signature, [])
    assert not verify_hex_signature(body, None, ["new"])
    assert not verify_hex_signature(body, "", ["new"])
    assert not verify_hex_signature(body, "é" * 64, ["new"])
    assert not verify_hex_signature(body, signature[:-1], ["new"])


@patient
@given(
    body=st.binary(max_size=300),
    secret=secrets_strategy,
    other=secrets_strategy,
    flip=st.integers(0, 63),
)
def test_property_hex_round_trip_and_any_flipped_digit_fails(body: bytes, secret: str, other: str, flip: int) -> None:
    signature = hex_signature(body, secret)
    assert len(signature) == 64
    assert verify_hex_signature(body, signature, [secret])
    assert verify_hex_signature(body, signature, [other, secret])
    flipped = signature[:flip] + ("0" if signature[flip] != "0" else "1") + signature[flip + 1 :]
    assert not verify_hex_signature(body, flipped, [secret])
    # HMAC pads a short key with zero bytes, so "0" and "0\x00" are one key, not two secrets.
    if other.rstrip("\x00") != secret.rstrip("\x00"):
        assert not verify_hex_signature(body, signature, [other])
