"""The provisioning loop's faults as real processes, on SQLite and PostgreSQL.

``remit up`` (service and worker) takes signed checkout webhooks over HTTP and hands them to the stand-in
orchestrator, ``remit provisioning orchestrator``, a process of its own. ``remit serve`` on the same database,
configured to treat every open job as stale (``REMIT_PROVISIONING_STALE_SECONDS=0``), plays the external
scheduler calling ``POST /api/cron/reconcile-provisioning`` — so eight attempts take a second, not forty minutes,
while ``remit up``'s own reconciler keeps the default and never re-drives a job the test just made — and
receives the stand-in's callbacks. The operator's commands (``rearm``, ``reconcile``, ``link``) are ``remit``
processes too. In order:

1. the orchestrator down (nothing listens): a job's attempts run to the cap of 8 → ``remit_provisioning_stuck``
   1 on ``/metrics``; a checkout whose package remit cannot know has a NULL payload, and every run skips and
   counts it without sending it;
2. the orchestrator up: the same checkout webhook delivered 20 times at once makes one job, one trigger job and
   one trigger the stand-in received, provisioned by its callback; that callback replayed, and a signed
   ``failed`` after it, change nothing;
3. ``remit provisioning rearm`` the capped job, ``remit provisioning reconcile`` → provisioned, gauge 0;
4. ``remit serve`` stopped, so the next callback never lands: forged and unsigned callbacks answer 401 and
   change nothing; ``remit provisioning link`` provisions it. The stand-in never saw the NULL-payload job.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import sqlalchemy as sa
import stripe

from remit.db.engine import create_sync_engine
from remit.db.tables import jobs, ledger_events, provisioning_jobs
from remit.provisioning.jobs import TRIGGER_JOB
from remit.provisioning.orchestrator import REPORT_PATH, TRIGGER_PATH, StandInOrchestrator, deployment_for
from remit.signing import hex_signature
from tests.support.processes import (
    READY,
    REMIT,
    START_TIMEOUT_S,
    Lines,
    cli,
    free_port,
    metric_value,
    remit_process,
    sandbox_env,
    stop,
    wait_for_port,
)
from tests.support.provisioning import CALLBACK_PATH, account_row, checkout_event

pytestmark = pytest.mark.slow

TRIGGER_SECRET = "prov_faults_trigger_secret"
CALLBACK_SECRET = "prov_faults_callback_secret"
WEBHOOK_SECRET = "whsec_prov_faults_webhook_secret"
CRON_SECRET = "prov_faults_cron_secret"
RECONCILE_PATH = "/api/cron/reconcile-provisioning"
MAX_ATTEMPTS = 8  # the default cap (REMIT_PROVISIONING_MAX_ATTEMPTS)
WAIT_S = 30.0

T = TypeVar("T")


def wait_until(what: str, probe: Callable[[], T | None], timeout: float = WAIT_S) -> T:
    """Poll ``probe`` until it returns something truthy; that."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


class Db:
    """Reads of the test's database, over one engine without a pool (as the processes see it)."""

    def __init__(self, url: str) -> None:
        self.engine = create_sync_engine(url, poolclass=sa.pool.NullPool)

    def job(self, session_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            stmt = sa.select(provisioning_jobs).where(provisioning_jobs.c.stripe_session_id == session_id)
            rows = conn.execute(stmt).mappings().all()
        assert len(rows) <= 1
        return dict(rows[0]) if rows else None

    def job_when(self, session_id: str, test: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
        """The session's job, read again once ``test`` holds for it (a test that reads other rows, such as
        :meth:`triggered`, reads them after the first read of the job: the row read again is at least as new),
        else None."""
        job = self.job(session_id)
        return self.job(session_id) if job is not None and test(job) else None

    def triggered(self, job: dict[str, Any]) -> bool:
        """Whether ``job``'s trigger job has run to its end."""
        runs = self.trigger_jobs(job["id"])
        return bool(runs) and all(run["state"] in ("completed", "discarded") for run in runs)

    def jobs_of(self, session_id: str) -> int:
        with self.engine.connect() as conn:
            stmt = sa.select(sa.func.count()).where(provisioning_jobs.c.stripe_session_id == session_id)
            return int(conn.execute(stmt).scalar_one())

    def trigger_jobs(self, job_id: int) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            stmt = sa.select(jobs.c.id, jobs.c.state, jobs.c.args).where(jobs.c.name == TRIGGER_JOB)
            rows = conn.execute(stmt).mappings()
            return [dict(row) for row in rows if row["args"].get("job_id") == job_id]

    def ledger_count(self, session_id: str) -> int:
        with self.engine.connect() as conn:
            stmt = sa.select(sa.func.count()).where(ledger_events.c.subject == f"checkout_session:{session_id}")
            return int(conn.execute(stmt).scalar_one())


def signed_webhook(document: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(document)
    header = stripe.WebhookSignature.generate_signature_header(body, WEBHOOK_SECRET, timestamp=int(time.time()))
    return body.encode(), {"Stripe-Signature": header, "Content-Type": "application/json"}


def deliver(base_url: str, document: dict[str, Any], times: int = 1) -> list[int]:
    """POST the signed event ``times`` times at once; the answers' statuses."""
    body, headers = signed_webhook(document)

    async def all_at_once() -> list[int]:
        limits = httpx.Limits(max_connections=times)
        async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as client:
            answers = await asyncio.gather(
                *(client.post("/webhooks/stripe", content=body, headers=headers) for _ in range(times))
            )
        return [answer.status_code for answer in answers]

    return asyncio.run(all_at_once())


def callback(base_url: str, document: dict[str, Any], secret: str | None) -> httpx.Response:
    body = json.dumps(document, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Provisioning-Signature"] = hex_signature(body, secret)
    return httpx.post(base_url + CALLBACK_PATH, content=body, headers=headers, timeout=10)


def stuck_gauge(base_url: str) -> float | None:
    return metric_value(httpx.get(base_url + "/metrics", timeout=10).text, "remit_provisioning_stuck")


def summary_of(stdout: str) -> dict[str, Any]:
    """The reconciler's one JSON summary in a command's output."""
    [line] = [line for line in stdout.splitlines() if line.startswith("{")]
    summary: dict[str, Any] = json.loads(line)
    assert summary["event"] == "provisioning.reconcile.run"
    return summary


@contextmanager
def stand_in(port: int, remit_url: str, env: dict[str, str], cwd: Path, *options: str) -> Iterator[Lines]:
    args = ("provisioning", "orchestrator", "--port", str(port), "--remit-url", remit_url, *options)
    with remit_process(*args, env=env, cwd=cwd) as (proc, _out, err):
        wait_for_port(port, START_TIMEOUT_S)
        yield err
        assert proc.poll() is None, "the stand-in exited"


def start_cli(env: dict[str, str], cwd: Path, *args: str) -> subprocess.Popen[str]:
    """A ``remit`` command started in the background (it runs while the test checks other things); see
    :func:`finish`."""
    return subprocess.Popen([REMIT, *args], env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen[str]) -> subprocess.CompletedProcess[str]:
    out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def seen_by(port: int) -> dict[str, Any]:
    report: dict[str, Any] = httpx.get(f"http://127.0.0.1:{port}{REPORT_PATH}", timeout=10).json()
    return report


def test_outage_lost_callback_duplicates_and_forgeries_end_provisioned_with_nothing_doubled(
    any_db_url: str, tmp_path: Path
) -> None:
    up_port, cron_port = free_port(), free_port()
    # The orchestrator's port, bound and not listening until the stand-in starts: a trigger meets a refused
    # connection (down), and no other process can take the port meanwhile.
    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    orchestrator_port = int(held.getsockname()[1])
    env = sandbox_env(any_db_url)
    env.update(
        PROVISIONING_TRIGGER_URL=f"http://127.0.0.1:{orchestrator_port}{TRIGGER_PATH}",
        PROVISIONING_TRIGGER_SECRET=TRIGGER_SECRET,
        PROVISIONING_CALLBACK_SECRET=CALLBACK_SECRET,
        STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        CRON_SECRET=CRON_SECRET,
        REMIT_JOB_POLL_INTERVAL="0.2",
        REMIT_METRICS_REFRESH_SECONDS="0",  # /metrics collects on every scrape: the gauge is read, not cached
    )
    every_job_stale = {**env, "REMIT_PROVISIONING_STALE_SECONDS": "0"}
    db = Db(any_db_url)
    written: list[str] = []
    # ``remit serve`` starts beside ``remit up`` (it needs the tables only once it is asked to reconcile).
    with (
        remit_process("up", "--port", str(up_port), env=env, cwd=tmp_path) as (up, up_out, up_err),
        remit_process("serve", "--port", str(cron_port), env=every_job_stale, cwd=tmp_path) as (
            cron,
            cron_out,
            cron_err,
        ),
    ):
        base = up_out.wait_for(READY, START_TIMEOUT_S).group(1)

        # 1. The orchestrator is down (nothing listens on its port).
        down = checkout_event(session_id="cs_e2e_down", account_id="acct_e2e_down", package="starter")
        null = checkout_event(session_id="cs_e2e_null", account_id="acct_e2e_null", package="enterprise")
        assert deliver(base, down) == [200]
        assert deliver(base, null) == [200]
        first = wait_until(
            "the first trigger attempt", lambda: db.job_when("cs_e2e_down", lambda j: j["last_error"] is not None)
        )
        assert (first["status"], first["attempts"], first["last_error"]) == ("enqueued", 1, "fetch_error")
        null_job = wait_until("the NULL-payload job", lambda: db.job("cs_e2e_null"))
        assert null_job["trigger_payload"] is None
        assert null_job["last_error"].startswith("package_unknown")

        cron_url = cron_out.wait_for(READY, START_TIMEOUT_S).group(1)
        runs: list[dict[str, Any]] = []
        while db.job("cs_e2e_down")["attempts"] < MAX_ATTEMPTS:  # type: ignore[index]
            assert len(runs) < MAX_ATTEMPTS, runs
            answer = httpx.post(cron_url + RECONCILE_PATH, headers={"x-cron-secret": CRON_SECRET}, timeout=30)
            assert answer.status_code == 200, answer.text
            runs.append(answer.json())
        # Each run re-drove the one job it could, in vain, and skipped, counted, the job it cannot replay.
        # (The trigger job's own retry may take an attempt too; then the last run finds the job capped.)
        assert {(r["redriven"], r["skipped_no_payload"]) for r in runs} == {(0, 1)}
        assert [r["still_failing"] for r in runs[:-1]] == [1] * (len(runs) - 1)
        assert runs[-1]["still_failing"] in (0, 1)
        capped = db.job("cs_e2e_down")
        assert capped is not None
        assert (capped["status"], capped["attempts"], capped["last_error"]) == ("enqueued", 8, "fetch_error")
        at_cap = httpx.post(cron_url + RECONCILE_PATH, headers={"x-cron-secret": CRON_SECRET}, timeout=30).json()
        assert (at_cap["scanned"], at_cap["redriven"], at_cap["still_failing"]) == (1, 0, 0)  # the NULL one
        assert at_cap["stuck_total"] == 1
        assert stuck_gauge(base) == 1.0

        # 2. The orchestrator is back; its callbacks reach remit at the other process, ``remit serve``.
        held.close()
        with stand_in(orchestrator_port, cron_url, env, tmp_path) as stand_in_err:
            dupes = checkout_event(session_id="cs_e2e_dupes", account_id="acct_e2e_dupes", package="starter")
            assert deliver(base, dupes, times=20) == [200] * 20

            # Meanwhile, re-arm the capped job once its trigger job has given up (its last retry finds the cap).
            if not db.triggered(capped):
                retried = cli(env, tmp_path, "jobs", "retry", str(db.trigger_jobs(capped["id"])[0]["id"]))
                # exit 1 only if a worker took it meanwhile (running or finished): it needs no retry then
                refused = retried.returncode == 1 and "can be retried" in retried.stderr
                assert retried.returncode == 0 or refused, retried.stdout + retried.stderr
            wait_until("the capped job's trigger job to finish", lambda: db.job_when("cs_e2e_down", db.triggered))
            rearming = start_cli(env, tmp_path, "provisioning", "rearm", str(capped["id"]))

            done = wait_until(
                "the duplicated checkout provisioned",
                lambda: db.job_when("cs_e2e_dupes", lambda j: j["status"] == "provisioned"),
            )
            assert db.jobs_of("cs_e2e_dupes") == 1
            assert len(db.trigger_jobs(done["id"])) == 1
            assert (done["attempts"], done["deployment_id"]) == (1, deployment_for("cs_e2e_dupes"))
            report = seen_by(orchestrator_port)
            [payload] = [p for p in report["received"] if p["stripe_session_id"] == "cs_e2e_dupes"]
            assert report["attempts"] == 1
            assert account_row(any_db_url, "acct_e2e_dupes")["status"] == "active"

            entries = db.ledger_count("cs_e2e_dupes")
            replayed = json.loads(StandInOrchestrator(TRIGGER_SECRET, None).callback_body(payload))
            late_failure = {"stripe_session_id": "cs_e2e_dupes", "status": "failed", "error": "late"}
            for document in (replayed, late_failure):
                answer = callback(base, document, CALLBACK_SECRET)
                assert (answer.status_code, answer.json()) == (200, {"ok": True, "status": "provisioned"})
            assert db.job("cs_e2e_dupes") == done
            assert db.ledger_count("cs_e2e_dupes") == entries

            # 3. The capped job re-armed: reconcile it.
            rearmed = finish(rearming)
            assert rearmed.returncode == 0, rearmed.stdout + rearmed.stderr
            again = db.job("cs_e2e_down")
            assert again is not None
            assert (again["status"], again["attempts"], again["trigger_payload"]) == (
                "enqueued",
                0,
                capped["trigger_payload"],
            )
            reconciled = cli(every_job_stale, tmp_path, "provisioning", "reconcile")
            assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr
            summary = summary_of(reconciled.stdout)
            assert {k: summary[k] for k in ("scanned", "redriven", "still_failing", "skipped_no_payload")} == {
                "scanned": 2,
                "redriven": 1,
                "still_failing": 0,
                "skipped_no_payload": 1,
            }
            revived = wait_until(
                "the re-armed job provisioned",
                lambda: db.job_when("cs_e2e_down", lambda j: j["status"] == "provisioned"),
            )
            assert (revived["attempts"], revived["deployment_id"]) == (1, deployment_for("cs_e2e_down"))
            assert account_row(any_db_url, "acct_e2e_down")["status"] == "active"
            assert stuck_gauge(base) == 0.0

            # 4. ``remit serve`` stops: the orchestrator accepts the next trigger, but its callback never lands.
            assert stop(cron) == 0
            lost = checkout_event(session_id="cs_e2e_lost", account_id="acct_e2e_lost", package="pro")
            assert deliver(base, lost) == [200]
            accepted = wait_until("the lost job's trigger", lambda: db.job_when("cs_e2e_lost", db.triggered))
            assert (accepted["status"], accepted["attempts"], accepted["last_error"]) == ("enqueued", 1, None)
            report = wait_until("the lost callback", lambda: (r := seen_by(orchestrator_port))["callbacks"][2:] and r)
            assert [p["stripe_session_id"] for p in report["received"]] == [
                "cs_e2e_dupes",
                "cs_e2e_down",
                "cs_e2e_lost",
            ]
            assert report["callbacks"] == [200, 200, 0]  # 0: the callback found nobody to call
            forged = {
                "stripe_session_id": "cs_e2e_lost",
                "status": "provisioned",
                "deployment_id": "dpl_forged",
                "cell_id": "cell-forged",
                "tokens_quota": 1,
            }
            for secret in ("not-the-secret", TRIGGER_SECRET, None):  # the callback secret is set: only it signs
                assert callback(base, forged, secret).status_code == 401
            assert db.job("cs_e2e_lost") == accepted
            assert account_row(any_db_url, "acct_e2e_lost")["status"] == "pending"
            link = ("link", "cs_e2e_lost", "--deployment", "dpl_by_hand", "--cell", "cell-hand", "--quota", "2000000")
            linked = cli(env, tmp_path, "provisioning", *link)
            assert linked.returncode == 0, linked.stdout + linked.stderr
            hand = db.job("cs_e2e_lost")
            assert hand is not None
            assert (hand["status"], hand["deployment_id"], hand["cell_id"]) == (
                "provisioned",
                "dpl_by_hand",
                "cell-hand",
            )
            tenant = account_row(any_db_url, "acct_e2e_lost")
            assert (tenant["status"], tenant["deployment_id"], tenant["tokens_quota"]) == (
                "active",
                "dpl_by_hand",
                2000000,
            )
            assert stuck_gauge(base) == 0.0
            written += [rearmed.stdout, rearmed.stderr, reconciled.stdout, reconciled.stderr]
            written += [linked.stdout, linked.stderr, *stand_in_err.rest()]

        never = db.job("cs_e2e_null")
        assert never is not None
        assert (never["status"], never["attempts"], never["trigger_payload"]) == ("enqueued", 0, None)
        assert up.poll() is None, "remit up exited"
    written += [*up_out.rest(), *up_err.rest(), *cron_out.rest(), *cron_err.rest()]
    db.engine.dispose()
    text = "\n".join(written)
    for secret in (TRIGGER_SECRET, CALLBACK_SECRET, WEBHOOK_SECRET, CRON_SECRET):
        assert secret not in text
