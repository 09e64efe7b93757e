"""The money part's tables: dunning cases, recorded fees and their drift, and money signals raised once.

``remit_dunning_cases`` holds one row per subscription remit has seen past due: when its grace ends, what the
sweeper asked the processor (and how often), and when the processor confirmed the terminal state. The mirror's
subscription row is never written here: it changes only through the confirming webhook.

``remit_fees`` holds the balance-transaction numbers of each settled charge and refund (fee, net, the fee a
refund returned) as the fee reconciler first stored them; ``remit_fee_drifts`` records each later change the
processor made to them.

``remit_money_signals`` is the once-only guard of the ops events that must fire once per business event
(``charge_failed`` per charge, ``incomplete_expired`` per subscription, ``revenue_loss`` per reason and
subject): its key is unique, and the event is emitted only by the transaction whose insert won.
"""

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table

from remit.db.tables.base import metadata
from remit.db.types import BigId, UtcDateTime

ID = String(255)

dunning_cases = Table(
    "remit_dunning_cases",
    metadata,
    Column("subscription_id", ID, primary_key=True),
    Column("customer_id", ID, nullable=True),
    Column("state", String(16), nullable=False),
    Column("past_due_since", UtcDateTime, nullable=False),
    Column("grace_until", UtcDateTime, nullable=False),
    Column("action", String(16), nullable=True),
    Column("attempts", Integer, nullable=False),
    Column("last_attempt_at", UtcDateTime, nullable=True),
    Column("last_error", String(200), nullable=True),
    Column("confirmed_status", String(32), nullable=True),
    Column("source", String(32), nullable=True),
    Column("exhausted_at", UtcDateTime, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
)
Index("ix_remit_dunning_cases_state_grace_until", dunning_cases.c.state, dunning_cases.c.grace_until)

fees = Table(
    "remit_fees",
    metadata,
    Column("subject_id", ID, primary_key=True),
    Column("subject_type", String(16), nullable=False),
    Column("charge_id", ID, nullable=True),
    Column("balance_transaction_id", ID, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("fee", BigInteger, nullable=False),
    Column("net", BigInteger, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("drift_count", Integer, nullable=False),
    Column("drifted_at", UtcDateTime, nullable=True),
)
Index("ix_remit_fees_charge_id", fees.c.charge_id)

fee_drifts = Table(
    "remit_fee_drifts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("subject_id", ID, nullable=False),
    Column("balance_transaction_id", ID, nullable=False),
    Column("old_fee", BigInteger, nullable=False),
    Column("new_fee", BigInteger, nullable=False),
    Column("old_net", BigInteger, nullable=False),
    Column("new_net", BigInteger, nullable=False),
    Column("detected_at", UtcDateTime, nullable=False),
)
Index("ix_remit_fee_drifts_subject_id", fee_drifts.c.subject_id)

money_signals = Table(
    "remit_money_signals",
    metadata,
    Column("key", ID, primary_key=True),
    Column("event", String(64), nullable=False),
    Column("reason", String(64), nullable=True),
    Column("subject_type", String(32), nullable=False),
    Column("subject_id", ID, nullable=False),
    Column("amount", BigInteger, nullable=True),
    Column("currency", String(3), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
)
Index("ix_remit_money_signals_event_created_at", money_signals.c.event, money_signals.c.created_at)

#: Where payment sync's read of the processor's event stream got to (one row, ``name`` ``events``): every event
#: created up to ``since`` has been judged; while a backlog larger than one pass is worked through (the list is
#: newest first), ``backlog_until`` is the oldest event time still to read down from and ``backlog_newest`` the
#: newest time already read, which becomes ``since`` once the backlog is done.
payment_sync_cursors = Table(
    "remit_payment_sync_cursors",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("since", UtcDateTime, nullable=False),
    Column("backlog_until", UtcDateTime, nullable=True),
    Column("backlog_newest", UtcDateTime, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("backlog_after", String(255), nullable=True),
)

__all__ = ["dunning_cases", "fee_drifts", "fees", "money_signals", "payment_sync_cursors"]
