"""``remit fake trigger EVENT_TYPE``: perform the API calls behind an event, as ``stripe trigger`` does.

Each trigger is a recipe: a few calls of the fake's own API (the same route table the HTTP face serves),
where a later call refers to an earlier result as ``${name:field.path}``. Running one makes the fake emit every
event those calls cause, in order — ``invoice.paid`` brings ``customer.created``, ``payment_method.attached``,
``invoiceitem.created``, ``invoice.created``, ``invoice.finalized``, the payment's events and ``invoice.paid`` —
and delivers them. The recipes follow the calls of Stripe CLI's trigger fixtures (a test checks that), so a
trigger here exercises remit the way the same trigger against Stripe's test mode would. The CLI has remit's
own checkout action make the session of ``checkout.session.completed`` (an override of that step), so the paid
session carries remit's account and package and ends in the provisioning hand-off.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from remit.processor.fake.engine import Delivered, FakeEngine
from remit.processor.fake.events import StoredEvent

DESCRIPTION = "(created by remit fake trigger)"
#: An answer a step may give without failing the trigger (a decline is the point of some triggers).
EXPECTED_FAILURES = {402}


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    method: str
    path: str
    params: dict[str, Any] = field(default_factory=dict)


def _customer(**extra: Any) -> Step:
    return Step("customer", "POST", "/v1/customers", {"description": DESCRIPTION, **extra})


def _product(name: str = "myproduct") -> Step:
    return Step("product", "POST", "/v1/products", {"name": name, "description": DESCRIPTION})


def _price(currency: str = "usd", amount: int = 1500, recurring: bool = True, **extra: Any) -> Step:
    params: dict[str, Any] = {"product": "${product:id}", "unit_amount": amount, "currency": currency, **extra}
    if recurring:
        params["recurring"] = {"interval": "month"}
    return Step("price", "POST", "/v1/prices", params)


def _invoice_item() -> Step:
    return Step(
        "invoiceitem",
        "POST",
        "/v1/invoiceitems",
        {"amount": 2000, "currency": "usd", "customer": "${customer:id}", "description": DESCRIPTION},
    )


def _invoice(**extra: Any) -> Step:
    return Step(
        "invoice",
        "POST",
        "/v1/invoices",
        {
            "customer": "${customer:id}",
            "description": DESCRIPTION,
            "pending_invoice_items_behavior": "include",
            **extra,
        },
    )


def _invoice_action(action: str) -> Step:
    return Step(f"invoice_{action}", "POST", "/v1/invoices/${invoice:id}/" + action)


def _attach(card: str) -> Step:
    return Step("payment_method", "POST", f"/v1/payment_methods/{card}/attach", {"customer": "${customer:id}"})


def _pay_invoice() -> Step:
    return Step("invoice_pay", "POST", "/v1/invoices/${invoice:id}/pay", {"payment_method": "${payment_method:id}"})


def _payment_intent(card: str, amount: int = 100, **extra: Any) -> Step:
    return Step(
        "payment_intent",
        "POST",
        "/v1/payment_intents",
        {
            "amount": amount,
            "currency": "usd",
            "payment_method_types": ["card"],
            "payment_method": card,
            "confirm": True,
            "description": DESCRIPTION,
            **extra,
        },
    )


def _subscribed(*, card: bool = True, **sub_params: Any) -> list[Step]:
    customer = (
        _customer(payment_method="pm_card_visa", invoice_settings={"default_payment_method": "pm_card_visa"})
        if card
        else _customer()
    )
    return [
        customer,
        _product(),
        _price(),
        Step(
            "subscription",
            "POST",
            "/v1/subscriptions",
            {"customer": "${customer:id}", "items": [{"price": "${price:id}"}], **sub_params},
        ),
    ]


def _checkout(currency: str, pm: Step, *, async_methods: bool = False) -> list[Step]:
    session: dict[str, Any] = {
        "success_url": "https://example.com/success",
        "cancel_url": "https://example.com/cancel",
        "mode": "payment",
        "line_items": [{"price": "${price:id}", "quantity": 2}],
    }
    if async_methods:
        session["payment_method_types"] = ["sepa_debit"]
    return [
        _product(),
        _price(currency, recurring=False),
        Step("checkout_session", "POST", "/v1/checkout/sessions", session),
        Step("payment_page", "GET", "/v1/payment_pages/${checkout_session:id}"),
        pm,
        Step(
            "payment_page_confirm",
            "POST",
            "/v1/payment_pages/${checkout_session:id}/confirm",
            {"payment_method": "${payment_method:id}", "expected_amount": "${checkout_session:amount_total}"},
        ),
    ]


def _sepa(iban: str) -> Step:
    return Step(
        "payment_method",
        "POST",
        "/v1/payment_methods",
        {
            "type": "sepa_debit",
            "sepa_debit": {"iban": iban},
            "billing_details": {"email": "jenny.rosen@example.com", "name": "Jenny Rosen"},
        },
    )


def _subscription_payment(token: str) -> list[Step]:
    return [
        Step("payment_method", "POST", "/v1/payment_methods", {"type": "card", "card": {"token": token}}),
        _customer(name="SubscriptionTestCustomer"),
        Step(
            "attach_payment_method",
            "POST",
            "/v1/payment_methods/${payment_method:id}/attach",
            {"customer": "${customer:id}"},
        ),
        Step(
            "default_payment_method",
            "POST",
            "/v1/customers/${customer:id}",
            {"invoice_settings": {"default_payment_method": "${payment_method:id}"}},
        ),
        _product("SubscriptionTestProduct"),
        _price(amount=2000, nickname="SubscriptionTestPrice"),
        Step(
            "subscription",
            "POST",
            "/v1/subscriptions",
            {"customer": "${customer:id}", "items": [{"price": "${price:id}"}]},
        ),
        Step("invoice", "GET", "/v1/invoices/${subscription:latest_invoice}"),
    ]


def _meter_stream(event_name: str, value: str) -> list[Step]:
    return [
        Step("billing_meter_event_session", "POST", "/v2/billing/meter_event_session"),
        Step(
            "create_billing_meter_event_stream",
            "POST",
            "/v2/billing/meter_event_stream",
            {
                "events": [
                    {
                        "event_name": event_name,
                        "timestamp": "${time-now-RFC3339}",
                        "identifier": "${generate-uuid}",
                        "payload": {"value": value},
                    }
                ]
            },
        ),
    ]


_PM_CARD = Step(
    "payment_method",
    "POST",
    "/v1/payment_methods",
    {
        "type": "card",
        "card": {"token": "tok_visa"},
        "billing_details": {"email": "jenny.rosen@example.com", "name": "Jenny Rosen"},
    },
)
_INVOICE_BASE = [_customer(), _invoice_item(), _invoice()]

RECIPES: dict[str, list[Step]] = {
    "account.application.deauthorized": [
        Step("account", "POST", "/v1/accounts", {"type": "standard"}),
        Step("delete_account", "DELETE", "/v1/accounts/${account:id}"),
    ],
    "charge.captured": [
        _payment_intent("pm_card_visa", 2000, capture_method="manual"),
        Step("capture", "POST", "/v1/payment_intents/${payment_intent:id}/capture"),
    ],
    "charge.dispute.created": [_payment_intent("pm_card_createDisputeInquiry")],
    "charge.failed": [_payment_intent("pm_card_visa_chargeDeclined")],
    "charge.refunded": [
        _payment_intent("pm_card_visa"),
        Step("refund", "POST", "/v1/refunds", {"payment_intent": "${payment_intent:id}"}),
    ],
    "charge.succeeded": [_payment_intent("pm_card_visa")],
    "checkout.session.async_payment_failed": _checkout("eur", _sepa("IT60X0542811101000000123456"), async_methods=True),
    "checkout.session.async_payment_succeeded": _checkout("eur", _sepa("AT611904300234573201"), async_methods=True),
    "checkout.session.completed": _checkout("usd", _PM_CARD),
    "checkout.session.expired": [
        _product(),
        _price(recurring=False),
        Step(
            "checkout_session",
            "POST",
            "/v1/checkout/sessions",
            {
                "success_url": "https://example.com/success",
                "cancel_url": "https://example.com/cancel",
                "mode": "payment",
                "line_items": [{"price": "${price:id}", "quantity": 2}],
            },
        ),
        Step("checkout_session_expired", "POST", "/v1/checkout/sessions/${checkout_session:id}/expire"),
    ],
    "credit_note.created": [
        *_INVOICE_BASE,
        _invoice_action("finalize"),
        Step(
            "credit_note",
            "POST",
            "/v1/credit_notes",
            {
                "invoice": "${invoice:id}",
                "lines": [{"type": "custom_line_item", "unit_amount": 1000, "quantity": 1, "description": DESCRIPTION}],
            },
        ),
    ],
    "customer.created": [_customer()],
    "customer.deleted": [_customer(), Step("customer_deleted", "DELETE", "/v1/customers/${customer:id}")],
    "customer.source.created": [
        _customer(),
        Step("customer_source", "POST", "/v1/customers/${customer:id}/sources", {"source": "tok_visa"}),
    ],
    "customer.source.updated": [
        _customer(),
        Step("customer_source", "POST", "/v1/customers/${customer:id}/sources", {"source": "tok_visa"}),
        Step(
            "customer_source_updated",
            "POST",
            "/v1/customers/${customer:id}/sources/${customer_source:id}",
            {"metadata": {"foo": "bar"}},
        ),
    ],
    "customer.subscription.created": _subscribed(),
    "customer.subscription.deleted": [
        *_subscribed(),
        Step("subscription_deleted", "DELETE", "/v1/subscriptions/${subscription:id}"),
    ],
    "customer.subscription.paused": [
        *_subscribed(
            card=False, trial_period_days=7, trial_settings={"end_behavior": {"missing_payment_method": "pause"}}
        ),
        Step("subscription_pause", "POST", "/v1/subscriptions/${subscription:id}", {"trial_end": "now"}),
    ],
    "customer.subscription.trial_will_end": _subscribed(card=False, trial_period_days=1),
    "customer.subscription.updated": [
        *_subscribed(),
        Step("subscription_updated", "POST", "/v1/subscriptions/${subscription:id}", {"metadata": {"foo": "bar"}}),
    ],
    "customer.updated": [
        _customer(),
        Step("customer_updated", "POST", "/v1/customers/${customer:id}", {"metadata": {"foo": "bar"}}),
    ],
    "invoice.created": list(_INVOICE_BASE),
    "invoice.finalized": [*_INVOICE_BASE, _invoice_action("finalize")],
    "invoice.marked_uncollectible": [
        *_INVOICE_BASE,
        _invoice_action("finalize"),
        _invoice_action("mark_uncollectible"),
    ],
    "invoice.paid": [_customer(), _attach("pm_card_visa"), _invoice_item(), _invoice(), _pay_invoice()],
    "invoice.payment_action_required": [
        _customer(),
        _attach("pm_card_threeDSecure2Required"),
        _invoice_item(),
        _invoice(),
        _pay_invoice(),
    ],
    "invoice.payment_failed": [
        _customer(),
        _attach("pm_card_chargeCustomerFail"),
        _invoice_item(),
        _invoice(),
        _pay_invoice(),
    ],
    "invoice.sent": [
        _customer(email="jenny.rosen@example.com"),
        _invoice_item(),
        _invoice(collection_method="send_invoice", days_until_due=7),
        _invoice_action("send"),
    ],
    "invoice.updated": [
        *_INVOICE_BASE,
        Step("invoice_updated", "POST", "/v1/invoices/${invoice:id}", {"metadata": {"foo": "bar"}}),
    ],
    "invoice.voided": [*_INVOICE_BASE, _invoice_action("finalize"), _invoice_action("void")],
    "payment_intent.payment_failed": [_payment_intent("pm_card_chargeDeclined", 2000)],
    "payment_intent.requires_action": [_payment_intent("pm_card_authenticationRequired", 2000)],
    "payment_intent.succeeded": [_payment_intent("pm_card_visa", 2000)],
    "payment_method.attached": [_customer(), _attach("pm_card_visa")],
    "payment_method.detached": [
        _customer(),
        _attach("pm_card_visa"),
        Step("payment_method_detach", "POST", "/v1/payment_methods/${payment_method:id}/detach"),
    ],
    "payout.created": [
        _payment_intent("pm_card_bypassPending", 2000),
        Step("payout", "POST", "/v1/payouts", {"amount": 1100, "currency": "usd", "description": DESCRIPTION}),
    ],
    "payout.updated": [
        _payment_intent("pm_card_bypassPending", 2000),
        Step("payout", "POST", "/v1/payouts", {"amount": 1100, "currency": "usd", "description": DESCRIPTION}),
        Step("payout_updated", "POST", "/v1/payouts/${payout:id}", {"metadata": {"foo": "bar"}}),
    ],
    "subscription.payment_failed": _subscription_payment("tok_chargeCustomerFail"),
    "subscription.payment_succeeded": _subscription_payment("tok_visa"),
    "v1.billing.meter.error_report_triggered": [
        Step(
            "billing_meter",
            "POST",
            "/v1/billing/meters",
            {
                "display_name": "remit fake meter",
                "event_name": "remit_fake_meter_${generate-uuid}",
                "default_aggregation": {"formula": "sum"},
            },
        ),
        *_meter_stream("${billing_meter:event_name}", "1"),
    ],
    "v1.billing.meter.no_meter_found": _meter_stream("${generate-uuid}", "10"),
}

#: Other names ``stripe trigger`` accepts for the same recipe.
ALIASES: dict[str, str] = {"invoice.payment_succeeded": "invoice.paid"}


def trigger_names() -> list[str]:
    return sorted({*RECIPES, *ALIASES})


def recipe(name: str) -> list[Step]:
    key = ALIASES.get(name, name)
    try:
        return RECIPES[key]
    except KeyError:
        raise KeyError(f"no trigger for {name!r}; known: {', '.join(trigger_names())}") from None


_REFERENCE = re.compile(r"\$\{([^}]+)\}")


def _lookup(results: dict[str, Any], reference: str) -> Any:
    if reference == "time-now-RFC3339":
        return datetime.now(UTC).isoformat().replace("+00:00", "Z")
    if reference == "generate-uuid":
        return uuid.uuid4().hex
    name, _, path = reference.partition(":")
    value: Any = results[name]
    for part in path.split(".") if path else []:
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


def resolve_references(
    value: Any,
    results: dict[str, Any],
    lookup: Callable[[dict[str, Any], str], Any] = _lookup,
) -> Any:
    """``value`` with every ``${step:field}`` replaced; a string that is one whole reference keeps its type."""
    if isinstance(value, dict):
        return {k: resolve_references(v, results, lookup) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_references(v, results, lookup) for v in value]
    if isinstance(value, str):
        whole = _REFERENCE.fullmatch(value)
        if whole:
            return lookup(results, whole.group(1))
        return _REFERENCE.sub(lambda m: str(lookup(results, m.group(1))), value)
    return value


@dataclass
class TriggerResult:
    name: str
    events: list[StoredEvent] = field(default_factory=list)
    deliveries: list[Delivered] = field(default_factory=list)
    failed_steps: list[tuple[str, int]] = field(default_factory=list)

    @property
    def event_types(self) -> list[str]:
        return [event.type for event in self.events]


class TriggerFailed(Exception):
    """A step answered an error the trigger did not expect."""


#: Makes one step's object in place of the recipe's call, given the earlier steps' results: how ``remit fake
#: trigger`` has remit's own checkout action make the session (:mod:`remit.cli.fake`).
StepOverride = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


async def run_trigger(
    engine: FakeEngine, name: str, *, deliver: bool = True, overrides: Mapping[str, StepOverride] | None = None
) -> TriggerResult:
    """Run the recipe for ``name``; deliver the events it caused, in order, when ``deliver``. A step named in
    ``overrides`` is made by its override instead (the events of that override's own calls are its own)."""
    steps = recipe(name)
    run_id = uuid.uuid4().hex[:12]
    results: dict[str, Any] = {}
    result = TriggerResult(name)
    for index, step in enumerate(steps):
        override = (overrides or {}).get(step.name)
        if override is not None:
            results[step.name] = await override(results)
            continue
        path = resolve_references(step.path, results)
        params = resolve_references(step.params, results)
        response = await engine.call(
            step.method, path, params, idempotency_key=f"trigger-{run_id}-{index}", deliver=False
        )
        result.events.extend(response.events)
        if not response.ok:
            if response.status not in EXPECTED_FAILURES:
                error = response.body.get("error", {})
                raise TriggerFailed(
                    f"step {step.name!r} ({step.method} {path}) answered {response.status} "
                    f"{error.get('code') or error.get('type')}"
                )
            result.failed_steps.append((step.name, response.status))
        results[step.name] = response.body
    if deliver:
        result.deliveries = await engine.deliver(result.events)
    return result


__all__ = [
    "ALIASES",
    "RECIPES",
    "Step",
    "StepOverride",
    "TriggerFailed",
    "TriggerResult",
    "recipe",
    "resolve_references",
    "run_trigger",
    "trigger_names",
]
