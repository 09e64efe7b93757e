"""Plans, the legacy face of recurring prices: create, list, retrieve, update, delete."""

from __future__ import annotations

from remit.processor.fake.ops import plans
from remit.processor.fake.routes.route import Route, route
from remit.processor.fake.schema import LIST, anything, boolean, enum, integer, metadata, range_filter, schema, string

ROUTES: tuple[Route, ...] = (
    route(
        "POST",
        "/v1/plans",
        "plans.create",
        plans.create_plan,
        schema(
            active=boolean(),
            amount=integer(),
            currency=string(required=True),
            id=string().refused(),
            interval=enum("day", "month", "week", "year", required=True),
            interval_count=integer(),
            metadata=metadata(),
            nickname=string(),
            product=anything(required=True),
            trial_period_days=integer(),
            usage_type=enum("licensed", "metered"),
            amount_decimal=anything().refused(),
            billing_scheme=enum("per_unit", "tiered").refused(),
            meter=anything().refused(),
            tiers=anything().refused(),
            tiers_mode=anything().refused(),
            transform_usage=anything().refused(),
        ),
        emits=("product.created", "price.created", "plan.created"),
    ),
    route(
        "GET",
        "/v1/plans",
        "plans.list",
        plans.list_plans,
        schema(LIST, active=boolean(), created=range_filter(), product=string()),
    ),
    route("GET", "/v1/plans/{id}", "plans.retrieve", plans.retrieve_plan),
    route(
        "POST",
        "/v1/plans/{id}",
        "plans.update",
        plans.update_plan,
        schema(
            active=boolean(),
            metadata=metadata(),
            nickname=string(emptyable=True),
            trial_period_days=integer(),
            product=anything().refused(),
        ),
        emits=("price.updated", "plan.updated"),
    ),
    route("DELETE", "/v1/plans/{id}", "plans.delete", plans.delete_plan, emits=("price.updated", "plan.deleted")),
)

__all__ = ["ROUTES"]
