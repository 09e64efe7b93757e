"""Response models of the HTTP API, for the OpenAPI document (``/openapi.json``) and its fuzzing.

Every route declares what it answers: its success body, and the one error shape
``{"error": {"type", "code", "message"[, "param"]}}`` for each refusal it can give. Objects mirrored from the
processor are the processor's JSON and stay open (``additionalProperties``); remit's own answers are closed.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ErrorDetail(BaseModel):
    type: Literal["invalid_request_error", "api_error", "authentication_error", "card_error"]
    code: str = Field(description="Stable and machine-readable: what clients branch on.")
    message: str
    param: str | None = Field(None, description="The parameter at fault, when one is.")


class ErrorBody(BaseModel):
    """Every refusal of the HTTP API."""

    error: ErrorDetail


def error(description: str) -> dict[str, Any]:
    """A ``responses`` entry whose body is :class:`ErrorBody`."""
    return {"model": ErrorBody, "description": description}


#: Refusals any route can give: a parameter FastAPI refuses, a database that went away, an unexpected failure.
COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    400: error("A parameter is invalid (`parameter_invalid`, …); `param` names it."),
    500: error("An unexpected failure (`internal_error`); nothing is known to have changed."),
    503: error("The database is unavailable (`database_unavailable`); retry after `Retry-After` seconds."),
}
#: What a route behind service tokens adds: no or a wrong token, the token's rate limit, the origin guard.
SERVICE_ERRORS: dict[int | str, dict[str, Any]] = {
    **COMMON_ERRORS,
    401: error("No valid bearer token (`unauthorized`)."),
    403: error("The origin guard refused a request that did not come through the trusted proxy."),
    429: error("The token's rate limit (`rate_limit`); retry after `Retry-After` seconds."),
}


Level = Literal["ok", "degraded", "down"]


class CheckBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Level
    detail: str | None = Field(None, description="Why, unless ok: identifiers and counts only.")


class HealthBody(BaseModel):
    """``GET /health``: 200 for ok and degraded, 503 for down."""

    model_config = ConfigDict(extra="forbid")

    service: Literal["remit"]
    status: Level
    timestamp: str
    version: str
    checks: dict[str, CheckBody]
    reasons: list[str]


class WebhookReceived(BaseModel):
    """A delivery stored (or already stored)."""

    model_config = ConfigDict(extra="forbid")

    received: Literal[True]
    duplicate: bool
    id: int | None = Field(description="remit's row id of the stored event.")
    event_id: str | None
    status: str | None


class MirrorFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    deleted: bool
    watermark: dict[str, Any]
    created_at: str
    updated_at: str


class MirroredObject(BaseModel):
    """A processor object as last applied (the processor's own JSON), with remit's bookkeeping under ``remit``."""

    model_config = ConfigDict(extra="allow")

    id: str
    object: str
    remit: MirrorFields


class ObjectList(BaseModel):
    """A page of objects, newest first, shaped like the processor's lists."""

    model_config = ConfigDict(extra="forbid")

    object: Literal["list"]
    data: list[MirroredObject]
    has_more: bool
    url: str


class EventObjectRef(BaseModel):
    id: str | None
    object: str | None


class WebhookEventFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: int
    endpoint: str
    processor: str
    received_at: str | None
    attempts: int
    last_error: Any
    handler_results: Any
    processed_at: str | None
    dead_at: str | None


class WebhookEvent(BaseModel):
    """A stored webhook event's metadata, never its body."""

    model_config = ConfigDict(extra="forbid")

    id: str
    object: Literal["webhook_event"]
    type: str
    livemode: bool
    created: int | None
    api_version: str | None
    account: str | None
    data_object: EventObjectRef
    status: str
    remit: WebhookEventFields


class WebhookEventList(BaseModel):
    model_config = ConfigDict(extra="forbid")

    object: Literal["list"]
    data: list[WebhookEvent]
    has_more: bool
    url: str


class UsageRecorded(BaseModel):
    model_config = ConfigDict(extra="forbid")

    operation_id: str
    id: int
    status: str
    duplicate: bool = Field(description="The operation id was stored before; nothing was written.")


class UsageRecordedList(BaseModel):
    """Each event's record, in the order sent."""

    model_config = ConfigDict(extra="forbid")

    object: Literal["list"]
    data: list[UsageRecorded]
    has_more: bool
    url: str


class Rollup(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer: str
    meter: str
    resolution: Literal["hourly", "daily"]
    period_start: str
    value: str | int | float
    events: int


class RollupList(BaseModel):
    model_config = ConfigDict(extra="forbid")

    object: Literal["list"]
    data: list[Rollup]
    has_more: bool
    url: str


class Triggered(BaseModel):
    """What ``POST /api/cron/{name}`` did."""

    model_config = ConfigDict(extra="forbid")

    name: str
    tick: str | None = Field(description="The tick it was due for (ISO 8601), or null when nothing was due.")
    enqueued: bool
    job_id: int | None


class JobProgress(BaseModel):
    """A job's state and the progress its run last reported (``ctx.progress(done, total)``)."""

    model_config = ConfigDict(extra="forbid")

    id: int
    name: str
    queue: str
    state: Literal["available", "scheduled", "executing", "retryable", "completed", "discarded", "cancelled"]
    attempt: int
    max_attempts: int
    done: int | None
    total: int | None
    fraction: float | None = Field(description="done / total in [0, 1], when a total was reported.")
    updated_at: str | None = Field(description="When the progress was reported (ISO 8601).")
    finished: bool


TRIGGER_RESPONSES: dict[int | str, dict[str, Any]] = {
    **COMMON_ERRORS,
    200: {"model": Triggered, "description": "Nothing enqueued: not due, or the tick was already taken."},
    401: error("No valid cron secret (`unauthorized`)."),
    403: error("The origin guard refused a request that did not come through the trusted proxy."),
    404: error("No periodic task or cron entry has this name (`resource_missing`)."),
    503: error("CRON_SECRET is not set (`cron_not_configured`), or the database is unavailable."),
}

__all__ = [
    "COMMON_ERRORS",
    "SERVICE_ERRORS",
    "TRIGGER_RESPONSES",
    "CheckBody",
    "ErrorBody",
    "ErrorDetail",
    "HealthBody",
    "JobProgress",
    "MirroredObject",
    "ObjectList",
    "Rollup",
    "RollupList",
    "Triggered",
    "UsageRecorded",
    "UsageRecordedList",
    "WebhookEvent",
    "WebhookEventList",
    "WebhookReceived",
    "error",
]
