"""The text a large PostgreSQL enqueue hands to COPY (pure): one line per row, fields escaped as COPY reads them,
the same whether a row's tail is shared with its job's other rows or built for it alone."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any

import pytest

from remit.config import parse_queues
from remit.db.engine import Database
from remit.jobs.definition import JobRegistry, UniqueBy, job
from remit.jobs.engine import Engine
from remit.jobs.rows import JobRequest
from remit.jobs.settings import JobSettings
from remit.jobs.store.enqueue import COPY_COLUMNS, COPY_FROM_ROWS, copy_payload, copy_text


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
        b'7\t{"n":1}\tq\tn\tavailable\t0\t0\t20\t\\N\t2026-01-02T03:04:05.000006+00:00\t'
        b"2026-01-02T03:04:05.000006+00:00\t\\N\t[]\t{}\n"
    )
    assert COPY_COLUMNS[:4] == ("id", "args", "queue", "name")  # the order COPY is told


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
    assert fields[2:4] == ["a\\tb", "c\\\\d\\ne\\rf"]
    assert fields[1] == '{"s":"tab\\\\there \\\\"q\\\\" \\\\\\\\"}'
    assert fields[11:] == ["1.5", "[]", '{"k":[1]}']
    assert second.split("\t")[8:10] == ["u", "2026-01-02T03:04:05+00:00"]


registry = JobRegistry()


@job(queue="work", name="t.plain", registry=registry, max_attempts=7, timeout=2.5, priority=1)
async def plain(ctx: Any, **_: Any) -> None:
    return None


@job(queue="other", name="t.other", registry=registry)
async def other(ctx: Any, **_: Any) -> None:
    return None


@job(queue="work", name="t.unique", registry=registry, unique=UniqueBy("n"))
async def unique(ctx: Any, **_: Any) -> None:
    return None


NOW = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)


def _engine() -> Engine:
    settings = JobSettings(queues=parse_queues("work=renamed_work:5"))
    return Engine(Database.from_url("sqlite:///:memory:"), registry=registry, settings=settings)  # never connects


def _mixed(n: int) -> Iterator[JobRequest]:
    """Plain requests of two jobs (one named by its registered name) with every other option sprinkled in."""
    for i in range(n):
        yield JobRequest(plain, {"n": i, "s": "tab\there \\ é"})
        yield JobRequest("t.other", MappingProxyType({"n": i}))
        if i % 7 == 0:  # each option alone, after the job's plain requests
            yield JobRequest(plain, {"n": i}, meta={"k": i})
            yield JobRequest(plain, {"n": i}, priority=5)
            yield JobRequest(plain, {"n": i}, max_attempts=2)
            yield JobRequest(plain, {"n": i}, queue="elsewhere")
            yield JobRequest(plain, {"n": i}, delay=30.0)
            yield JobRequest(plain, {"n": i}, scheduled_at=NOW + timedelta(hours=1))
            yield JobRequest(other, scheduled_at=NOW - timedelta(seconds=1), unique_key=None)


def test_a_batch_laid_out_for_copy_is_exactly_the_rows_build_row_gives() -> None:
    engine = _engine()
    requests = list(_mixed(COPY_FROM_ROWS))
    parts = engine._copy_parts(requests, NOW)
    assert parts is not None
    ids = list(range(1000, 1000 + len(requests)))
    expected = copy_text(ids, [engine.build_row(request, NOW) for request in requests])
    assert copy_payload(ids, *parts) == expected
    lines = expected.decode().split("\n")
    assert lines[0].split("\t")[2:4] == ["renamed_work", "t.plain"]
    assert lines[1].split("\t")[1:4] == ['{"n":0}', "other", "t.other"]


@pytest.mark.parametrize(
    "odd_one",
    [JobRequest(unique, {"n": 1}), JobRequest(plain, {"n": 1}, unique_key="mine")],
    ids=["unique job", "unique key given"],
)
def test_a_batch_with_a_unique_key_is_not_laid_out_for_copy(odd_one: JobRequest) -> None:
    requests: list[JobRequest] = [*_mixed(COPY_FROM_ROWS), odd_one]
    assert _engine()._copy_parts(requests, NOW) is None


def test_arguments_of_any_mapping_are_stored_as_their_json_object() -> None:
    args: Mapping[str, Any] = MappingProxyType({"a": [1, "b"]})
    parts = _engine()._copy_parts([JobRequest(plain, {}), JobRequest(plain, args)], NOW)
    assert parts is not None
    assert parts[0] == [b"{}", b'{"a":[1,"b"]}']
