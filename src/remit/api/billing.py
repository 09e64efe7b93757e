"""The internal read API over the billing mirror: ``/api/v1/billing/…`` behind bearer service tokens.

Answers are shaped like the processor's own API, so a client written against Stripe reads remit the same way:
a list is ``{"object": "list", "data": […], "has_more": …, "url": …}`` paged with ``limit`` (1 to 100, default
10) and ``starting_after`` (the id of the last object of the previous page), newest first; one object is the
processor's JSON as last applied, with remit's bookkeeping (deleted flag, watermark, timestamps) under
``remit``. Errors are Stripe-shaped too: ``{"error": {"type", "code", "message", "param"}}``.

Deleted objects are left out of lists unless ``include_deleted=true``; fetched by id they are returned, with
``remit.deleted`` true.

Parameters are checked before anything reaches the database: a NUL character anywhere (an id, a filter, a
cursor — PostgreSQL's text cannot hold one) is a 400 ``parameter_invalid_string``, and ``limit`` takes plain
ASCII digits only (``int()`` would also read ``+1``, `` 1``, ``1_000`` and digits of other scripts).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request, Response

from remit.api.auth import SERVICE_DEPENDENCIES, ApiError, ServiceRoute
from remit.api.schemas import SERVICE_ERRORS, MirroredObject, ObjectList, WebhookEventList, error
from remit.billing.mirror import MAX_PAGE, UnknownCursor, get_object, list_objects
from remit.db.tables import webhook_events
from remit.documents.engine import PdfEngineUnavailable
from remit.documents.generate import InvoiceNotFinalized, InvoiceNotFound, ensure_document
from remit.runtime import Runtime
from remit.telemetry.redaction import redact_value
from remit.webhooks.events import EventStatus

PREFIX = "/api/v1/billing"
DEFAULT_LIMIT = 10
MAX_FILTER_LENGTH = 255
NUL = "\x00"


async def refuse_nul_characters(request: Request) -> None:
    """FastAPI dependency: a 400 naming the first parameter that holds a NUL character — ``id`` for the object
    id in the path (as a 404 names it), the query parameter's name otherwise."""
    found = [("id", value) for value in request.path_params.values()]
    found += [
        (name if NUL not in name else "query", NUL if NUL in name else value)
        for name, value in request.query_params.multi_items()
    ]
    for param, value in found:
        if NUL in str(value):
            raise ApiError(400, "parameter_invalid_string", f"{param} must not contain a NUL character", param=param)


# Authentication first: a caller without a token learns nothing about what the API would accept.
router = APIRouter(
    prefix=PREFIX,
    tags=["billing"],
    route_class=ServiceRoute,
    dependencies=[*SERVICE_DEPENDENCIES, Depends(refuse_nul_characters)],
    responses=SERVICE_ERRORS,
)

#: What a list route answers (a ``starting_after`` naming nothing is a 400 ``resource_missing``).
LISTED: dict[int | str, dict[str, Any]] = {200: {"model": ObjectList, "description": "A page, newest first."}}
#: What a retrieve route answers.
RETRIEVED: dict[int | str, dict[str, Any]] = {
    200: {"model": MirroredObject, "description": "The object as last applied."},
    404: error("The mirror never saw this object (`resource_missing`)."),
}


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def plain_integer(raw: str, *, max_digits: int = 9) -> int | None:
    """``raw`` as a whole number if it is nothing but ASCII digits (at most ``max_digits``), else None (pure)."""
    if raw.isascii() and raw.isdigit() and len(raw) <= max_digits:
        return int(raw)
    return None


def parse_limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    value = plain_integer(raw) or 0
    if not 1 <= value <= MAX_PAGE:
        raise ApiError(
            400, "parameter_invalid_integer", f"limit must be a whole number from 1 to {MAX_PAGE}", param="limit"
        )
    return value


def parse_flag(raw: str | None, name: str) -> bool:
    if raw is None or raw.lower() in ("false", "0", ""):
        return False
    if raw.lower() in ("true", "1"):
        return True
    raise ApiError(400, "parameter_invalid_boolean", f"{name} must be true or false", param=name)


def parse_filters(params: Mapping[str, str | None]) -> dict[str, str]:
    """Column equalities from the given filter parameters (``{column: value}``), refusing oversize values."""
    filters: dict[str, str] = {}
    for column, value in params.items():
        if value is None:
            continue
        if not value or len(value) > MAX_FILTER_LENGTH:
            raise ApiError(400, "parameter_invalid_string", f"invalid filter value for {column}", param=column)
        filters[column] = value
    return filters


def parse_event_status(raw: str | None) -> str | None:
    """A webhook event status filter; an unknown one is a 400 naming the valid ones, since an empty list would
    tell an operator searching for ``dead`` (typed ``died``) that nothing is stuck."""
    if raw is None:
        return None
    valid = [status.value for status in EventStatus]
    if raw not in valid:
        raise ApiError(400, "parameter_invalid_string", f"status must be one of {', '.join(valid)}", param="status")
    return raw


def list_body(url: str, data: list[dict[str, Any]], has_more: bool) -> dict[str, Any]:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


async def _list(
    request: Request,
    object_type: str,
    path: str,
    *,
    limit: str | None,
    starting_after: str | None,
    include_deleted: str | None,
    filters: Mapping[str, str | None],
) -> dict[str, Any]:
    size = parse_limit(limit)
    deleted = parse_flag(include_deleted, "include_deleted")
    columns = parse_filters(filters)
    async with _runtime(request).db.connect() as conn:
        try:
            page = await list_objects(
                conn, object_type, filters=columns, limit=size, starting_after=starting_after, include_deleted=deleted
            )
        except UnknownCursor:
            raise ApiError(
                400, "resource_missing", f"No such {object_type}: {starting_after!r}", param="starting_after"
            ) from None
    return list_body(f"{PREFIX}{path}", [record.to_api() for record in page.records], page.has_more)


async def _retrieve(request: Request, object_type: str, stripe_id: str) -> dict[str, Any]:
    async with _runtime(request).db.connect() as conn:
        record = await get_object(conn, object_type, stripe_id)
    if record is None:
        raise ApiError(404, "resource_missing", f"No such {object_type}: {stripe_id!r}", param="id")
    return record.to_api()


@router.get("/customers", response_model=None, responses=LISTED)
async def list_customers(
    request: Request, limit: str | None = None, starting_after: str | None = None, include_deleted: str | None = None
) -> dict[str, Any]:
    """Mirrored customers, newest first."""
    return await _list(
        request,
        "customer",
        "/customers",
        limit=limit,
        starting_after=starting_after,
        include_deleted=include_deleted,
        filters={},
    )


@router.get("/customers/{customer_id}", response_model=None, responses=RETRIEVED)
async def retrieve_customer(request: Request, customer_id: str) -> dict[str, Any]:
    """One customer as last applied, deleted or not."""
    return await _retrieve(request, "customer", customer_id)


@router.get("/subscriptions", response_model=None, responses=LISTED)
async def list_subscriptions(
    request: Request,
    limit: str | None = None,
    starting_after: str | None = None,
    include_deleted: str | None = None,
    customer: str | None = None,
    status: str | None = None,
) -> dict[str, Any]:
    """Mirrored subscriptions, newest first; filter by ``customer`` and ``status``."""
    return await _list(
        request,
        "subscription",
        "/subscriptions",
        limit=limit,
        starting_after=starting_after,
        include_deleted=include_deleted,
        filters={"customer_id": customer, "status": status},
    )


@router.get("/subscriptions/{subscription_id}", response_model=None, responses=RETRIEVED)
async def retrieve_subscription(request: Request, subscription_id: str) -> dict[str, Any]:
    return await _retrieve(request, "subscription", subscription_id)


@router.get("/invoices", response_model=None, responses=LISTED)
async def list_invoices(
    request: Request,
    limit: str | None = None,
    starting_after: str | None = None,
    include_deleted: str | None = None,
    customer: str | None = None,
    subscription: str | None = None,
    status: str | None = None,
) -> dict[str, Any]:
    """Mirrored invoices, newest first; filter by ``customer``, ``subscription`` and ``status``."""
    return await _list(
        request,
        "invoice",
        "/invoices",
        limit=limit,
        starting_after=starting_after,
        include_deleted=include_deleted,
        filters={"customer_id": customer, "subscription_id": subscription, "status": status},
    )


@router.get("/invoices/{invoice_id}", response_model=None, responses=RETRIEVED)
async def retrieve_invoice(request: Request, invoice_id: str) -> dict[str, Any]:
    return await _retrieve(request, "invoice", invoice_id)


def safe_filename_part(text: str) -> str:
    """``text`` with anything but letters, digits, ``-`` and ``_`` dropped: fit for a quoted header value."""
    return "".join(c for c in text if c.isascii() and (c.isalnum() or c in "-_"))[:100] or "document"


#: How long a client may wait before asking again for a PDF the engine cannot make now.
PDF_RETRY_AFTER_S = 300


@router.get(
    "/invoices/{invoice_id}/pdf",
    response_class=Response,
    responses={
        200: {
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
            "description": "The invoice's current version as a PDF.",
        },
        404: error("No such invoice in the mirror (`resource_missing`)."),
        409: error("The invoice is a draft: it has no document yet (`invoice_not_finalized`)."),
        503: error(
            "No PDF engine in this process (`pdf_unavailable`; the processor's hosted invoice is the fallback), "
            "or the database is unavailable (`database_unavailable`)."
        ),
    },
)
async def invoice_pdf(request: Request, invoice_id: str) -> Response:
    """The invoice's document as a PDF: its current version, rendered on first request and stored once (the
    job on ``remit_invoices`` has usually made it already). ``ETag`` is the version."""
    try:
        document = await ensure_document(_runtime(request), invoice_id)
    except InvoiceNotFound:
        raise ApiError(404, "resource_missing", f"No such invoice: {invoice_id!r}", param="id") from None
    except InvoiceNotFinalized as exc:
        raise ApiError(
            409, "invoice_not_finalized", f"Invoice {invoice_id!r} is {exc.status}: it has no document until finalized"
        ) from None
    except PdfEngineUnavailable:
        raise ApiError(
            503,
            "pdf_unavailable",
            "No PDF engine is installed in this process; use the invoice's hosted_invoice_url",
            type="api_error",
            headers={"Retry-After": str(PDF_RETRY_AFTER_S)},
        ) from None
    return Response(
        document.content,
        media_type=document.content_type,
        headers={
            "Content-Disposition": f'inline; filename="invoice-{safe_filename_part(invoice_id)}.pdf"',
            "ETag": f'"{document.version}"',
            "Cache-Control": "private, max-age=0",
        },
    )


@router.get("/charges", response_model=None, responses=LISTED)
async def list_charges(
    request: Request,
    limit: str | None = None,
    starting_after: str | None = None,
    include_deleted: str | None = None,
    customer: str | None = None,
    payment_intent: str | None = None,
    status: str | None = None,
) -> dict[str, Any]:
    """Mirrored charges, newest first; filter by ``customer``, ``payment_intent`` and ``status``."""
    return await _list(
        request,
        "charge",
        "/charges",
        limit=limit,
        starting_after=starting_after,
        include_deleted=include_deleted,
        filters={"customer_id": customer, "payment_intent_id": payment_intent, "status": status},
    )


@router.get("/charges/{charge_id}", response_model=None, responses=RETRIEVED)
async def retrieve_charge(request: Request, charge_id: str) -> dict[str, Any]:
    return await _retrieve(request, "charge", charge_id)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def webhook_event_json(row: Mapping[Any, Any]) -> dict[str, Any]:
    """A stored webhook event's metadata (never its raw body), processor fields first, remit's under ``remit``.

    Handler errors and results are a host's exception texts and return values, which may quote a key, an email
    address or other customer data; they pass through the same redaction as the logs."""
    created = row["event_created_at"]
    return {
        "id": row["event_id"],
        "object": "webhook_event",
        "type": row["type"],
        "livemode": bool(row["livemode"]),
        "created": int(created.timestamp()) if created is not None else None,
        "api_version": row["api_version"],
        "account": row["account"],
        "data_object": {"id": row["object_id"], "object": row["object_type"]},
        "status": row["status"],
        "remit": {
            "id": int(row["id"]),
            "endpoint": row["endpoint"],
            "processor": row["processor"],
            "received_at": _iso(row["received_at"]),
            "attempts": int(row["attempts"]),
            "last_error": redact_value(row["last_error"]),
            "handler_results": redact_value(row["handler_results"]),
            "processed_at": _iso(row["processed_at"]),
            "dead_at": _iso(row["dead_at"]),
        },
    }


@router.get(
    "/webhook-events",
    response_model=None,
    responses={200: {"model": WebhookEventList, "description": "Stored events, most recently received first."}},
)
async def list_webhook_events(
    request: Request,
    limit: str | None = None,
    starting_after: str | None = None,
    status: str | None = None,
    type: str | None = None,
) -> dict[str, Any]:
    """Stored webhook events, most recently received first; filter by ``status`` and ``type``."""
    size = parse_limit(limit)
    filters = parse_filters({"status": parse_event_status(status), "type": type})
    table = webhook_events
    query = sa.select(*[c for c in table.c if c.name != "body"]).order_by(table.c.id.desc()).limit(size + 1)
    for column, value in filters.items():
        query = query.where(table.c[column] == value)
    async with _runtime(request).db.connect() as conn:
        if starting_after is not None:
            cursor = (
                await conn.execute(sa.select(sa.func.max(table.c.id)).where(table.c.event_id == starting_after))
            ).scalar_one_or_none()
            if cursor is None:
                raise ApiError(
                    400, "resource_missing", f"No such webhook event: {starting_after!r}", param="starting_after"
                )
            query = query.where(table.c.id < cursor)
        rows = (await conn.execute(query)).mappings().all()
    data = [webhook_event_json(row) for row in rows[:size]]
    return list_body(f"{PREFIX}/webhook-events", data, len(rows) > size)


__all__ = ["PREFIX", "router"]
