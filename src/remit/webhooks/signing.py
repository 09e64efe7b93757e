"""Building a ``Stripe-Signature`` header, the sending side of Stripe's webhook signature scheme.

The fake processor signs every event it delivers exactly as Stripe does: ``t=<unix time>,v1=<hex>``, where the
hex is HMAC-SHA256 with the endpoint secret over ``f"{t}.{payload}"``. Keeping it here, beside the receiving
side (:mod:`remit.webhooks.signature`), lets tests round-trip one through the other and through the official
``stripe.WebhookSignature.verify_header``. The secret is never returned, logged or put in an error.
"""

from __future__ import annotations

import hashlib
import hmac

SCHEME = "v1"


def compute_signature(payload: str | bytes, secret: str, timestamp: int) -> str:
    """The hex HMAC-SHA256 of ``f"{timestamp}.{payload}"`` under ``secret``."""
    body = payload.decode("utf-8") if isinstance(payload, bytes) else payload
    message = f"{timestamp}.{body}".encode()
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature_header(payload: str | bytes, secrets: str | list[str], timestamp: int) -> str:
    """The ``Stripe-Signature`` value for ``payload`` signed at ``timestamp``.

    With several secrets (a rotation in progress, as Stripe does for 24 hours after "roll secret"), one
    ``v1=`` element per secret follows the timestamp, so a receiver that knows either one accepts it.
    """
    keys = [secrets] if isinstance(secrets, str) else list(secrets)
    if not keys:
        raise ValueError("at least one secret is needed to sign a payload")
    parts = [f"t={timestamp}"]
    parts.extend(f"{SCHEME}={compute_signature(payload, key, timestamp)}" for key in keys)
    return ",".join(parts)


__all__ = ["SCHEME", "compute_signature", "signature_header"]
