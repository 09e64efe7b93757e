"""The money part's recurring work, as issue 9 and the operator runbooks name it: each task on its queue, on
its schedule, leader only — and the send and document jobs on theirs."""

from __future__ import annotations

from remit import documents, mail, money
from remit.periodic import Cron


def test_the_money_tasks_run_on_their_named_queues_leader_only() -> None:
    tasks = {task.name: task for task in money.PART.periodic}
    assert {name: (task.schedule, task.leader_only, task.queue) for name, task in tasks.items()} == {
        "money.dunning_sweep": (Cron("*/15 * * * *"), True, "remit_dunning"),
        "money.fee_reconcile": (Cron("30 4 * * *"), True, "remit_reconcilers"),  # daily
        "money.payment_sync": (Cron("*/30 * * * *"), True, "remit_payment_sync"),
        "money.card_expiry": (Cron("0 9 * * *"), True, "remit_scheduled"),  # daily
    }


def test_the_jobs_run_on_their_named_queues() -> None:
    queues = {job.name: job.queue for part in (money.PART, mail.PART, documents.PART) for job in part.jobs}
    assert queues == {
        "remit.money.dunning.terminate": "remit_dunning",
        "remit.mail.send": "remit_mailers",
        "remit.documents.render_invoice": "remit_invoices",
    }
