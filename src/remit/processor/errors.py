"""Turning a processor's error answer into :class:`remit.errors.ProcessorError`, the same way for both.

The message names the method, status and Stripe's code only: an error message can end up in a job's error
list and in logs, so it never carries the processor's own message text, which may quote customer data.

One answer has no code and is told apart by its text only: Stripe refuses a meter event whose ``identifier``
it has already counted with a 400 ``invalid_request_error`` saying "An event already exists with identifier
…". It gets remit's code :data:`DUPLICATE_METER_EVENT`, so the report job can tell "counted already" from a
refusal.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from remit.errors import ProcessorError

#: remit's code for Stripe's refusal of a meter event whose identifier it has counted already (see above).
DUPLICATE_METER_EVENT = "duplicate_meter_event"
_DUPLICATE_METER_EVENT_TEXT = "already exists with identifier"


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds form; Stripe sends no HTTP dates)."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def header(headers: Mapping[str, str] | None, name: str) -> str | None:
    if not headers:
        return None
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def from_answer(
    processor: str, method: str, status: int | None, body: Any, headers: Mapping[str, str] | None = None
) -> ProcessorError:
    """The error for a non-2xx answer with Stripe's ``{"error": {...}}`` body."""
    error = body.get("error") if isinstance(body, Mapping) else None
    code = param = None
    if isinstance(error, Mapping):
        code = error.get("code") or error.get("type")
        param = error.get("param") if isinstance(error.get("param"), str) else None
        message = error.get("message")
        if status == 400 and isinstance(message, str) and _DUPLICATE_METER_EVENT_TEXT in message:
            code = DUPLICATE_METER_EVENT
    return ProcessorError(
        f"{processor} processor: {method} answered {status}" + (f" ({code})" if code else ""),
        status_code=status,
        retry_after=parse_retry_after(header(headers, "Retry-After")),
        code=str(code) if code else None,
        param=param,
    )


def unreachable(processor: str, method: str, reason: str) -> ProcessorError:
    """Nothing answered (timeout, refused connection): no status, retryable."""
    return ProcessorError(f"{processor} processor: {method} got no answer ({reason})", status_code=None, code=reason)


__all__ = ["DUPLICATE_METER_EVENT", "from_answer", "header", "parse_retry_after", "unreachable"]
