"""Checking a billing action's arguments before anything is called or written (pure).

Each check answers the value, or raises :class:`~remit.billing.action_runner.InvalidActionRequest` naming the
argument (``param``) and never quoting it. Text must be storable: no NUL (PostgreSQL's text cannot hold one)
and no lone surrogate (no encoding can).
"""

from __future__ import annotations

from collections.abc import Mapping

from remit.billing.action_runner import InvalidActionRequest

MAX_KEY_LENGTH = 255


def check_key(key: object) -> str:
    if not isinstance(key, str) or not key.strip():
        raise InvalidActionRequest("idempotency_key is required", param="idempotency_key", code="parameter_missing")
    if len(key) > MAX_KEY_LENGTH or not storable(key):
        raise InvalidActionRequest(
            f"idempotency_key must be at most {MAX_KEY_LENGTH} characters, without NUL", param="idempotency_key"
        )
    return key


def text(value: object, param: str, *, required: bool = False, limit: int = 5000) -> str | None:
    if value is None:
        if required:
            raise InvalidActionRequest(f"{param} is required", param=param, code="parameter_missing")
        return None
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > limit or not storable(value):
        raise InvalidActionRequest(f"{param} must be a non-empty string of at most {limit} characters", param=param)
    return value


def storable(text: str) -> bool:
    """No NUL (PostgreSQL's text cannot hold one) and no lone surrogate (no encoding can)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def url(value: object, param: str, *, required: bool = False) -> str | None:
    found = text(value, param, required=required, limit=2048)
    if found is not None and not found.startswith(("https://", "http://")):
        raise InvalidActionRequest(f"{param} must be an http(s) URL", param=param, code="url_invalid")
    return found


def metadata(value: object, param: str = "metadata") -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or len(value) > 50:
        raise InvalidActionRequest(f"{param} must be an object of at most 50 string values", param=param)
    for key, item in value.items():
        if (
            not isinstance(key, str)
            or not 0 < len(key) <= 40
            or not isinstance(item, str)
            or len(item) > 500
            or not (storable(key) and storable(item))
        ):
            raise InvalidActionRequest(
                f"{param} keys must be 1-40 characters and values strings of at most 500", param=param
            )
    return dict(value)


def positive(value: object, param: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 1_000_000:
        raise InvalidActionRequest(f"{param} must be a whole number from 1 to 1000000", param=param)
    return value


__all__ = ["MAX_KEY_LENGTH", "check_key", "metadata", "positive", "storable", "text", "url"]
