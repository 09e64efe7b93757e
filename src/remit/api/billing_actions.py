"""The internal write API: ``POST /api/v1/billing/…`` runs a billing action (:mod:`remit.billing.actions`).

Behind the same bearer service tokens as the read API. Every request carries an ``Idempotency-Key`` header:
a repeat with the key answers the first outcome (with ``Idempotent-Replayed: true``) and calls nothing; the
same key with another body is a 400 ``idempotency_key_reused``; a repeat while the first is still at the
processor waits for it, then, if it is still running, answers 409 ``idempotency_key_in_use`` (retry with the
key). Bodies are JSON objects whose unknown fields are refused (a body that is not JSON, or nests too deep,
is refused by :class:`~remit.api.auth.ServiceRoute` as ``/api/v1/usage`` refuses it); answers are the
processor's object (Stripe's JSON), errors Stripe-shaped ``{"error": {"type", "code", "message", "param"}}``
with ``param`` naming the field at fault. The processor's refusals keep their status (400, 402 ``card_error``,
404 ``resource_missing``); a processor that cannot be reached, throttles, fails or refuses remit's own key is a
503 ``processor_unavailable`` with ``Retry-After`` (the processor's own when it throttled), and the key is free
for that retry. A checkout or portal session's ``url`` is in the answer and nowhere else.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from remit.api.auth import SERVICE_DEPENDENCIES, ApiError, ServiceRoute
from remit.api.billing import PREFIX, refuse_nul_characters
from remit.api.schemas import SERVICE_ERRORS, error
from remit.billing import actions
from remit.billing.actions import ActionResult, BillingActionError
from remit.errors import ProcessorError
from remit.runtime import Runtime

#: Seconds a client waits before retrying an action the processor could not take.
PROCESSOR_RETRY_AFTER_S = "5"
#: The statuses a processor's refusal keeps; any other 4xx is answered as a 400.
REFUSAL_STATUSES = frozenset({400, 402, 404, 409, 410})

router = APIRouter(
    prefix=PREFIX,
    tags=["billing actions"],
    route_class=ServiceRoute,
    dependencies=[*SERVICE_DEPENDENCIES, Depends(refuse_nul_characters)],
    responses=SERVICE_ERRORS,
)


class ProcessorObject(BaseModel):
    """The processor's object as it answered the action (Stripe's JSON): a customer, a session, a
    subscription. A session's ``url`` is the caller's to use."""

    model_config = ConfigDict(extra="allow")

    id: str
    object: str


ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {
        "model": ProcessorObject,
        "description": "The processor's object; a repeat of the key answers the first one with "
        "`Idempotent-Replayed: true`.",
    },
    400: error(
        "A field is invalid or missing (`param` names it), the body is not JSON or nests more than 64 levels "
        "(`invalid_json`, `json_too_deep`; `param` is `body`), the key was used for another request "
        "(`idempotency_key_reused`), or the processor refused the request."
    ),
    402: error("The processor declined the payment (`card_error`)."),
    404: error("The processor has no such object (`resource_missing`)."),
    409: error("A call with this key is still in progress (`idempotency_key_in_use`); retry with the key."),
    410: error(
        "A repeat of a checkout or portal session's key after the session expired (24 h on; "
        "`session_expired`): its URL is no longer kept; create a new session with a new key."
    ),
    503: error(
        "The processor could not be reached or refused remit's credentials (`processor_unavailable`), or the "
        "database is unavailable; retry after `Retry-After` seconds with the same key."
    ),
}

IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=actions.MAX_KEY_LENGTH,
        description="Names this action: a repeat with the key answers the first outcome and calls nothing.",
    ),
]
Metadata = Annotated[dict[str, str] | None, Field(description="Up to 50 keys of 1-40 characters.")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CustomerCreate(_Body):
    email: str | None = None
    name: str | None = None
    description: str | None = None
    metadata: Metadata = None
    payment_method: str | None = Field(None, description="Attached and made the invoice default.")
    account_id: str | None = Field(None, description="The host's account this customer pays for.")


class CustomerUpdate(_Body):
    email: str | None = None
    name: str | None = None
    description: str | None = None
    metadata: Metadata = None
    default_payment_method: str | None = None


class CheckoutCreate(_Body):
    account_id: str = Field(description="The host's account the checkout pays for (made `pending` if new).")
    package: str = Field(description="A package slug (`remit packages`).")
    success_url: str
    cancel_url: str | None = None
    mode: Literal["subscription", "payment"] = "subscription"
    customer: str | None = Field(None, description="Default: the account's customer, if it has one.")
    customer_email: str | None = None
    quantity: int | None = None
    trial_period_days: int | None = None


class PortalCreate(_Body):
    return_url: str
    customer: str | None = None
    account_id: str | None = Field(None, description="Instead of `customer`: the account's customer.")


class SubscriptionCreate(_Body):
    customer: str
    package: str | None = Field(None, description="A package slug; or give `price`.")
    price: str | None = None
    quantity: int | None = None
    trial_period_days: int | None = None
    default_payment_method: str | None = None
    metadata: Metadata = None
    account_id: str | None = None


class PlanChange(_Body):
    package: str | None = None
    price: str | None = None
    quantity: int | None = None
    proration_behavior: Literal["create_prorations", "none", "always_invoice"] | None = Field(
        None, description="Passed through as given; the processor's default when absent."
    )


class CancelBody(_Body):
    at_period_end: bool = Field(False, description="End at the end of the period instead of now.")


class ResumeBody(_Body):
    pass


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def retry_after(error: ProcessorError) -> str:
    """Whole seconds to wait: the processor's own ``Retry-After`` (a throttle), held within 1 s and 10 min;
    else :data:`PROCESSOR_RETRY_AFTER_S` (pure)."""
    if error.retry_after is None:
        return PROCESSOR_RETRY_AFTER_S
    return str(min(max(math.ceil(error.retry_after), 1), 600))


def _refused(exc: BillingActionError) -> ApiError:
    status = exc.status if exc.status in REFUSAL_STATUSES else 400
    kind = "card_error" if status == 402 else "invalid_request_error"
    return ApiError(status, exc.code, str(exc), type=kind, param=exc.param)


async def _answer(response: Response, action: Awaitable[ActionResult]) -> dict[str, Any]:
    try:
        result = await action
    except BillingActionError as exc:
        raise _refused(exc) from None
    except ProcessorError as exc:
        raise ApiError(
            503,
            "processor_unavailable",
            f"the processor could not take the action ({exc.code or exc.status_code or 'no answer'}); retry with "
            "the same Idempotency-Key",
            type="api_error",
            headers={"Retry-After": retry_after(exc)},
        ) from None
    if result.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return result.to_json()


@router.post("/customers", response_model=None, responses=ANSWERS)
async def create_customer(
    request: Request, response: Response, body: CustomerCreate, idempotency_key: IdempotencyKey
) -> dict[str, Any]:
    """Create a processor customer (with `account_id`: the account's customer)."""
    return await _answer(
        response,
        actions.create_customer(_runtime(request), idempotency_key=idempotency_key, **body.model_dump()),
    )


@router.post("/customers/{customer_id}", response_model=None, responses=ANSWERS)
async def update_customer(
    request: Request, response: Response, customer_id: str, body: CustomerUpdate, idempotency_key: IdempotencyKey
) -> dict[str, Any]:
    """Update the given fields of a customer (metadata merges)."""
    return await _answer(
        response,
        actions.update_customer(_runtime(request), customer_id, idempotency_key=idempotency_key, **body.model_dump()),
    )


@router.post("/checkout_sessions", response_model=None, responses=ANSWERS)
async def create_checkout_session(
    request: Request, response: Response, body: CheckoutCreate, idempotency_key: IdempotencyKey
) -> dict[str, Any]:
    """A hosted checkout for an account and a package; its metadata carries both, so the paid checkout is
    handed to provisioning. Send the customer to the answer's `url`."""
    return await _answer(
        response,
        actions.create_checkout_session(_runtime(request), idempotency_key=idempotency_key, **body.model_dump()),
    )


@router.post("/portal_sessions", response_model=None, responses=ANSWERS)
async def create_portal_session(
    request: Request, response: Response, body: PortalCreate, idempotency_key: IdempotencyKey
) -> dict[str, Any]:
    """A billing-portal session for a customer (or an account's customer); send them to its `url`."""
    return await _answer(
        response,
        actions.create_portal_session(_runtime(request), idempotency_key=idempotency_key, **body.model_dump()),
    )


@router.post("/subscriptions", response_model=None, responses=ANSWERS)
async def create_subscription(
    request: Request, response: Response, body: SubscriptionCreate, idempotency_key: IdempotencyKey
) -> dict[str, Any]:
    """Subscribe a customer to a package (or a price); the first invoice is charged at once."""
    return await _answer(
        response,
        actions.subscribe(_runtime(request), idempotency_key=idempotency_key, **body.model_dump()),
    )


@router.post("/subscriptions/{subscription_id}", response_model=None, responses=ANSWERS)
async def change_plan(
    request: Request, response: Response, subscription_id: str, body: PlanChange, idempotency_key: IdempotencyKey
) -> dict[str, Any]:
    """Change the plan (a package or a price) and/or the quantity; `proration_behavior` is passed through."""
    return await _answer(
        response,
        actions.change_plan(_runtime(request), subscription_id, idempotency_key=idempotency_key, **body.model_dump()),
    )


@router.post("/subscriptions/{subscription_id}/cancel", response_model=None, responses=ANSWERS)
async def cancel_subscription(
    request: Request, response: Response, subscription_id: str, body: CancelBody, idempotency_key: IdempotencyKey
) -> dict[str, Any]:
    """End the subscription now, or at the end of its period."""
    return await _answer(
        response,
        actions.cancel_subscription(
            _runtime(request), subscription_id, idempotency_key=idempotency_key, at_period_end=body.at_period_end
        ),
    )


@router.post("/subscriptions/{subscription_id}/resume", response_model=None, responses=ANSWERS)
async def resume_subscription(
    request: Request,
    response: Response,
    subscription_id: str,
    idempotency_key: IdempotencyKey,
    body: ResumeBody | None = None,
) -> dict[str, Any]:
    """Undo a cancel at period end, or resume a paused subscription."""
    return await _answer(
        response,
        actions.resume_subscription(_runtime(request), subscription_id, idempotency_key=idempotency_key),
    )


__all__ = ["ProcessorObject", "router"]
