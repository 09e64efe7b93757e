"""The main job on a fresh machine, as real processes: ``remit up`` on SQLite with the fake processor, then
``remit demo`` against it — the mirror, the ledger and the dead-letter queue fill, and every line it prints
under "where to look next" runs as printed (in a shell, from another directory): the fix and the replay
empty the dead-letter queue again, doctor stops counting it, the clock reaches the renewals. A demo
interrupted with Ctrl-C names the command that delivers the rest, and a demo run against another database
than the service's says so instead of reporting success."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from remit.db.engine import create_sync_engine
from remit.db.tables import webhook_events
from tests.e2e.test_up import READY, START_TIMEOUT_S, free_port, remit_process, stop
from tests.e2e.workers import REMIT, clean_env

TOKEN = "e2e-demo-token"


def sandbox_env(db_url: str) -> dict[str, str]:
    """What ``./scripts/run`` gives ``remit up``: remit's defaults (no host modules, so the sandbox plays the
    host), plus a read-API token for the checks."""
    env = clean_env(db_url)
    env.update(PYTHONUNBUFFERED="1", REMIT_LOG_FORMAT="json", REMIT_SERVICE_TOKENS=TOKEN)
    return env


def cli(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([REMIT, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120)


def listed(env: dict[str, str], cwd: Path, *args: str) -> list[dict[str, Any]]:
    result = cli(env, cwd, *args, "--json")
    assert result.returncode == 0, result.stderr
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


def shown(env: dict[str, str], cwd: Path, row_id: int) -> dict[str, Any]:
    result = cli(env, cwd, "webhooks", "show", str(row_id), "--json")
    assert result.returncode == 0, result.stderr
    event: dict[str, Any] = json.loads(result.stdout)
    return event


def wait_until_processed(db_url: str, row_id: int, timeout: float) -> None:
    """Poll the event's status in the database (a CLI process per poll would cost a second or more each)."""
    engine = create_sync_engine(db_url, poolclass=sa.pool.NullPool)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                status = conn.execute(sa.select(webhook_events.c.status).where(webhook_events.c.id == row_id)).scalar()
            if status == "processed":
                return
            time.sleep(0.1)
    finally:
        engine.dispose()


def test_up_then_demo_fills_mirror_ledger_and_dead_letters_and_the_fix_replays_them(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'remit.db'}"
    env = sandbox_env(db_url)
    port = free_port()
    with remit_process("up", "--port", str(port), env=env, cwd=tmp_path) as (proc, out, _err):
        base_url = out.wait_for(READY, START_TIMEOUT_S).group(1)
        out.wait_for("sandbox", 5)

        demo = cli(env, tmp_path, "demo", "--url", base_url)
        assert demo.returncode == 0, demo.stdout + demo.stderr
        assert "webhooks sent" in demo.stdout
        assert "remit webhooks list --status dead" in demo.stdout

        dead = listed(env, tmp_path, "webhooks", "list", "--status", "dead")
        assert [row["type"] for row in dead] == ["customer.subscription.created"]
        assert f"remit webhooks show {dead[0]['id']}" in demo.stdout
        failed_or_received = [
            row for row in listed(env, tmp_path, "webhooks", "list") if row["status"] not in ("processed", "dead")
        ]
        assert failed_or_received == []

        auth = {"Authorization": f"Bearer {TOKEN}"}
        customers = httpx.get(f"{base_url}/api/v1/billing/customers?limit=100", headers=auth, timeout=10).json()
        charges = httpx.get(f"{base_url}/api/v1/billing/charges?limit=100", headers=auth, timeout=10).json()
        assert len(customers["data"]) >= 6
        assert any(charge["refunded"] or charge.get("amount_refunded") for charge in charges["data"])
        assert any(charge.get("disputed") for charge in charges["data"])

        # Every line the demo printed runs as printed, in a shell, from another directory: the fix, the
        # replay, the clock a month on, the token from the environment and the read API.
        hints = printed_hints(demo.stdout)
        assert any(" fake clock advance " in line and f"--url {base_url}" in line for line in hints)
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        for line in hints:
            ran = shell(env, elsewhere, line)
            assert ran.returncode == 0, (line, ran.stdout, ran.stderr)
            if line.startswith("curl"):
                assert '"error"' not in ran.stdout, (line, ran.stdout)
        wait_until_processed(db_url, dead[0]["id"], timeout=30)
        replayed = shown(env, tmp_path, dead[0]["id"])
        assert replayed["status"] == "processed"
        assert replayed["handler_results"]["remit.sandbox.grant_seats"]["ok"] is True
        assert listed(env, tmp_path, "webhooks", "list", "--status", "dead") == []
        invoices = listed(env, tmp_path, "fake", "events", "--type", "invoice.created", "--limit", "100")
        started = min(event["created"] for event in invoices)
        renewed = [event for event in invoices if event["created"] >= started + 28 * 86_400]
        assert len(renewed) == 5  # "a month later" reached every ongoing subscription's renewal

        # remit doctor names this database and no longer counts the dead letter that was fixed and replayed.
        doctor = {row["check"]: row for row in listed(env, tmp_path, "doctor")}
        assert str(tmp_path / "remit.db") in doctor["database"]["detail"]
        assert doctor["queues"]["detail"].endswith(", 0 discarded")

        # Ctrl-C during a demo: exit 130 naming the command that delivers the rest, which then works.
        interrupted = subprocess.Popen(
            [REMIT, "demo", "--url", base_url], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        wait_for_more_events(env, stored_before=count_events(env))
        interrupted.send_signal(signal.SIGINT)
        _out, err = interrupted.communicate(timeout=60)
        assert interrupted.returncode == 130, err
        assert f"fake deliver --url {base_url}" in err.decode()
        delivered = cli(env, tmp_path, "fake", "deliver", "--url", base_url)
        assert delivered.returncode == 0, delivered.stderr
        assert listed(env, tmp_path, "fake", "events", "--status", "pending") == []

        # A demo whose database is not the service's: the service accepts, but stores elsewhere (or calls the
        # events duplicates of its own): the demo says so and fails instead of reporting success.
        other = sandbox_env(f"sqlite:///{tmp_path / 'other.db'}")
        assert cli(other, tmp_path, "migrate").returncode == 0
        wrong = cli(other, tmp_path, "demo", "--url", base_url)
        assert wrong.returncode == 1, wrong.stdout + wrong.stderr
        assert "not in this command's database" in wrong.stderr
        assert "duplicates" in wrong.stderr
        assert str(tmp_path / "other.db") in wrong.stderr
        assert "webhooks sent" not in wrong.stdout
        # Now both worlds have events, and they differ: the demo says so before sending anything.
        stored = count_events(env)
        again = cli(other, tmp_path, "demo", "--url", base_url)
        assert again.returncode == 1, again.stdout + again.stderr
        assert "works on another fake world" in again.stderr
        assert "nothing was sent" in again.stderr
        assert count_events(env) == stored
        assert stop(proc) == 0


def printed_hints(stdout: str) -> list[str]:
    """The lines under "where to look next" that are commands (not comments)."""
    lines = stdout.split("where to look next", 1)[1].splitlines()
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


def shell(env: dict[str, str], cwd: Path, line: str) -> subprocess.CompletedProcess[str]:
    """Run ``line`` as a person pasting it would (the demo's ``export TOKEN=…`` is in effect)."""
    script = f'export TOKEN="${{REMIT_SERVICE_TOKENS%%,*}}"\n{line}'
    return subprocess.run(["bash", "-c", script], env=env, cwd=cwd, capture_output=True, text=True, timeout=120)


def count_events(env: dict[str, str]) -> int:
    engine = create_sync_engine(env["DATABASE_URL"], poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(webhook_events)).scalar_one())
    finally:
        engine.dispose()


def wait_for_more_events(env: dict[str, str], stored_before: int, timeout: float = 60) -> None:
    """Block until the service stored at least one more event (the interrupted demo is under way)."""
    deadline = time.monotonic() + timeout
    while count_events(env) <= stored_before:
        assert time.monotonic() < deadline, "the demo delivered nothing"
        time.sleep(0.05)
