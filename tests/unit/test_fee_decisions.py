"""The fee pass's pure parts: parsing a balance transaction, what it changes, the time slices, the losses."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

from remit.money.fees import FeeOutcome, Stored, Txn, decide
from remit.money.losses import LossReason, dispute_loss, refund_exceeds_net, refund_fee_loss
from remit.money.reconcile import slices


def txn(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": "txn_1",
        "type": "charge",
        "source": "ch_1",
        "amount": 2500,
        "fee": 103,
        "net": 2397,
        "currency": "usd",
        "created": 1_700_000_000,
    }
    return base | overrides


def test_charges_and_refunds_are_parsed_and_everything_else_is_not() -> None:
    parsed = Txn.parse(txn())
    assert parsed is not None
    assert (parsed.subject_type, parsed.subject_id, parsed.fee, parsed.net) == ("charge", "ch_1", 103, 2397)
    refund = Txn.parse(txn(type="refund", source="re_1", amount=-500, fee=0, net=-500))
    assert refund is not None
    assert refund.subject_type == "refund"
    assert Txn.parse(txn(type="payout")) is None
    assert Txn.parse(txn(fee=None)) is None
    assert Txn.parse(txn(source=None)) is None


def test_new_fees_are_recorded_equal_ones_unchanged_and_changed_ones_drift() -> None:
    parsed = Txn.parse(txn())
    assert parsed is not None
    assert decide(parsed, None) is FeeOutcome.RECORD
    assert decide(parsed, Stored(103, 2397)) is FeeOutcome.UNCHANGED
    assert decide(parsed, Stored(100, 2400)) is FeeOutcome.DRIFT


def test_slices_cover_the_window_once_without_overlap() -> None:
    cut = slices(100, 199, 8)
    assert len(cut) == 8
    assert cut[0][0] == 100
    assert cut[-1][1] == 199
    assert all(a[1] + 1 == b[0] for a, b in itertools.pairwise(cut))
    assert slices(100, 102, 8) == [(100, 100), (101, 101), (102, 102)]
    assert slices(5, 4, 8) == []


def test_each_loss_reason_and_its_amounts() -> None:
    kept = refund_fee_loss("re_1", "ch_1", 1000, 0, 2500, 103, "usd")
    assert kept is not None
    assert (kept.reason, kept.amount, kept.fee) == (LossReason.REFUND_FEE_NOT_RETURNED, 41, 41)
    assert refund_fee_loss("re_1", "ch_1", 1000, -41, 2500, 103, "usd") is None  # the share came back
    excess = refund_exceeds_net("ch_1", 2500, 2397, "usd", None)
    assert excess is not None
    assert (excess.reason, excess.amount) == (LossReason.REFUND_EXCEEDS_NET, 103)
    assert refund_exceeds_net("ch_1", 2397, 2397, "usd", None) is None
    lost = dispute_loss(
        {
            "id": "dp_1",
            "status": "lost",
            "amount": 2000,
            "currency": "usd",
            "charge": "ch_1",
            "balance_transactions": [{"fee": 1500}],
        }
    )
    assert lost is not None
    assert (lost.reason, lost.amount, lost.fee, lost.charge_id) == (LossReason.DISPUTE_LOST, 2000, 1500, "ch_1")
    assert dispute_loss({"id": "dp_1", "status": "won"}) is None


def test_docs_list_every_loss_reason_and_no_other() -> None:
    money = (Path(__file__).resolve().parents[2] / "docs" / "money.md").read_text()
    section = money.split("## Revenue loss", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.MULTILINE))
    assert documented == {reason.value for reason in LossReason}


def test_a_card_expires_after_its_month_and_the_most_urgent_reached_notice_is_due() -> None:
    from datetime import UTC, datetime, timedelta

    from remit.money.cards import due_threshold, expires_at

    assert expires_at(12, 2030) == datetime(2031, 1, 1, tzinfo=UTC)
    assert expires_at(2, 2030) == datetime(2030, 3, 1, tzinfo=UTC)
    expiry = expires_at(6, 2030)
    thresholds = (30, 7, 1)
    assert due_threshold(expiry, expiry - timedelta(days=31), thresholds) is None
    assert due_threshold(expiry, expiry - timedelta(days=30), thresholds) == 30
    assert due_threshold(expiry, expiry - timedelta(days=5), thresholds) == 7
    assert due_threshold(expiry, expiry - timedelta(hours=1), thresholds) == 1
    assert due_threshold(expiry, expiry, thresholds) is None
