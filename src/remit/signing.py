"""HMAC-SHA256 signatures remit makes and checks, in the two schemes it speaks.

**Stripe's webhook header** (``Stripe-Signature: t=<unix time>,v1=<hex>[,v1=<hex>…]``): the hex is
HMAC-SHA256 under the endpoint secret over ``f"{t}.{payload}"``. :func:`stripe_header` builds it (the fake
processor signs its deliveries with it, one ``v1=`` per secret during a rotation, as Stripe does for a day after
"roll secret"); :func:`verify_stripe_header` checks one against any of several secrets and a tolerance on
remit's own clock. A header must carry exactly one ``t=``: the signed time and the time whose age is checked
are then one and the same, so a captured delivery cannot be dressed with a fresh ``t=`` and replayed (Stripe's
own library reads the first ``t=``, remit's earlier parser the last — together they let ``t=OLD,v1=…,t=NOW``
through). As in Stripe's libraries, the age is checked only once a signature matched, and only for being too
old. The parser is remit's own, rather than ``stripe.WebhookSignature``'s, for that reason and so this module
stays below every package that uses it; the tests check both directions against the official package.

**Plain hex HMAC-SHA256** over a raw body (the provisioning hand-off): :func:`hex_signature` and
:func:`verify_hex_signature`.

Every comparison is constant-time over every configured secret (no early exit that would tell a caller which
secret matched), and neither a body nor a secret ever appears in an error message.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from remit.errors import WebhookError

#: The only signature scheme of Stripe's header remit signs with and accepts.
STRIPE_SCHEME = "v1"
#: A Unix time in seconds has at most this many digits (year 33658); longer ``t=`` values are malformed.
MAX_TIMESTAMP_DIGITS = 11


def _key(secret: str) -> bytes:
    return secret.encode("utf-8")


def _same(expected: str, given: str) -> bool:
    """Constant-time equality of a computed hex digest and a presented one (any text: never raises)."""
    return hmac.compare_digest(expected.encode("ascii"), given.encode("utf-8", "backslashreplace"))


# --- Stripe's scheme ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StripeSignature:
    """A parsed ``Stripe-Signature`` header: its one timestamp and every ``v1`` signature."""

    timestamp: int
    signatures: tuple[str, ...]


def stripe_signature(payload: str | bytes, secret: str, timestamp: int) -> str:
    """The hex HMAC-SHA256 of ``f"{timestamp}.{payload}"`` under ``secret``."""
    body = payload if isinstance(payload, bytes) else payload.encode("utf-8")
    return hmac.new(_key(secret), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def stripe_header(payload: str | bytes, secrets: str | Sequence[str], timestamp: int) -> str:
    """The ``Stripe-Signature`` value for ``payload`` signed at ``timestamp``, one ``v1=`` per secret."""
    keys = [secrets] if isinstance(secrets, str) else list(secrets)
    if not keys:
        raise ValueError("at least one secret is needed to sign a payload")
    parts = [f"t={timestamp}"]
    parts.extend(f"{STRIPE_SCHEME}={stripe_signature(payload, key, timestamp)}" for key in keys)
    return ",".join(parts)


def _timestamp(value: str) -> int:
    """A ``t=`` value: plain ASCII digits (``int()`` would also take ``+1``, `` 1``, ``1_0`` and non-ASCII digits)."""
    if not (value.isascii() and value.isdigit() and len(value) <= MAX_TIMESTAMP_DIGITS):
        raise WebhookError("signature_malformed", "the signature timestamp is not a Unix time in seconds")
    return int(value)


def parse_stripe_header(header: str | None) -> StripeSignature:
    """Split ``t=…,v1=…[,v1=…]``; raise ``signature_missing`` or ``signature_malformed`` (both 400).

    Elements of other schemes (``v0=``) and without ``=`` are ignored, as Stripe documents; a header with no
    ``t=``, more than one ``t=``, or no ``v1=`` is malformed."""
    if header is None or not header.strip():
        raise WebhookError("signature_missing", "the Stripe-Signature header is missing")
    timestamps: list[int] = []
    signatures: list[str] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            timestamps.append(_timestamp(value.strip()))
        elif key == STRIPE_SCHEME and value.strip():
            signatures.append(value.strip())
    if len(timestamps) > 1:
        raise WebhookError("signature_malformed", "the Stripe-Signature header has more than one t=")
    if not timestamps or not signatures:
        raise WebhookError("signature_malformed", f"the Stripe-Signature header lacks t= or {STRIPE_SCHEME}=")
    return StripeSignature(timestamps[0], tuple(signatures))


def _any_matches(expected: Iterable[str], presented: Sequence[str]) -> bool:
    """Whether any presented signature equals any expected one, comparing every pair (no early exit)."""
    matched = False
    for digest in expected:
        for signature in presented:
            matched |= _same(digest, signature)
    return matched


def verify_stripe_header(
    payload: str | bytes,
    header: str | None,
    secrets: Sequence[str],
    *,
    tolerance: int,
    now: float,
    parsed: StripeSignature | None = None,
) -> int:
    """Check ``header`` against ``payload`` (the body exactly as received) with each of ``secrets``; return
    the signed timestamp. ``now`` is the current Unix time from the runtime's clock; ``parsed`` is ``header``
    already read by :func:`parse_stripe_header`, if the caller has it.

    Raises :class:`~remit.errors.WebhookError` with code ``signature_missing``, ``signature_malformed``,
    ``signature_invalid`` or ``signature_expired`` (status 400), or ``endpoint_misconfigured`` (500) when no
    secret is configured.
    """
    parsed = parsed or parse_stripe_header(header)
    if not secrets:
        raise WebhookError("endpoint_misconfigured", "no webhook secret is configured", status_code=500)
    expected = [stripe_signature(payload, secret, parsed.timestamp) for secret in secrets]
    if not _any_matches(expected, parsed.signatures):
        raise WebhookError("signature_invalid", "no signature matches the payload with a configured secret")
    if parsed.timestamp < now - tolerance:
        raise WebhookError("signature_expired", f"the signature is older than the {tolerance}s tolerance")
    return parsed.timestamp


# --- Plain hex HMAC-SHA256 ----------------------------------------------------------------------------------


def hex_signature(body: bytes, secret: str) -> str:
    """The lowercase hex HMAC-SHA256 of ``body`` under ``secret``."""
    return hmac.new(_key(secret), body, hashlib.sha256).hexdigest()


def verify_hex_signature(body: bytes, signature: str | None, secrets: Sequence[str]) -> bool:
    """Whether ``signature`` is the hex HMAC-SHA256 of ``body`` under any of ``secrets``, compared in constant
    time against every one. Upper-case hex is accepted (it is the same digest); no secret means no match."""
    if not signature or not secrets:
        return False
    return _any_matches((hex_signature(body, secret) for secret in secrets), [signature.strip().lower()])


__all__ = [
    "MAX_TIMESTAMP_DIGITS",
    "STRIPE_SCHEME",
    "StripeSignature",
    "hex_signature",
    "parse_stripe_header",
    "stripe_header",
    "stripe_signature",
    "verify_hex_signature",
    "verify_stripe_header",
]
