"""A host's job module, as ``REMIT_JOB_MODULES`` names one: jobs, handlers, cron, a periodic task, a machine.

Importing it registers nothing; :func:`remit.part.part_from_module` collects it (tests/unit/test_parts.py).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from remit import Cron, HandlerContext, JobContext, PeriodicContext, PeriodicTask, StateMachine, job, on_event
from remit.periodic import Counts
from tests.support.jobs import noop  # imported from elsewhere: collected once, under its own name

SEEN: list[str] = []


@job(queue="identity_events", name="host.sync_identity")
async def sync_identity(ctx: JobContext[Any], user_id: int) -> None:
    SEEN.append(f"sync:{user_id}")


@on_event("invoice.paid", name="host.grant_access")
async def grant_access(ctx: HandlerContext) -> None:
    SEEN.append(f"grant:{ctx.event.id}")


@on_event("*", name="host.audit_everything")
async def audit_everything(ctx: HandlerContext) -> None:
    SEEN.append(f"audit:{ctx.event.id}")


async def count_accounts(ctx: PeriodicContext[Any]) -> Counts:
    return {"accounts": 3}


ACCOUNTS = PeriodicTask("host.count_accounts", Cron("0 * * * *"), count_accounts)


class Seat(StrEnum):
    FREE = "free"
    TAKEN = "taken"


SEATS = StateMachine("host_seat", Seat, {Seat.FREE: {Seat.TAKEN}, Seat.TAKEN: {Seat.FREE}}, terminal=frozenset())

CRON_JOBS = [("host.nightly_sync", "0 3 * * *", sync_identity, {"user_id": 0})]

__all__ = ["ACCOUNTS", "CRON_JOBS", "SEATS", "audit_everything", "count_accounts", "grant_access", "noop"]
