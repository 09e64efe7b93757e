"""What a large PostgreSQL enqueue hands to COPY (pure): its binary format, read back here field by field, and
the same whether a row's tail is shared with its job's other rows or built for it alone."""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any

import pytest

from remit.config import parse_queues
from remit.db.engine import Database
from remit.errors import JobError
from remit.jobs.definition import JobRegistry, UniqueBy, job
from remit.jobs.engine import Engine
from remit.jobs.rows import JobRequest
from remit.jobs.settings import JobSettings
from remit.jobs.store.enqueue import COPY_COLUMNS, COPY_FROM_ROWS, copy_input, copy_payload

PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
#: How each column's binary form reads back (PostgreSQL's send functions, for the types of remit_jobs).
DECODE: dict[str, Any] = {
    "id": lambda b: struct.unpack(">q", b)[0],
    "queue": bytes.decode,
    "name": bytes.decode,
    "args": lambda b: (b[0], json.loads(b[1:])),
    "state": bytes.decode,
    "priority": lambda b: struct.unpack(">h", b)[0],
    "attempt": lambda b: struct.unpack(">i", b)[0],
    "max_attempts": lambda b: struct.unpack(">i", b)[0],
    "unique_key": bytes.decode,
    "scheduled_at": lambda b: PG_EPOCH + timedelta(microseconds=struct.unpack(">q", b)[0]),
    "inserted_at": lambda b: PG_EPOCH + timedelta(microseconds=struct.unpack(">q", b)[0]),
    "timeout": lambda b: struct.unpack(">d", b)[0],
    "errors": lambda b: (b[0], json.loads(b[1:])),
    "meta": lambda b: (b[0], json.loads(b[1:])),
}


def read_copy(data: bytes) -> list[dict[str, Any]]:
    """COPY's binary input read back into rows (as a server would, for remit's columns)."""
    assert data[:11] == b"PGCOPY\n\xff\r\n\x00"
    flags, extension = struct.unpack(">ii", data[11:19])
    assert (flags, extension) == (0, 0)
    at, rows = 19, []
    while True:
        (count,) = struct.unpack(">h", data[at : at + 2])
        at += 2
        if count == -1:
            assert at == len(data), "bytes after the trailer"
            return rows
        assert count == len(COPY_COLUMNS)
        row: dict[str, Any] = {}
        for column in COPY_COLUMNS:
            (size,) = struct.unpack(">i", data[at : at + 4])
            at += 4
            if size == -1:
                row[column] = None
            else:
                row[column] = DECODE[column](data[at : at + size])
                at += size
        rows.append(row)


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


def test_a_plain_row_reads_back_as_itself_with_nulls_as_nulls() -> None:
    now = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    assert read_copy(copy_input([7], [_row()])) == [
        {
            "id": 7,
            "args": (1, {"n": 1}),  # jsonb: version 1, then the JSON text
            "queue": "q",
            "name": "n",
            "state": "available",
            "priority": 0,
            "attempt": 0,
            "max_attempts": 20,
            "unique_key": None,
            "scheduled_at": now,
            "inserted_at": now,
            "timeout": None,
            "errors": (1, []),
            "meta": (1, {}),
        }
    ]
    assert COPY_COLUMNS[:4] == ("id", "args", "queue", "name")  # the order COPY is told


def test_text_goes_as_it_is_and_times_in_utc() -> None:
    later = datetime(2026, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2)))
    args = {"s": 'tab\there "q" \\ é\n'}
    first, second = read_copy(
        copy_input(
            [1, 2**40],
            [
                _row(queue="a\tb", name="c\\d\ne\rf", args=args, timeout=1.5, meta={"k": [1]}, priority=-3),
                _row(scheduled_at=later, unique_key="ü", max_attempts=2**31 - 1, timeout=30),
            ],
        )
    )
    assert (first["queue"], first["name"], first["args"]) == ("a\tb", "c\\d\ne\rf", (1, args))
    assert (first["timeout"], first["meta"], first["priority"]) == (1.5, (1, {"k": [1]}), -3)
    assert second["id"] == 2**40
    assert second["scheduled_at"] == later
    assert second["scheduled_at"].hour == 3  # UTC
    assert (second["unique_key"], second["max_attempts"], second["timeout"]) == ("ü", 2**31 - 1, 30.0)


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
    expected = copy_input(ids, [engine.build_row(request, NOW) for request in requests])
    assert copy_payload(ids, *parts) == expected
    rows = read_copy(expected)
    assert [row["id"] for row in rows] == ids
    assert (rows[0]["queue"], rows[0]["name"], rows[0]["max_attempts"], rows[0]["timeout"]) == (
        "renamed_work",
        "t.plain",
        7,
        2.5,
    )
    assert (rows[1]["args"], rows[1]["queue"], rows[1]["name"]) == ((1, {"n": 0}), "other", "t.other")


@pytest.mark.parametrize(
    "odd_one",
    [JobRequest(unique, {"n": 1}), JobRequest(plain, {"n": 1}, unique_key="mine")],
    ids=["unique job", "unique key given"],
)
def test_a_batch_with_a_unique_key_is_not_laid_out_for_copy(odd_one: JobRequest) -> None:
    requests: list[JobRequest] = [*_mixed(COPY_FROM_ROWS), odd_one]
    assert _engine()._copy_parts(requests, NOW) is None


@pytest.mark.parametrize(
    "option", [{"priority": 2**15}, {"max_attempts": 2**31}, {"priority": 1.5}], ids=["priority", "attempts", "float"]
)
def test_a_number_its_column_cannot_hold_is_refused_before_anything_is_sent(option: dict[str, Any]) -> None:
    requests = [*_mixed(COPY_FROM_ROWS), JobRequest(plain, {"n": 1}, **option)]
    with pytest.raises(JobError, match="does not fit its column"):
        _engine()._copy_parts(requests, NOW)


def test_arguments_of_any_mapping_are_stored_as_their_json_object() -> None:
    args: Mapping[str, Any] = MappingProxyType({"a": [1, "b"]})
    parts = _engine()._copy_parts([JobRequest(plain, {}), JobRequest(plain, args)], NOW)
    assert parts is not None
    assert parts[0] == [b"{}", b'{"a":[1,"b"]}']
