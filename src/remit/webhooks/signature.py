"""Verifying the ``Stripe-Signature`` header of an incoming webhook.

The HMAC comparison is the official ``stripe`` package's (:meth:`stripe.WebhookSignature.verify_header`), so
remit checks exactly what Stripe documents. Around it remit adds what the package does not do:

- several secrets at once, so a secret can be rotated without a window of refused events (the first that
  matches wins);
- a stable error code per reason (``signature_missing``, ``signature_malformed``, ``signature_invalid``,
  ``signature_expired``) instead of one exception with an English message;
- the tolerance measured on remit's injectable clock rather than ``time.time()``, so the fake processor's
  moved clock and the service agree. As in Stripe's libraries, the timestamp is only checked once a
  signature matched, and only for being too old.

Neither the body nor a secret ever appears in an error message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import stripe

from remit.errors import WebhookError

SCHEME = "v1"


@dataclass(frozen=True, slots=True)
class SignatureHeader:
    """The parts of a ``Stripe-Signature`` header remit uses."""

    timestamp: int
    signatures: tuple[str, ...]


def parse_header(header: str | None) -> SignatureHeader:
    """Split ``t=…,v1=…[,v1=…]``; raise ``signature_missing`` or ``signature_malformed``."""
    if header is None or not header.strip():
        raise WebhookError("signature_missing", "the Stripe-Signature header is missing")
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise WebhookError("signature_malformed", "the signature timestamp is not a number") from None
        elif key == SCHEME and value:
            signatures.append(value)
    if timestamp is None or not signatures:
        raise WebhookError("signature_malformed", f"the Stripe-Signature header lacks t= or {SCHEME}=")
    return SignatureHeader(timestamp, tuple(signatures))


def verify(
    payload: str,
    header: str | None,
    secrets: Sequence[str],
    *,
    tolerance: int,
    now: float,
    parsed: SignatureHeader | None = None,
) -> int:
    """Check ``header`` against ``payload`` (the body as received, decoded as UTF-8) with each of
    ``secrets``; return the signed timestamp. ``now`` is the current Unix time from the runtime's clock.

    Raises :class:`~remit.errors.WebhookError` with code ``signature_missing``, ``signature_malformed``,
    ``signature_invalid`` or ``signature_expired`` (status 400), or ``endpoint_misconfigured`` (500) when no
    secret is configured. ``parsed`` is ``header`` already read by :func:`parse_header`, if the caller has it.
    """
    parsed = parsed or parse_header(header)
    if not secrets:
        raise WebhookError("endpoint_misconfigured", "no webhook secret is configured", status_code=500)
    if not any(_matches(payload, header, secret) for secret in secrets):
        raise WebhookError("signature_invalid", "no signature matches the payload with a configured secret")
    if parsed.timestamp < now - tolerance:
        raise WebhookError("signature_expired", f"the signature is older than the {tolerance}s tolerance")
    return parsed.timestamp


def _matches(payload: str, header: str | None, secret: str) -> bool:
    try:
        stripe.WebhookSignature.verify_header(payload, header, secret, tolerance=None)
    except stripe.SignatureVerificationError:
        return False
    return True


__all__ = ["SignatureHeader", "parse_header", "verify"]
