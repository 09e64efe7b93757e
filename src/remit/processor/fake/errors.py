"""The fake's API errors, in Stripe's error shape and with Stripe's status codes.

An :class:`ApiError` is what one call of the fake answers instead of an object: ``{"error": {"type",
"message", "code", "doc_url", "param", "request_log_url", ...}}`` with a 4xx or 5xx status — Stripe's error
object, the ``doc_url`` of its error code and the ``request_log_url`` naming the request's id. The HTTP face
returns it as is; the in-process processor turns it into :class:`remit.errors.ProcessorError`, exactly as the
live adapter turns Stripe's errors.
"""

from __future__ import annotations

from typing import Any

INVALID_REQUEST = "invalid_request_error"
CARD_ERROR = "card_error"
API_ERROR = "api_error"
IDEMPOTENCY_ERROR = "idempotency_error"
RATE_LIMIT_ERROR = "rate_limit_error"

#: Where an error code is documented, as Stripe's ``doc_url`` says.
DOC_URL = "https://stripe.com/docs/error-codes/{}"
#: Where Stripe's ``request_log_url`` points; the fake keeps no request log, so the host is one that never
#: resolves, but the path names the request as Stripe's does.
REQUEST_LOG_URL = "https://fake.remit.invalid/test/logs/{}"


class ApiError(Exception):
    """One error answer: ``status`` plus Stripe's ``error`` object."""

    def __init__(
        self,
        status: int,
        type_: str,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        decline_code: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = type_
        self.message = message
        self.code = code
        self.param = param
        self.decline_code = decline_code
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})

    def body(self, request_id: str | None = None) -> dict[str, Any]:
        """Stripe's error body; with ``request_id``, its ``request_log_url`` too."""
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code is not None:
            error["code"] = self.code
            error["doc_url"] = DOC_URL.format(self.code.replace("_", "-"))
        if self.param is not None:
            error["param"] = self.param
        if self.decline_code is not None:
            error["decline_code"] = self.decline_code
        if request_id is not None:
            error["request_log_url"] = REQUEST_LOG_URL.format(request_id)
        error.update(self.extra)
        return {"error": error}


def missing(object_type: str, object_id: str, param: str = "id") -> ApiError:
    """Stripe's 404 for an unknown id."""
    return ApiError(404, INVALID_REQUEST, f"No such {object_type}: '{object_id}'", code="resource_missing", param=param)


def invalid(message: str, *, param: str | None = None, code: str | None = None) -> ApiError:
    """A 400 for a request the fake cannot act on."""
    return ApiError(400, INVALID_REQUEST, message, param=param, code=code)


def parameter_missing(param: str) -> ApiError:
    return ApiError(400, INVALID_REQUEST, f"Missing required param: {param}.", code="parameter_missing", param=param)


__all__ = [
    "API_ERROR",
    "CARD_ERROR",
    "DOC_URL",
    "IDEMPOTENCY_ERROR",
    "INVALID_REQUEST",
    "RATE_LIMIT_ERROR",
    "REQUEST_LOG_URL",
    "ApiError",
    "invalid",
    "missing",
    "parameter_missing",
]
