"""The main job on a fresh machine, as real processes: ``remit up`` on SQLite with the fake processor, then
``remit demo`` against it — the mirror, the ledger and the dead-letter queue fill, the run's receipt is in the
development outbox with its PDF, its dunning case is in grace and one fee pass recorded fees (as the demo
says and as ``remit mail list`` and ``remit dunning list`` show) — and every line it prints
under "where to look next" runs as printed (in a shell, from another directory): the fix and the replay
empty the dead-letter queue again, doctor stops counting it, the clock reaches the renewals. A demo
interrupted with Ctrl-C names the command that delivers the rest, and a demo run against another database
than the service's says so instead of reporting success.

One service and one demo run serve every check (a module-scoped fixture would not help: ``scripts/test`` runs
pytest-xdist with ``--dist worksteal``, which may hand a module's tests to different workers, each starting
its own service and demo). Its time goes to ``remit`` processes (about 1.5 s of imports each, several seconds
under load), so the checks that change nothing run side by side: the read-only commands after the demo and
after the replay, the runs of printed read-only lines (in the order printed, a run at a time; a line that
changes something, or writes a file, runs alone), and the other database's ``remit migrate`` while the
service starts."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from remit.db.engine import create_sync_engine
from remit.db.tables import webhook_events
from tests.support.processes import (
    READY,
    REMIT,
    SANDBOX_TOKEN,
    START_TIMEOUT_S,
    cli,
    free_port,
    remit_process,
    sandbox_env,
    side_by_side,
    stop,
)

#: Printed lines that change nothing and write no file: several of these in a row run side by side.
READ_ONLY = re.compile(
    r"^(export TOKEN="
    r'|curl -H "Authorization: Bearer \$TOKEN" \S+$'
    r"|\S*remit (webhooks (list|show)|fake events|mail (list|show)|dunning list|provisioning (list|show)"
    r"|usage list|reconcile fees .*--dry-run)\b)"
)
#: What makes a line write a file (two lines writing the same file must not run side by side).
WRITES = re.compile(r"\s(-o|--eml)\s")


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
    other = sandbox_env(f"sqlite:///{tmp_path / 'other.db'}")
    migrating = subprocess.Popen(
        [REMIT, "migrate"], env=other, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    port = free_port()
    with remit_process("up", "--port", str(port), env=env, cwd=tmp_path) as (proc, out, _err):
        base_url = out.wait_for(READY, START_TIMEOUT_S).group(1)
        out.wait_for("sandbox", 5)

        demo = cli(env, tmp_path, "demo", "--url", base_url)
        assert demo.returncode == 0, demo.stdout + demo.stderr
        assert "webhooks sent" in demo.stdout
        assert "remit webhooks list --status dead" in demo.stdout

        # The money part's side of the story: this run's receipt in the outbox, its dunning case, the fees one
        # pass recorded — each as the demo says, and as the commands list them.
        receipt = re.search(
            r"^receipt for invoice (in_\S+): mail (\d+), sent in the development outbox$", demo.stdout, re.M
        )
        assert receipt, demo.stdout
        dunning = re.search(r"^dunning case for subscription (sub_\S+): in_grace until \S+$", demo.stdout, re.M)
        assert dunning, demo.stdout
        fees = re.search(r"^fees reconciled: (\d+) charge\(s\) and refund\(s\) recorded", demo.stdout, re.M)
        assert fees, demo.stdout
        assert int(fees.group(1)) > 0, demo.stdout

        auth = {"Authorization": f"Bearer {SANDBOX_TOKEN}"}
        dead, received, customers, charges, mails, cases = side_by_side(
            lambda: listed(env, tmp_path, "webhooks", "list", "--status", "dead"),
            lambda: listed(env, tmp_path, "webhooks", "list"),
            lambda: httpx.get(f"{base_url}/api/v1/billing/customers?limit=100", headers=auth, timeout=10).json(),
            lambda: httpx.get(f"{base_url}/api/v1/billing/charges?limit=100", headers=auth, timeout=10).json(),
            lambda: listed(env, tmp_path, "mail", "list"),
            lambda: listed(env, tmp_path, "dunning", "list"),
        )
        [receipt_row] = [row for row in mails if row["id"] == int(receipt.group(2))]
        assert (receipt_row["kind"], receipt_row["subject_id"], receipt_row["state"], receipt_row["transport"]) == (
            "receipt",
            receipt.group(1),
            "sent",
            "outbox",
        )
        assert receipt_row["attachment"] == "pdf"
        assert [(row["subscription_id"], row["state"]) for row in cases] == [(dunning.group(1), "in_grace")]
        assert [row["type"] for row in dead] == ["customer.subscription.created"]
        assert f"remit webhooks show {dead[0]['id']}" in demo.stdout
        failed_or_received = [row for row in received if row["status"] not in ("processed", "dead")]
        assert failed_or_received == []
        assert len(customers["data"]) >= 6
        assert any(charge["refunded"] or charge.get("amount_refunded") for charge in charges["data"])
        assert any(charge.get("disputed") for charge in charges["data"])

        # Every line the demo printed runs as printed, in a shell, from another directory: the fix, the
        # replay, the clock a month on, the token from the environment and the read API.
        hints = printed_hints(demo.stdout)
        assert any(" fake clock advance " in line and f"--url {base_url}" in line for line in hints)
        assert any(line.startswith("curl") and line.endswith("/api/v1/usage") for line in hints)
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        for batch in in_batches(hints):
            results = side_by_side(*[lambda line=line: shell(env, elsewhere, line) for line in batch])
            for line, ran in zip(batch, results, strict=True):
                assert ran.returncode == 0, (line, ran.stdout, ran.stderr)
                if line.startswith("curl"):
                    assert '"error"' not in ran.stdout, (line, ran.stdout)
        wait_until_processed(db_url, dead[0]["id"], timeout=30)
        replayed, still_dead, invoices, doctor_rows = side_by_side(
            lambda: shown(env, tmp_path, dead[0]["id"]),
            lambda: listed(env, tmp_path, "webhooks", "list", "--status", "dead"),
            lambda: listed(env, tmp_path, "fake", "events", "--type", "invoice.created", "--limit", "100"),
            lambda: listed(env, tmp_path, "doctor"),
        )
        assert replayed["status"] == "processed"
        assert replayed["handler_results"]["remit.sandbox.grant_seats"]["ok"] is True
        assert still_dead == []
        started = min(event["created"] for event in invoices)
        renewed = [event for event in invoices if event["created"] >= started + 28 * 86_400]
        assert len(renewed) == 5  # "a month later" reached every ongoing subscription's renewal

        # remit doctor names this database and no longer counts the dead letter that was fixed and replayed.
        doctor = {row["check"]: row for row in doctor_rows}
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
        _migrated, migrate_err = migrating.communicate(timeout=120)
        assert migrating.returncode == 0, migrate_err
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


def read_only(line: str) -> bool:
    return READ_ONLY.match(line) is not None and WRITES.search(line) is None


def in_batches(lines: list[str]) -> list[list[str]]:
    """``lines`` in printed order, cut into batches: each run of read-only lines is one batch (they can run
    side by side), every other line a batch of its own (it runs after what came before it, alone)."""
    batches: list[list[str]] = []
    for line in lines:
        if read_only(line) and batches and read_only(batches[-1][-1]):
            batches[-1].append(line)
        else:
            batches.append([line])
    return batches


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
