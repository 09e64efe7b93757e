"""The provisioning loop as real processes: ``remit up`` (service and worker), the stand-in orchestrator
(``remit provisioning orchestrator``) and ``remit fake trigger checkout.session.completed``. The paid checkout
ends provisioned through the signed trigger and the signed callback, over real HTTP between processes."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from remit.provisioning.orchestrator import deployment_for
from remit.signing import hex_signature
from tests.support.processes import READY, START_TIMEOUT_S, cli, free_port, remit_process, sandbox_env, wait_for_port
from tests.support.provisioning import CALLBACK_PATH, account_row

pytestmark = pytest.mark.slow

TRIGGER_SECRET = "prov_e2e_trigger_secret"
CALLBACK_SECRET = "prov_e2e_callback_secret"


def jobs_listed(env: dict[str, str], cwd: Path) -> list[dict[str, Any]]:
    result = cli(env, cwd, "provisioning", "list", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    listed: list[dict[str, Any]] = json.loads(result.stdout)
    return listed


def test_a_paid_fake_checkout_ends_provisioned_through_the_stand_in_as_a_process(
    any_db_url: str, tmp_path: Path
) -> None:
    port, orchestrator_port = free_port(), free_port()
    env = sandbox_env(any_db_url)
    env.update(
        PROVISIONING_TRIGGER_URL=f"http://127.0.0.1:{orchestrator_port}/trigger/onboarding",
        PROVISIONING_TRIGGER_SECRET=TRIGGER_SECRET,
        PROVISIONING_CALLBACK_SECRET=CALLBACK_SECRET,
    )
    stand_in_args = ("provisioning", "orchestrator", "--port", str(orchestrator_port))
    remit_url = ("--remit-url", f"http://127.0.0.1:{port}", "--delay", "0.2")
    with (
        remit_process(*stand_in_args, *remit_url, env=env, cwd=tmp_path) as (stand_in, _so, stand_in_err),
        remit_process("up", "--port", str(port), env=env, cwd=tmp_path) as (proc, out, err),
    ):
        base_url = out.wait_for(READY, START_TIMEOUT_S).group(1)
        wait_for_port(orchestrator_port, START_TIMEOUT_S)

        triggered = cli(env, tmp_path, "fake", "trigger", "checkout.session.completed", "--url", base_url)
        assert triggered.returncode == 0, triggered.stdout + triggered.stderr

        deadline = time.monotonic() + 60
        listed: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            assert proc.poll() is None, "remit up exited"
            assert stand_in.poll() is None, "the stand-in exited"
            listed = jobs_listed(env, tmp_path)
            if listed and listed[0]["status"] == "provisioned":
                break
            time.sleep(0.3)
        assert len(listed) == 1, listed
        job = listed[0]
        assert job["status"] == "provisioned", job
        session = job["stripe_session_id"]
        assert job["deployment_id"] == deployment_for(session)
        assert job["cell_id"] == "cell-local-1"
        assert job["attempts"] == 1
        assert job["last_error"] is None
        assert not job["payload_missing"]
        assert job["tokens_quota"] == 100_000  # the demo package ``starter``
        tenant = account_row(any_db_url, job["account_id"])
        assert tenant["status"] == "active"
        assert tenant["deployment_id"] == deployment_for(session)
        assert tenant["package_slug"] == "starter"

        # A forged callback over the same HTTP: 401, and the provisioned job is unchanged.
        forged = json.dumps({"stripe_session_id": session, "status": "failed", "error": "x"}).encode()
        for signature in (hex_signature(forged, "not-the-secret"), None):
            headers = {"Content-Type": "application/json"}
            if signature:
                headers["X-Provisioning-Signature"] = signature
            answer = httpx.post(base_url + CALLBACK_PATH, content=forged, headers=headers, timeout=10)
            assert answer.status_code == 401
        # A correctly signed late ``failed`` never downgrades it either.
        late = httpx.post(
            base_url + CALLBACK_PATH,
            content=forged,
            headers={
                "Content-Type": "application/json",
                "X-Provisioning-Signature": hex_signature(forged, CALLBACK_SECRET),
            },
            timeout=10,
        )
        assert late.status_code == 200
        assert late.json()["status"] == "provisioned"
        assert jobs_listed(env, tmp_path) == [job]

        stuck = cli(env, tmp_path, "provisioning", "list", "--stuck", "--json")
        assert json.loads(stuck.stdout) == []
    # Neither secret appears in anything the processes wrote.
    written = "\n".join([*out.rest(), *err.rest(), *stand_in_err.rest(), triggered.stdout, triggered.stderr])
    assert TRIGGER_SECRET not in written
    assert CALLBACK_SECRET not in written
