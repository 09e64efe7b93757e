"""Helpers for the provisioning tests: checkout events built from the repository's Stripe fixture, and reads of
the provisioning rows."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

import sqlalchemy as sa

from remit.db.engine import create_sync_engine
from remit.db.tables import accounts, jobs, provisioning_jobs
from remit.provisioning.jobs_table import ProvisioningJob
from remit.runtime import Runtime
from tests.support.fixtures import stripe_fixture

#: Where the orchestrator calls back (the signed callback route of the internal API).
CALLBACK_PATH = "/api/internal/provisioning/callback"
CHECKOUT_FIXTURE = "stripe-ruby-mock__checkout.session.completed.payment_mode.json"


def checkout_event(
    event_type: str = "checkout.session.completed",
    *,
    session_id: str | None = None,
    payment_status: str = "paid",
    account_id: str | None = "acct_demo_1",
    package: str | None = "starter",
    customer: str = "cus_prov_1",
    created: int = 1_700_000_000,
) -> dict[str, Any]:
    """A checkout event from the fixture, with remit's metadata (unless ``account_id`` is None) and no email
    or name the test would have to keep out of the payload."""
    document = copy.deepcopy(json.loads(stripe_fixture(CHECKOUT_FIXTURE).read_text()))
    document["id"] = f"evt_{uuid.uuid4().hex}"
    document["type"] = event_type
    document["created"] = created
    obj = document["data"]["object"]
    obj["id"] = session_id or f"cs_test_{uuid.uuid4().hex[:20]}"
    obj["payment_status"] = payment_status
    obj["customer"] = customer
    obj["metadata"] = {}
    if account_id is not None:
        obj["metadata"]["remit_account_id"] = account_id
    if package is not None:
        obj["metadata"]["remit_package"] = package
    return document


async def provisioning_rows(runtime: Runtime) -> list[ProvisioningJob]:
    async with runtime.db.connect() as conn:
        rows = (await conn.execute(sa.select(provisioning_jobs).order_by(provisioning_jobs.c.id))).mappings()
        return [ProvisioningJob.from_row(row) for row in rows]


async def trigger_jobs(runtime: Runtime) -> int:
    async with runtime.db.connect() as conn:
        stmt = sa.select(sa.func.count()).select_from(jobs).where(jobs.c.name == "remit.provisioning.trigger")
        return int((await conn.execute(stmt)).scalar_one())


async def account(runtime: Runtime, account_id: str) -> dict[str, Any] | None:
    async with runtime.db.connect() as conn:
        row = (await conn.execute(sa.select(accounts).where(accounts.c.id == account_id))).mappings().first()
        return dict(row) if row else None


async def plant_job(
    runtime: Runtime,
    session_id: str,
    *,
    status: str = "enqueued",
    attempts: int = 8,
    payload: bool = True,
    idle_seconds: float = 3600,
    account_id: str | None = "acct_planted",
) -> int:
    """A provisioning job row written directly (as a long outage would have left it): ``attempts`` spent, no
    change for ``idle_seconds``; its id."""
    from datetime import timedelta

    changed = runtime.clock.now() - timedelta(seconds=idle_seconds)
    values = {
        "stripe_session_id": session_id,
        "account_id": account_id,
        "status": status,
        "origin": "remit",
        "trigger_payload": {"account_id": account_id, "package": "starter"} if payload else None,
        "attempts": attempts,
        "last_error": "http_5xx" if attempts else None,
        "last_attempt_at": changed if attempts else None,
        "created_at": changed,
        "updated_at": changed,
    }
    async with runtime.db.begin() as conn:
        result = await conn.execute(sa.insert(provisioning_jobs).values(values).returning(provisioning_jobs.c.id))
        return int(result.scalar_one())


def account_row(db_url: str, account_id: str) -> dict[str, Any]:
    """The account's row, read on a connection of its own (for tests whose remit runs in another process)."""
    engine = create_sync_engine(db_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            row = conn.execute(sa.select(accounts).where(accounts.c.id == account_id)).mappings().one()
            return dict(row)
    finally:
        engine.dispose()
