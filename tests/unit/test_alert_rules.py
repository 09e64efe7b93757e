"""``deploy/prometheus/alerts.yml``: promtool accepts the rules and passes their tests; every alert is tested
firing and not firing, reads only series remit exports, and names a runbook page that exists.

promtool comes from Debian's ``prometheus`` package (``./scripts/test`` installs it); without it these tests
are skipped, except under ``CI=true``, where a missing promtool fails the run."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml

from remit.telemetry.metrics import REGISTRY
from tests.support.metric_names import exported_series, series_in
from tests.support.promtool import promtool

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
RULES = PROMETHEUS / "alerts.yml"


def alerts() -> dict[str, dict[str, Any]]:
    document = yaml.safe_load(RULES.read_text())
    return {rule["alert"]: rule for group in document["groups"] for rule in group["rules"] if "alert" in rule}


def rule_tests() -> list[Path]:
    return sorted((PROMETHEUS / "tests").glob("*.yml"))


def test_promtool_checks_the_rules() -> None:
    result = subprocess.run([promtool(), "check", "rules", str(RULES)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_passes_every_rule_test() -> None:
    files = [str(path.relative_to(PROMETHEUS)) for path in rule_tests()]
    assert files
    result = subprocess.run(
        [promtool(), "test", "rules", *files], capture_output=True, text=True, check=False, cwd=PROMETHEUS
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_is_tested_firing_and_not_firing() -> None:
    firing: set[str] = set()
    quiet: set[str] = set()
    for path in rule_tests():
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                (firing if check.get("exp_alerts") else quiet).add(check["alertname"])
    assert sorted(set(alerts()) - firing) == [], "never tested firing"
    assert sorted(set(alerts()) - quiet) == [], "never tested not firing"


def test_every_alert_reads_only_series_remit_exports() -> None:
    exported = exported_series(REGISTRY)
    unknown = {name: sorted(series_in(rule["expr"]) - exported) for name, rule in alerts().items()}
    assert {name: series for name, series in unknown.items() if series} == {}


def test_every_alert_names_a_runbook_page_that_exists() -> None:
    for name, rule in alerts().items():
        url = rule["annotations"]["runbook_url"]
        assert url.startswith("docs/runbooks/"), name
        assert (ROOT / url).is_file(), f"{name}: {url}"
