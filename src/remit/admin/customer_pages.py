"""``/admin/customers``: the mirrored customers, and one customer's subscriptions, invoices, charges, mail and
ledger timeline, each linked to the processor's dashboard (:mod:`remit.admin.customers`).

Read-only. A customer is addressed by the processor's customer id; the list has no search by email or name,
since that would put them in a URL. Emails and names appear on the page only, for the logged-in admin.
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from starlette.responses import Response

from remit.admin.customers import list_customers, read_customer
from remit.admin.pages import PREFIX, AdminRoute, Viewing, refused, runtime_of, show
from remit.admin.sessions import AdminSession

router = APIRouter(prefix=PREFIX, include_in_schema=False, route_class=AdminRoute)

#: A processor object id as remit stores it (``cus_…``): letters, digits and underscores, at most 255.
OBJECT_ID = re.compile(r"^[A-Za-z0-9_]{1,255}$")


@router.get("/customers")
async def customers(request: Request, session: Viewing) -> Response:
    runtime = runtime_of(request)
    wanted = (request.query_params.get("id") or "").strip()
    if wanted:
        if not OBJECT_ID.match(wanted):
            return refused("A customer id has letters, digits and underscores only (cus_…).", status_code=400)
        return await show_customer(request, session, wanted)
    async with runtime.db.read() as conn:
        found = await list_customers(conn, runtime.processor.name)
    context = {"customers": found, "processor": runtime.processor.name, "now": runtime.clock.now()}
    return show(request, session, "customers.html", context)


@router.get("/customers/{customer_id}")
async def customer(request: Request, session: Viewing, customer_id: str) -> Response:
    return await show_customer(request, session, customer_id)


async def show_customer(request: Request, session: AdminSession, customer_id: str) -> Response:
    if not OBJECT_ID.match(customer_id):
        return refused("A customer id has letters, digits and underscores only (cus_…).", status_code=400)
    runtime = runtime_of(request)
    async with runtime.db.read() as conn:
        view = await read_customer(conn, runtime.processor.name, customer_id)
    if view is None:
        return refused(f"The mirror has no customer {customer_id}.", status_code=404)
    context = {"v": view, "processor": runtime.processor.name, "now": runtime.clock.now()}
    return show(request, session, "customer.html", context)


__all__ = ["OBJECT_ID", "router"]
