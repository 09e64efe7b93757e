"""One redaction for every surface: logs, the internal API, the CLI and anything else that shows stored text.

Error text remit keeps (a handler's exception message in ``last_error``, a job's ``errors``) and everything it
logs pass through :func:`redact_value` before a person or a pipeline sees it: whatever sits under a sensitive
key (a secret, a token, an email, a name, a raw body) is masked, and any string that looks like a Stripe key, a
bearer token, a password in a URL, a credential in a URL's query string or an email address is masked wherever
it appears. Callers should not rely on it — they log identifiers only — but a slip in one call site, or a host
handler whose exception quotes a customer, must not put a secret or an email in front of an operator.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

REDACTED = "[redacted]"

#: Key parts that mark a value as sensitive wherever they appear in a key (``stripe_api_key``, ``raw_body``).
SENSITIVE_KEY_PARTS = frozenset(
    {
        "secret",
        "secrets",
        "token",
        "tokens",
        "password",
        "passwd",
        "authorization",
        "auth",
        "cookie",
        "email",
        "emails",
        "body",
        "payload",
        "signature",
        "address",
        "phone",
        "iban",
        "cvc",
    }
)
#: Whole keys that are sensitive though their parts are not (a person's name, not ``job_name``).
SENSITIVE_KEYS = frozenset(
    {
        "name",
        "api_key",
        "apikey",
        "first_name",
        "last_name",
        "full_name",
        "customer_name",
        "billing_name",
        "display_name",
        "holder_name",
        "cardholder_name",
        "card_number",
        "raw",
        "headers",
        "stripe_signature",
    }
)

_STRIPE_KEY = re.compile(r"\b(?:sk|rk|pk|whsec)_[A-Za-z0-9_]{4,}")
#: An email address, also percent-encoded in a URL (``ada%40example.com``).
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+(?:@|%40)[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=\-]+")
_URL_PASSWORD = re.compile(r"(?P<scheme>[a-z][a-z0-9+.\-]*://)(?P<user>[^:/@\s]*):[^@/\s]+@")
#: A query parameter whose name says it carries a credential (``?access_token=…``, ``&api_key=…``).
_QUERY_CREDENTIAL = re.compile(
    r"(?i)(?P<name>[?&;][^=&;#\s]*(?:token|key|secret|password|passwd|signature|auth|code|session)[^=&;#\s]*=)"
    r"[^&;#\s]+"
)

#: Whole keys that name a count or a flag about a sensitive thing, never the thing (the provisioning
#: reconciler's ``skipped_no_payload`` count, which its runbook reads from the log).
NEUTRAL_KEYS = frozenset({"skipped_no_payload", "payload_missing"})
#: A last key part that makes the value a measure or a reference, not the thing itself (``body_bytes``).
NEUTRAL_LAST_PARTS = frozenset({"bytes", "size", "length", "len", "count", "id", "ids", "type", "sha256", "hash"})
#: Substrings of a key that name a credential though no single part does (``stripe_api_key``).
SENSITIVE_KEY_FRAGMENTS = ("api_key", "apikey", "private_key", "signing_key", "access_key", "client_key")


def is_sensitive_key(key: str) -> bool:
    """Whether a value under ``key`` may hold a secret or personal data."""
    lowered = key.lower()
    if lowered in NEUTRAL_KEYS:
        return False
    if lowered in SENSITIVE_KEYS or any(fragment in lowered for fragment in SENSITIVE_KEY_FRAGMENTS):
        return True
    parts = re.split(r"[_\-.\s]+", lowered)
    if len(parts) > 1 and parts[-1] in NEUTRAL_LAST_PARTS:
        return False
    return any(part in SENSITIVE_KEY_PARTS for part in parts)


def mask_text(text: str) -> str:
    """Mask Stripe keys, webhook secrets, bearer tokens, URL passwords, credentials in query strings and email
    addresses inside ``text``."""
    text = _STRIPE_KEY.sub(lambda match: match.group(0).split("_", 1)[0] + "_" + REDACTED, text)
    text = _BEARER.sub(lambda match: f"{match.group(1)} {REDACTED}", text)
    text = _URL_PASSWORD.sub(lambda match: f"{match.group('scheme')}{match.group('user')}:{REDACTED}@", text)
    text = _QUERY_CREDENTIAL.sub(lambda match: f"{match.group('name')}{REDACTED}", text)
    return _EMAIL.sub(REDACTED, text)


def redact_value(value: Any) -> Any:
    """Redact one value: mapping keys by name, strings by pattern, containers recursively."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return {
            key: (REDACTED if isinstance(key, str) and is_sensitive_key(key) else redact_value(item))
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple, set, frozenset)):
        return [redact_value(item) for item in value]
    if isinstance(value, (bytes, bytearray)):
        return REDACTED  # raw bytes are bodies more often than not
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return mask_text(str(value))


__all__ = ["REDACTED", "is_sensitive_key", "mask_text", "redact_value"]
