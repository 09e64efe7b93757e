"""Declaring jobs, unique keys, queue names and enqueue rows (no I/O)."""

from datetime import UTC, datetime, timedelta

import pytest

from remit.config import QueueSpec, parse_queues
from remit.db.engine import Database
from remit.errors import JobError, UnknownJob
from remit.jobs.definition import JobRegistry, UniqueBy, job
from remit.jobs.engine import Engine
from remit.jobs.rows import JobRequest
from remit.jobs.settings import JobSettings
from remit.jobs.worker import select_queues

NOW = datetime(2026, 1, 1, tzinfo=UTC)
registry = JobRegistry()


@job(queue="remit_webhooks", name="t.dispatch", registry=registry, unique=UniqueBy("event_id"), max_attempts=25)
async def dispatch(ctx, event_id, extra=None):
    return None


def test_registry_lookup_and_duplicates():
    assert registry.get("t.dispatch") is dispatch
    with pytest.raises(UnknownJob):
        registry.get("nope")

    async def other(ctx):
        return None

    with pytest.raises(JobError, match="two jobs"):
        job(queue="q", name="t.dispatch", registry=registry)(other)


def test_unique_key_depends_only_on_named_fields():
    assert dispatch.unique_key({"event_id": 1, "extra": "a"}) == dispatch.unique_key({"event_id": 1, "extra": "b"})
    assert dispatch.unique_key({"event_id": 1}) != dispatch.unique_key({"event_id": 2})
    with pytest.raises(JobError, match="arguments lack"):
        dispatch.unique_key({})


def test_build_row_schedules_and_resolves_queue():
    settings = JobSettings(queues=parse_queues("remit_webhooks=billing_hooks:20"))
    engine = Engine(Database.from_url("sqlite:///:memory:"), registry=registry, settings=settings)  # never connects
    build_row = engine.build_row
    row = build_row(JobRequest(dispatch, {"event_id": 7}), NOW)
    assert row["queue"] == "billing_hooks"
    assert row["state"] == "available"
    assert row["max_attempts"] == 25
    later = build_row(JobRequest(dispatch, {"event_id": 7}, delay=60), NOW)
    assert later["state"] == "scheduled"
    assert later["scheduled_at"] == NOW + timedelta(seconds=60)
    with pytest.raises(JobError, match="not both"):
        build_row(JobRequest(dispatch, {"event_id": 1}, delay=1, scheduled_at=NOW), NOW)


def test_parse_queues_renames_and_adds_host_queues():
    parsed = parse_queues("remit_webhooks=hooks:20,identity_events:3")
    assert parsed["remit_webhooks"] == QueueSpec("remit_webhooks", "hooks", 20)
    assert parsed["identity_events"] == QueueSpec("identity_events", "identity_events", 3)
    assert parsed["remit_mailers"].concurrency == 5
    with pytest.raises(ValueError, match="share one name"):
        parse_queues("remit_webhooks=remit_mailers")


def test_select_queues_by_key_or_name():
    parsed = parse_queues("remit_webhooks=hooks:20")
    assert [q.name for q in select_queues(parsed, ["remit_webhooks"])] == ["hooks"]
    assert [q.name for q in select_queues(parsed, ["hooks", "custom"])] == ["hooks", "custom"]
    assert len(select_queues(parsed, None)) == len(parsed)


def test_a_job_request_is_a_frozen_dataclass_with_every_field_set():
    import dataclasses

    bare = JobRequest("t.dispatch")
    assert {f.name: getattr(bare, f.name) for f in dataclasses.fields(JobRequest)} == {
        "job": "t.dispatch",
        "args": {},
        "queue": None,
        "scheduled_at": None,
        "delay": None,
        "priority": None,
        "max_attempts": None,
        "unique_key": None,
        "meta": None,
    }
    assert JobRequest("t.dispatch").args is not bare.args  # a fresh mapping each, as default_factory gives
    full = JobRequest(dispatch, {"event_id": 1}, "q", NOW, None, 3, 4, "k", {"m": 1})
    assert full == JobRequest(
        job=dispatch,
        args={"event_id": 1},
        queue="q",
        scheduled_at=NOW,
        priority=3,
        max_attempts=4,
        unique_key="k",
        meta={"m": 1},
    )
    assert dataclasses.replace(full, priority=5).priority == 5
    with pytest.raises(dataclasses.FrozenInstanceError):
        full.priority = 1  # type: ignore[misc]
