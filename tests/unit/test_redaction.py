"""remit.telemetry.redaction: the one redaction every surface uses (logs, API, CLI)."""

from __future__ import annotations

import pytest

from remit.telemetry import logging as remit_logging
from remit.telemetry.redaction import REDACTED, mask_text, redact_value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("GET /a?access_token=abc123&limit=5", f"GET /a?access_token={REDACTED}&limit=5"),
        ("https://x.test/cb?code=xyz;state=1", f"https://x.test/cb?code={REDACTED};state=1"),
        ("/hook?api_key=k1&Signature=s2", f"/hook?api_key={REDACTED}&Signature={REDACTED}"),
        ("/customers?email=ada%40example.com", f"/customers?email={REDACTED}"),
        ("filter type=ada%40example.com", f"filter type={REDACTED}"),
        ("/customers?starting_after=cus_1&limit=10", "/customers?starting_after=cus_1&limit=10"),
    ],
)
def test_credentials_in_query_strings_and_encoded_emails_are_masked(text: str, expected: str) -> None:
    assert mask_text(text) == expected


def test_redact_value_masks_keys_and_patterns_in_stored_errors() -> None:
    stored = {
        "type": "RuntimeError",
        "message": "refund for bob@example.org with sk_test_abcdef123456",
        "handlers": {"test.host": {"type": "RuntimeError", "email": "bob@example.org"}},
    }
    assert redact_value(stored) == {
        "type": "RuntimeError",
        "message": f"refund for {REDACTED} with sk_{REDACTED}",
        "handlers": {"test.host": {"type": "RuntimeError", "email": REDACTED}},
    }


def test_the_logging_module_uses_the_same_functions() -> None:
    assert remit_logging.redact_value is redact_value
    assert remit_logging.mask_text is mask_text
