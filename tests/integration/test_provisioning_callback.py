"""The orchestrator's callback: verified before anything is read, idempotent, never downgrading a provisioned
job; 401/400/404/503 answers that change nothing; the hand-link is the same update, audited."""

from __future__ import annotations

import json
from typing import Any

import pytest

from remit.audit import entries
from remit.provisioning.operator import Refused, link, rearm
from remit.runtime import Runtime
from remit.signing import hex_signature
from tests.support.provisioning import account, checkout_event, provisioning_rows
from tests.support.webhooks import client_for, post_event

pytestmark = pytest.mark.webhook_settings(PROVISIONING_CALLBACK_SECRET="cb_secret_for_tests")
PATH = "/api/internal/provisioning/callback"
SECRET = "cb_secret_for_tests"


def _signed(document: dict[str, Any], secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(document).encode()
    return body, {"X-Provisioning-Signature": hex_signature(body, secret), "Content-Type": "application/json"}


async def _job(rt: Runtime, session: str) -> None:
    async with client_for(rt) as client:
        document = checkout_event(session_id=session, account_id="acct_cb", package="pro")
        assert (await post_event(client, rt, document)).status_code == 200
    await rt.drain(["remit_webhooks"])


PROVISIONED = {
    "stripe_session_id": "cs_cb_1",
    "status": "provisioned",
    "deployment_id": "dpl_abc",
    "cell_id": "cell-9",
    "tokens_quota": 0,
}


async def test_bad_missing_and_malformed_answers_change_nothing(rt: Runtime) -> None:
    await _job(rt, "cs_cb_1")
    before = await provisioning_rows(rt)
    async with client_for(rt) as client:
        body, headers = _signed(PROVISIONED, secret="wrong")
        assert (await client.post(PATH, content=body, headers=headers)).status_code == 401
        no_sig = await client.post(PATH, content=body, headers={"Content-Type": "application/json"})
        assert no_sig.status_code == 401
        body, headers = _signed({"stripe_session_id": "cs_cb_1", "status": "done"})
        assert (await client.post(PATH, content=body, headers=headers)).status_code == 400
        raw = b"not json"
        bad_json = await client.post(
            PATH, content=raw, headers={"X-Provisioning-Signature": hex_signature(raw, SECRET)}
        )
        assert bad_json.status_code == 400
        body, headers = _signed({**PROVISIONED, "stripe_session_id": "cs_nobody"})
        missing = await client.post(PATH, content=body, headers=headers)
        assert missing.status_code == 404
        assert missing.json() == {"error": "no provisioning job for stripe_session_id"}
    assert await provisioning_rows(rt) == before
    acct = await account(rt, "acct_cb")
    assert acct is not None
    assert acct["status"] == "pending"


async def test_provisioned_links_and_activates_replays_and_late_failures_change_nothing(rt: Runtime) -> None:
    await _job(rt, "cs_cb_1")
    async with client_for(rt) as client:
        body, headers = _signed({"stripe_session_id": "cs_cb_1", "status": "provisioning"})
        assert (await client.post(PATH, content=body, headers=headers)).json() == {"ok": True, "status": "provisioning"}
        body, headers = _signed(PROVISIONED)
        answer = await client.post(PATH, content=body, headers=headers)
        assert answer.json() == {"ok": True, "status": "provisioned"}
        [job] = await provisioning_rows(rt)
        for document in (
            PROVISIONED,
            {**PROVISIONED, "deployment_id": "dpl_other"},
            {"stripe_session_id": "cs_cb_1", "status": "failed", "error": "late"},
        ):
            body, headers = _signed(document)
            again = await client.post(PATH, content=body, headers=headers)
            assert again.json() == {"ok": True, "status": "provisioned"}
    assert await provisioning_rows(rt) == [job]
    assert job.deployment_id == "dpl_abc"
    acct = await account(rt, "acct_cb")
    assert acct is not None
    assert (acct["status"], acct["deployment_id"], acct["cell_id"], acct["tokens_quota"]) == (
        "active",
        "dpl_abc",
        "cell-9",
        1_100_000,  # 0 kept the quota set at checkout
    )
    with pytest.raises(Refused, match="provisioned"):
        await rearm(rt, job.id, actor="operator:test", force=True)


async def test_no_secret_answers_503(rt: Runtime) -> None:
    rt.settings = rt.settings.model_copy(update={"provisioning_callback_secret": None})
    async with client_for(rt) as client:
        body, headers = _signed(PROVISIONED)
        assert (await client.post(PATH, content=body, headers=headers)).status_code == 503


async def test_hand_link_is_the_callbacks_update_audited_and_a_dry_run_writes_nothing(rt: Runtime) -> None:
    await _job(rt, "cs_cb_1")
    dry = await link(rt, "cs_cb_1", deployment_id="dpl_h", cell_id="c1", tokens_quota=5, actor="op:a", dry_run=True)
    assert dry.changed is False
    [job] = await provisioning_rows(rt)
    assert job.status == "enqueued"
    done = await link(rt, "cs_cb_1", deployment_id="dpl_h", cell_id="c1", tokens_quota=5, actor="op:a")
    assert done.changed
    assert done.job.status == "provisioned"
    again = await link(rt, "cs_cb_1", deployment_id="dpl_x", cell_id="c2", tokens_quota=7, actor="op:a")
    assert again.changed is False
    assert again.job.deployment_id == "dpl_h"
    acct = await account(rt, "acct_cb")
    assert acct is not None
    assert (acct["status"], acct["tokens_quota"]) == ("active", 5)
    async with rt.db.connect() as conn:
        audit = await entries(conn, subjects=[f"provisioning_job:{job.id}"])
    assert [a.action for a in audit] == ["provisioning.link", "provisioning.link"]
    with pytest.raises(Refused, match="never recorded"):
        await link(rt, "cs_unknown", deployment_id="d", cell_id=None, tokens_quota=0, actor="op:a")
