"""The text a large PostgreSQL enqueue hands to COPY (pure): one line per row, fields escaped as COPY reads them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from remit.jobs.store.enqueue import copy_text


def _row(**overrides: object) -> dict[str, object]:
    now = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    row: dict[str, object] = {
        "queue": "q",
        "name": "n",
        "args": {"n": 1},
        "state": "available",
        "priority": 0,
        "attempt": 0,
        "max_attempts": 20,
        "unique_key": None,
        "scheduled_at": now,
        "inserted_at": now,
        "timeout": None,
        "errors": [],
        "meta": {},
    }
    row.update(overrides)
    return row


def test_a_plain_row_is_one_tab_separated_line_with_nulls_as_backslash_n() -> None:
    assert copy_text([7], [_row()]) == (
        b'7\tq\tn\t{"n":1}\tavailable\t0\t0\t20\t\\N\t2026-01-02T03:04:05.000006+00:00\t'
        b"2026-01-02T03:04:05.000006+00:00\t\\N\t[]\t{}\n"
    )


def test_tabs_newlines_and_backslashes_are_escaped_and_times_are_utc() -> None:
    later = datetime(2026, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2)))
    text = copy_text(
        [1, 2],
        [
            _row(queue="a\tb", name="c\\d\ne\rf", args={"s": 'tab\there "q" \\'}, timeout=1.5, meta={"k": [1]}),
            _row(scheduled_at=later, unique_key="u"),
        ],
    ).decode()
    first, second, end = text.split("\n")
    assert end == ""
    fields = first.split("\t")
    assert fields[1:3] == ["a\\tb", "c\\\\d\\ne\\rf"]
    assert fields[3] == '{"s":"tab\\\\there \\\\"q\\\\" \\\\\\\\"}'
    assert fields[11:] == ["1.5", "[]", '{"k":[1]}']
    assert second.split("\t")[8:10] == ["u", "2026-01-02T03:04:05+00:00"]
