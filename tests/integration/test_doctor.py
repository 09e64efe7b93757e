"""``remit doctor``: the runbook diagnosis in order, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from remit.cli import app
from remit.config import Settings
from remit.db.engine import create_sync_engine
from remit.db.location import describe
from remit.db.tables import jobs, workers
from remit.doctor import Check, Status, diagnose, is_healthy
from remit.parts import build_runtime
from remit.runtime import Runtime
from tests.support import jobs as support_jobs
from tests.support.worker_rows import add_live_worker

ORDER = ["configuration", "database", "migrations", "queues", "workers", "processor", "processor_credentials", "mail"]
PLANTED = "sk_live_51DoctorMustNeverPrintThis"


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {check.name: check for check in checks}


async def test_a_migrated_database_with_a_live_worker_is_healthy(runtime: Runtime, db_url: str) -> None:
    await add_live_worker(runtime)
    checks = await diagnose({"DATABASE_URL": db_url}, runtime=runtime)
    assert [check.name for check in checks] == ORDER
    status = {check.name: check.status for check in checks}
    assert status["configuration"] is Status.OK
    assert status["database"] is Status.OK
    assert status["migrations"] is Status.OK
    assert status["queues"] is Status.OK
    assert status["workers"] is Status.OK
    assert status["processor"] is Status.OK  # the fake processor answers from this database
    assert status["mail"] is Status.OK  # the development outbox, and the PDF engine scripts/test installs
    assert is_healthy(checks)
    queues = by_name(checks)["queues"].data["queues"]
    assert "remit_webhooks" in {row["name"] for row in queues}
    assert set(queues[0]) >= {
        "available",
        "scheduled",
        "executing",
        "retryable",
        "discarded",
        "oldest_available_age_s",
        "paused",
    }


async def test_no_live_worker_is_unhealthy(runtime: Runtime, db_url: str) -> None:
    await add_live_worker(runtime, age_s=runtime.settings.job_lease_seconds + 30)  # died long ago
    checks = await diagnose({"DATABASE_URL": db_url}, runtime=runtime)
    workers_check = by_name(checks)["workers"]
    assert workers_check.status is Status.FAIL
    assert "remit worker" in workers_check.detail
    assert not is_healthy(checks)


async def test_a_paused_queue_is_a_warning_not_a_failure(runtime: Runtime, db_url: str) -> None:
    await add_live_worker(runtime)
    await runtime.engine.pause("remit_mailers", actor="test")
    checks = await diagnose({"DATABASE_URL": db_url}, runtime=runtime)
    queues = by_name(checks)["queues"]
    assert queues.status is Status.WARN
    assert "paused: remit_mailers" in queues.detail
    assert is_healthy(checks)


async def test_an_unmigrated_database_fails_and_skips_what_needs_the_schema(tmp_path: Path) -> None:
    sqlite3.connect(tmp_path / "empty.db").close()  # an empty database file: there, but never migrated
    checks = await diagnose({"DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"})
    status = {check.name: check.status for check in checks}
    assert [check.name for check in checks] == ORDER
    assert status["database"] is Status.OK
    assert status["migrations"] is Status.FAIL
    assert "remit migrate" in by_name(checks)["migrations"].detail
    assert status["queues"] is Status.SKIPPED
    assert status["workers"] is Status.SKIPPED
    assert status["processor_credentials"] is Status.SKIPPED
    assert not is_healthy(checks)


@pytest.mark.parametrize("url", ["postgresql://remit@127.0.0.1:1/remit", "sqlite:////nonexistent-dir/for/remit.db"])
async def test_an_unreachable_database_fails_and_skips_the_rest(url: str) -> None:
    checks = await diagnose({"DATABASE_URL": url})
    assert [check.name for check in checks] == ORDER
    assert by_name(checks)["database"].status is Status.FAIL
    assert [check.status for check in checks[2:]] == [Status.SKIPPED] * (len(ORDER) - 2)
    assert not is_healthy(checks)


async def test_invalid_configuration_names_every_problem_without_values() -> None:
    environ = {"REMIT_PROCESSOR": "stripe", "REMIT_QUEUES": f"{PLANTED}:x"}
    checks = await diagnose(environ)
    config = by_name(checks)["configuration"]
    assert config.status is Status.FAIL
    text = json.dumps([check.as_row() for check in checks])
    for variable in ["STRIPE_API_KEY", "STRIPE_WEBHOOK_SECRET", "REMIT_QUEUES"]:
        assert variable in config.detail
    assert config.data["variables"]["REMIT_QUEUES"] == "set"
    assert config.data["variables"]["STRIPE_API_KEY"] == "unset"
    assert config.data["missing"] == ["STRIPE_API_KEY", "STRIPE_WEBHOOK_SECRET"]
    assert PLANTED not in text
    assert [check.status for check in checks[1:]] == [Status.SKIPPED] * (len(ORDER) - 1)


async def test_configuration_reports_set_and_unset_never_values(runtime: Runtime, db_url: str) -> None:
    environ = {"DATABASE_URL": db_url, "STRIPE_API_KEY": PLANTED, "REMIT_SERVICE_TOKENS": "tok_a,tok_b"}
    checks = await diagnose(environ, runtime=runtime)
    config = by_name(checks)["configuration"]
    assert config.data["variables"]["STRIPE_API_KEY"] == "set"
    assert config.data["variables"]["STRIPE_WEBHOOK_SECRET"] == "unset"
    text = json.dumps([check.as_row() for check in checks])
    assert PLANTED not in text
    assert "tok_a" not in text
    assert db_url not in config.detail  # set/unset only; the database check names it, its password hidden
    assert by_name(checks)["database"].detail == f"{describe(db_url)} reachable"


def test_cli_json_prints_one_array_and_exits_non_zero_when_unhealthy(db_url: str) -> None:
    result = CliRunner().invoke(app, ["doctor", "--json"], env={"DATABASE_URL": db_url})
    rows = json.loads(result.stdout)
    assert isinstance(rows, list)
    assert [row["check"] for row in rows] == ORDER
    assert {row["status"] for row in rows} <= {"ok", "warn", "fail", "skipped"}
    assert result.exit_code == 1  # no worker is running against this database


async def test_an_unreachable_processor_fails(db_url: str) -> None:
    environ = {
        "DATABASE_URL": db_url,
        "REMIT_PROCESSOR": "stripe",
        "STRIPE_API_KEY": PLANTED,
        "STRIPE_WEBHOOK_SECRET": "whsec_test",
        "STRIPE_API_BASE": "http://127.0.0.1:1",
    }
    checks = await diagnose(environ)
    processor = by_name(checks)["processor"]
    assert processor.status is Status.FAIL
    assert PLANTED not in json.dumps([check.as_row() for check in checks])
    assert not is_healthy(checks)


@pytest.fixture
def live_worker_row(db_url: str) -> None:
    """A live worker row, written from synchronous code (the CLI runs its own event loop)."""
    engine = create_sync_engine(db_url, poolclass=sa.pool.NullPool)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(workers).values(id="cli-worker", host="test", pid=1, queues=[], started_at=now, heartbeat_at=now)
        )
    engine.dispose()


@pytest.mark.usefixtures("live_worker_row")
def test_cli_exits_zero_when_healthy(db_url: str) -> None:
    result = CliRunner().invoke(app, ["doctor"], env={"DATABASE_URL": db_url})
    assert result.exit_code == 0, result.stdout
    assert "workers" in result.stdout


async def test_production_on_the_fake_processor_is_never_healthy(db_url: str) -> None:
    """The configuration step names REMIT_PROCESSOR; and a runtime built past load_settings (which refuses it)
    still fails the processor step, though the fake itself would answer its ping."""
    environ = {
        "DATABASE_URL": db_url,
        "REMIT_ENV": "production",
        "REMIT_SERVICE_TOKENS": "9f1c2a7be4d08356aa1ec2f9b7d3e604",
    }
    checks = await diagnose(environ)
    config = by_name(checks)["configuration"]
    assert config.status is Status.FAIL
    assert "REMIT_PROCESSOR must be stripe" in config.detail
    assert "REMIT_PROCESSOR" in config.data["required"]
    assert not is_healthy(checks)

    runtime = build_runtime(Settings.model_validate(environ))
    try:
        await add_live_worker(runtime)
        checks = await diagnose({"DATABASE_URL": db_url}, runtime=runtime)
    finally:
        await runtime.close()
    processor = by_name(checks)["processor"]
    assert processor.status is Status.FAIL
    assert "REMIT_PROCESSOR=stripe" in processor.detail
    assert not is_healthy(checks)


async def test_the_database_is_named_with_its_password_hidden() -> None:
    checks = await diagnose({"DATABASE_URL": "postgresql://remit:hunter2@127.0.0.1:1/remit"})
    database = by_name(checks)["database"]
    assert database.status is Status.FAIL
    assert database.detail.startswith("postgresql://remit:***@127.0.0.1:1/remit unreachable")
    assert "hunter2" not in json.dumps([check.as_row() for check in checks])


def test_doctor_in_a_directory_without_the_database_names_the_file_and_creates_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["doctor", "--json"], env={"DATABASE_URL": None})
    rows = {row["check"]: row for row in json.loads(result.stdout)}
    assert result.exit_code == 1
    assert rows["database"]["status"] == "fail"
    assert f"no database file at {tmp_path.resolve() / 'remit.db'}" in rows["database"]["detail"]
    assert list(tmp_path.iterdir()) == []


async def test_a_dead_letter_that_was_replayed_is_no_longer_counted(runtime: Runtime, db_url: str) -> None:
    await add_live_worker(runtime)
    async with runtime.db.begin() as conn:
        first = await runtime.engine.enqueue(conn, support_jobs.noop, {"n": 1})
        redone = await runtime.engine.enqueue(conn, support_jobs.noop, {"n": 2})
        await conn.execute(sa.update(jobs).where(jobs.c.id.in_([first, redone])).values(state="discarded"))
        await conn.execute(sa.update(jobs).where(jobs.c.id == redone).values(unique_key="dispatch:41"))
    checks = await diagnose({"DATABASE_URL": db_url}, runtime=runtime)
    assert "2 discarded" in by_name(checks)["queues"].detail
    async with runtime.db.begin() as conn:  # the replay: a fresh job for the same work, which completes
        again = await runtime.engine.enqueue(conn, support_jobs.noop, {"n": 2})
        await conn.execute(
            sa.update(jobs).where(jobs.c.id == again).values(unique_key="dispatch:41", state="completed")
        )
    checks = await diagnose({"DATABASE_URL": db_url}, runtime=runtime)
    assert "1 discarded" in by_name(checks)["queues"].detail  # the one never redone is still there
    rows = {row["name"]: row for row in by_name(checks)["queues"].data["queues"]}
    assert rows["test_default"]["discarded"] == 1
