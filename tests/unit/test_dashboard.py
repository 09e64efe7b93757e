"""``deploy/grafana/remit.json``: a Grafana dashboard whose every panel queries series remit exports."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from remit.telemetry.metrics import REGISTRY
from tests.support.metric_names import exported_series, series_in
from tests.support.promtool import promtool

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "remit.json"


def panels(document: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for panel in document["panels"]:
        found.append(panel)
        found.extend(panel.get("panels", []))
    return [panel for panel in found if panel["type"] != "row"]


def test_every_panel_queries_only_series_remit_exports() -> None:
    document = json.loads(DASHBOARD.read_text())
    exported = exported_series(REGISTRY)
    unknown = {}
    for panel in panels(document):
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            named = series_in(target["expr"])
            assert named, f"{panel['title']}: a query naming no remit series"
            if named - exported:
                unknown[panel["title"]] = sorted(named - exported)
    assert unknown == {}


def test_the_dashboard_covers_queues_workers_webhooks_dead_letters_ops_events_http_and_mail() -> None:
    queried = {
        name
        for panel in panels(json.loads(DASHBOARD.read_text()))
        for t in panel["targets"]
        for name in series_in(t["expr"])
    }
    assert {
        "remit_queue_jobs",
        "remit_queue_oldest_available_age_seconds",
        "remit_workers_alive",
        "remit_jobs_executed_total",
        "remit_job_run_seconds_bucket",
        "remit_webhook_events",
        "remit_webhook_oldest_pending_age_seconds",
        "remit_ops_events_total",
        "remit_mirror_stale_skipped_total",
        "remit_http_request_duration_seconds_bucket",
        "remit_flag_enabled",
        "remit_emergency_stop",
        "remit_mail_sent_total",
        "remit_dunning_cases",
        "remit_revenue_loss_total",
        "remit_fee_transactions_total",
        "remit_payment_sync_objects_total",
    } <= queried


def test_the_checks_would_catch_a_panel_on_a_series_nobody_exports() -> None:
    assert series_in("sum(rate(remit_no_such_series_total[5m]))") - exported_series(REGISTRY) == {
        "remit_no_such_series_total"
    }


def test_every_panel_query_is_promql_promtool_accepts(tmp_path: Path) -> None:
    """Each query, as a recording rule, through ``promtool check rules``: a typo in the PromQL (a bracket, a
    function name) fails here instead of on the dashboard. Skipped without promtool, as the alert tests are."""
    document = json.loads(DASHBOARD.read_text())
    rules = [
        {"record": f"remit_dashboard:panel_{n}_{m}", "expr": target["expr"]}
        for n, panel in enumerate(panels(document))
        for m, target in enumerate(panel["targets"])
    ]
    checked = tmp_path / "dashboard_queries.yml"
    checked.write_text(json.dumps({"groups": [{"name": "dashboard", "rules": rules}]}))  # JSON is YAML
    result = subprocess.run([promtool(), "check", "rules", str(checked)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(rules)} rules found" in result.stdout
